package ftfiber

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/flowtrace/flowtrace/agents/go/flowtrace"
)

// otelfiber writes the request URI, query string included, into http.target and http.url: a
// secret in the query must not leave the process; a method the conventions do not know must not
// name the span.
func TestServerSpanHasNoQuerySecretOrRawMethod(t *testing.T) {
	t.Setenv("OTEL_SDK_DISABLED", "true") // Instrument's Start must not replace the test provider
	cfg, _ := flowtrace.LoadConfig(func(string) string { return "" })
	exp := tracetest.NewInMemoryExporter()
	flowtrace.Install(cfg, sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(flowtrace.CorrelationSpanProcessor()), sdktrace.WithSyncer(exp)))

	app := Instrument(fiber.New(fiber.Config{RequestMethods: append(fiber.DefaultMethods, "PURGE")}))
	app.Get("/pay", func(c *fiber.Ctx) error { return c.SendString("ok") })
	app.Add("PURGE", "/pay", func(c *fiber.Ctx) error { return c.SendString("ok") })
	for _, m := range []string{"GET", "PURGE"} {
		resp, err := app.Test(httptest.NewRequest(m, "/pay?token=s3cr3t&sku=A-1", nil))
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s /pay: %v %v", m, resp, err)
		}
	}
	// No route: the span is not named by the raw path (unbounded, and paths can carry IDs).
	if resp, err := app.Test(httptest.NewRequest("GET", "/nope/u-123", nil)); err != nil || resp.StatusCode != 404 {
		t.Fatalf("GET /nope/u-123: %v %v", resp, err)
	}
	spans := exp.GetSpans()
	if len(spans) != 3 {
		t.Fatalf("%d spans, want 3", len(spans))
	}
	if strings.Contains(spans[2].Name, "u-123") {
		t.Errorf("an unrouted request's span is named %q", spans[2].Name)
	}
	for _, s := range spans {
		for _, kv := range s.Attributes {
			if strings.Contains(kv.Value.Emit(), "s3cr3t") {
				t.Errorf("%s: %s = %q carries the query secret", s.Name, kv.Key, kv.Value.Emit())
			}
		}
	}
	if spans[0].Name != "GET /pay" || spans[1].Name != "_OTHER /pay" {
		t.Errorf("server spans named %q, %q; want GET /pay, _OTHER /pay", spans[0].Name, spans[1].Name)
	}
}

// otelfiber injects the request's context into the response's headers: the request's baggage
// (with what upstream services added to it) would go back to the client. Nothing is injected
// there, as the otelhttp, otelgin and otelecho server spans do.
func TestRequestBaggageNotReflectedToTheClient(t *testing.T) {
	t.Setenv("OTEL_SDK_DISABLED", "true")
	cfg, _ := flowtrace.LoadConfig(func(string) string { return "" })
	flowtrace.Install(cfg, sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(flowtrace.CorrelationSpanProcessor())))
	app := Instrument(fiber.New())
	app.Get("/quote", func(c *fiber.Ctx) error {
		if flowtrace.CorrelationOf(c.UserContext()) != "req-b-1" {
			t.Errorf("handler context has correlation ID %q", flowtrace.CorrelationOf(c.UserContext()))
		}
		return c.SendString("ok")
	})
	req := httptest.NewRequest("GET", "/quote", nil)
	req.Header.Set("baggage", "internal.role=admin")
	req.Header.Set("x-request-id", "req-b-1")
	resp, err := app.Test(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /quote: %v %v", resp, err)
	}
	for _, h := range []string{"baggage", "traceparent"} {
		if v := resp.Header.Get(h); v != "" {
			t.Errorf("response header %s: %q", h, v)
		}
	}
}
