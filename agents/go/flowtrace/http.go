package flowtrace

import (
	"net/http"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/trace"
)

// HTTPHandler is h (nil: http.DefaultServeMux) behind the official otelhttp server
// instrumentation, with the request's context bound as the parent of method spans. flowtrace-go
// wraps the handler of http.ListenAndServe, http.Serve and http.Server literals with it.
func HTTPHandler(h http.Handler) http.Handler {
	if h == nil {
		h = http.DefaultServeMux
	}
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		restore := Bind(r.Context())
		defer restore()
		h.ServeHTTP(w, r)
	})
	return otelhttp.NewHandler(inner, "http.server", otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string {
		if r.Pattern != "" {
			return r.Pattern
		}
		return r.Method
	}))
}

// NewTransport is base behind the official otelhttp client instrumentation; a request whose
// context has no span gets the goroutine's traced call as parent (and its baggage).
// http.DefaultTransport is wrapped by Start.
func NewTransport(base http.RoundTripper) http.RoundTripper {
	return parentFromGoroutine{otelhttp.NewTransport(base)}
}

type parentFromGoroutine struct{ next http.RoundTripper }

func (t parentFromGoroutine) RoundTrip(r *http.Request) (*http.Response, error) {
	ctx := r.Context()
	if !trace.SpanContextFromContext(ctx).IsValid() {
		if f := currentFrame(); f != nil {
			ctx = trace.ContextWithSpan(ctx, trace.SpanFromContext(f.ctx))
			if baggage.FromContext(ctx).Len() == 0 {
				ctx = baggage.ContextWithBaggage(ctx, baggage.FromContext(f.ctx))
			}
			r = r.WithContext(ctx)
		}
	}
	return t.next.RoundTrip(r)
}
