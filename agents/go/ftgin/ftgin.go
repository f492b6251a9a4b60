// Package ftgin puts a gin engine behind the official OpenTelemetry gin instrumentation (otelgin)
// and binds each request's context as the parent of method spans. flowtrace-go wraps every
// gin.New() / gin.Default() of a rewritten package with Instrument; by hand it is one line:
// r := ftgin.Instrument(gin.Default()).
package ftgin

import (
	"github.com/gin-gonic/gin"
	"go.opentelemetry.io/contrib/instrumentation/github.com/gin-gonic/gin/otelgin"

	"github.com/flowtrace/flowtrace/agents/go/flowtrace"
)

// Instrument adds the server-span middleware and the method-span bridge to e, and returns e.
func Instrument(e *gin.Engine) *gin.Engine {
	_ = flowtrace.Start()
	e.Use(otelgin.Middleware(flowtrace.ServiceName()), func(c *gin.Context) {
		restore := flowtrace.Bind(c.Request.Context())
		defer restore()
		c.Next()
	})
	return e
}
