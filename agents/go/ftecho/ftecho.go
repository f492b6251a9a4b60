// Package ftecho puts an echo (v4) server behind the official OpenTelemetry echo instrumentation
// (otelecho) and binds each request's context as the parent of method spans. flowtrace-go wraps
// every echo.New() of a rewritten package with Instrument; by hand it is one line:
// e := ftecho.Instrument(echo.New()).
package ftecho

import (
	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/contrib/instrumentation/github.com/labstack/echo/otelecho"

	"github.com/flowtrace/flowtrace/agents/go/flowtrace"
)

// Instrument adds the server-span middleware and the method-span bridge to e, and returns e.
func Instrument(e *echo.Echo) *echo.Echo {
	_ = flowtrace.Start()
	e.Use(otelecho.Middleware(flowtrace.ServiceName()), func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			// otelecho has put the server span (and the extracted baggage) into the request's context.
			restore := flowtrace.Bind(c.Request().Context())
			defer restore()
			return next(c)
		}
	})
	return e
}
