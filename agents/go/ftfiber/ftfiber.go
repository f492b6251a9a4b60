// Package ftfiber puts a fiber (v2) app behind the gofiber OpenTelemetry middleware (otelfiber:
// fiber runs on fasthttp, not net/http, and OpenTelemetry has no official contrib instrumentation
// for it) and binds each request's user context as the parent of method spans. flowtrace-go wraps
// every fiber.New(…) of a rewritten package with Instrument; by hand it is one line:
// app := ftfiber.Instrument(fiber.New()).
package ftfiber

import (
	"context"
	"strings"

	"github.com/gofiber/contrib/otelfiber/v2"
	"github.com/gofiber/fiber/v2"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/flowtrace/flowtrace/agents/go/flowtrace"
)

// Instrument adds the server-span middleware and the method-span bridge to app, and returns app.
// The server span is named `METHOD /route` like the otelhttp, otelgin and otelecho ones (otelfiber
// alone names it by the route only), `_OTHER` for a method the conventions do not know.
func Instrument(app *fiber.App) *fiber.App {
	_ = flowtrace.Start()
	app.Use(otelfiber.Middleware(otelfiber.WithSpanNameFormatter(func(c *fiber.Ctx) string {
		return spanMethod(c.Method()) + " " + c.Route().Path
	}), otelfiber.WithPropagators(extractOnly{})), func(c *fiber.Ctx) error {
		// otelfiber has set the user context to the server span's (with the extracted baggage).
		// It wrote the request URI, query string included, into http.target and http.url: masked
		// here too, for a provider without the agent's exporter.
		if uri := string(c.Request().RequestURI()); strings.IndexByte(uri, '?') >= 0 {
			masked := flowtrace.MaskURL(uri)
			trace.SpanFromContext(c.UserContext()).SetAttributes(attribute.String("http.target", masked), attribute.String("http.url", masked))
		}
		restore := flowtrace.Bind(c.UserContext())
		defer restore()
		return c.Next()
	})
	return app
}

// extractOnly is the global propagator for the request; otelfiber also injects into the
// response's headers, which would hand the request's baggage (and what upstream services put in
// it) back to the client: nothing is written there, as with the other frameworks.
type extractOnly struct{}

func (extractOnly) Extract(ctx context.Context, c propagation.TextMapCarrier) context.Context {
	return otel.GetTextMapPropagator().Extract(ctx, c)
}
func (extractOnly) Inject(context.Context, propagation.TextMapCarrier) {}
func (extractOnly) Fields() []string                                   { return otel.GetTextMapPropagator().Fields() }

func spanMethod(m string) string {
	switch m {
	case "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH":
		return m
	}
	return "_OTHER"
}
