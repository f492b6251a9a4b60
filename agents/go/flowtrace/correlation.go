package flowtrace

// The correlation ID: read from `x-request-id` / `x-correlation-id` or the baggage entry
// `flowtrace.correlation_id`, created when a request arrives without one, written on every span
// and on outgoing calls (as baggage and as `x-request-id`). The same rules as the other agents
// (agents/conformance/correlation/ids.json).

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// CorrelationKey is the baggage entry and span attribute holding the correlation ID.
const CorrelationKey = "flowtrace.correlation_id"

var correlationHeaders = []string{"x-request-id", "x-correlation-id"}

func validIDChar(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("._:@/+=-", c) >= 0
}

// AcceptCorrelationID is the trimmed value when it is 1–128 characters of [A-Za-z0-9._:@/+=-]:
// anything else (spaces, quotes, commas, `<`, CR/LF, non-ASCII) would travel into other services'
// headers, baggage and logs, so it is refused.
func AcceptCorrelationID(raw string) (string, bool) {
	v := strings.Trim(raw, " \t\r\n\f\v")
	if len(v) < 1 || len(v) > 128 {
		return "", false
	}
	for i := 0; i < len(v); i++ {
		if !validIDChar(v[i]) {
			return "", false
		}
	}
	return v, true
}

// NewCorrelationID is a random UUID (version 4).
func NewCorrelationID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// CorrelationOf is the ID the context's baggage carries, or "".
func CorrelationOf(ctx context.Context) string {
	if ctx == nil {
		return ""
	}
	if v, ok := AcceptCorrelationID(baggage.FromContext(ctx).Member(CorrelationKey).Value()); ok {
		return v
	}
	return ""
}

// WithCorrelation is ctx with the ID in its baggage.
func WithCorrelation(ctx context.Context, id string) context.Context {
	m, err := baggage.NewMemberRaw(CorrelationKey, id)
	if err != nil {
		return ctx
	}
	b, err := baggage.FromContext(ctx).SetMember(m)
	if err != nil {
		return ctx
	}
	return baggage.ContextWithBaggage(ctx, b)
}

// CorrelationPropagator runs after the W3C trace-context and baggage propagators.
type CorrelationPropagator struct{}

var _ propagation.TextMapPropagator = CorrelationPropagator{}

// Extract takes the first accepted header, else the baggage entry, else makes a new ID.
func (CorrelationPropagator) Extract(ctx context.Context, carrier propagation.TextMapCarrier) context.Context {
	for _, h := range correlationHeaders {
		if v, ok := AcceptCorrelationID(carrier.Get(h)); ok {
			return WithCorrelation(ctx, v)
		}
	}
	if v := CorrelationOf(ctx); v != "" {
		return WithCorrelation(ctx, v)
	}
	return WithCorrelation(ctx, NewCorrelationID())
}

// Inject writes x-request-id (one the application set itself wins) and the baggage entry.
func (CorrelationPropagator) Inject(ctx context.Context, carrier propagation.TextMapCarrier) {
	id := CorrelationOf(ctx)
	if id == "" {
		id = correlationOfSpan(trace.SpanFromContext(ctx))
	}
	if id == "" {
		return
	}
	if CorrelationOf(ctx) != id {
		propagation.Baggage{}.Inject(WithCorrelation(ctx, id), carrier)
	}
	if carrier.Get("x-request-id") == "" {
		carrier.Set("x-request-id", id)
	}
}

// Fields names the headers Inject writes.
func (CorrelationPropagator) Fields() []string { return []string{"x-request-id", "baggage"} }

func correlationOfSpan(s trace.Span) string {
	ro, ok := s.(sdktrace.ReadOnlySpan)
	if !ok {
		return ""
	}
	for _, kv := range ro.Attributes() {
		if string(kv.Key) == CorrelationKey {
			return kv.Value.AsString()
		}
	}
	return ""
}

// correlationProcessor puts the correlation ID on every span the SDK starts (framework, client and
// method spans): from the parent context's baggage, else from the parent span, else a new one for
// a span that starts a trace outside any request.
type correlationProcessor struct{}

func (correlationProcessor) OnStart(parent context.Context, s sdktrace.ReadWriteSpan) {
	id := CorrelationOf(parent)
	if id == "" {
		id = correlationOfSpan(trace.SpanFromContext(parent))
	}
	if id == "" && !s.Parent().IsValid() {
		id = NewCorrelationID()
	}
	if id != "" {
		s.SetAttributes(attribute.String(CorrelationKey, id))
	}
}
func (correlationProcessor) OnEnd(sdktrace.ReadOnlySpan)      {}
func (correlationProcessor) Shutdown(context.Context) error   { return nil }
func (correlationProcessor) ForceFlush(context.Context) error { return nil }
