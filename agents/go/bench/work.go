// Package bench holds the functions `npm run bench:agent-go` measures, built with flowtrace-go
// (FLOWTRACE_EXCLUDE=/\.Excluded$/): the same small body traced, excluded, plain, and inside a
// hand-written OpenTelemetry span with the same attributes.
package bench

import (
	"context"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// Traced is rewritten by flowtrace-go: a method span per call.
func Traced(x int) int { return x*7 + 1 }

// Excluded is left untouched by FLOWTRACE_EXCLUDE.
func Excluded(x int) int { return x*7 + 1 }

// Plain is never rewritten (a //go: directive) and never inlined.
//
//go:noinline
func Plain(x int) int { return x*7 + 1 }

var handAttrs = trace.WithAttributes(
	attribute.String("code.function.name", "github.com/flowtrace/flowtrace/agents/go/bench.HandWritten"),
	attribute.String("code.namespace", "github.com/flowtrace/flowtrace/agents/go/bench"),
	attribute.String("code.file.path", "/src/bench/work.go"),
	attribute.Int("code.line.number", 30),
)

// HandWritten is what a developer would write by hand: a span with the same attributes.
//
//go:noinline
func HandWritten(ctx context.Context, x int) int {
	_, sp := otel.Tracer("hand").Start(ctx, "bench.HandWritten", trace.WithSpanKind(trace.SpanKindInternal), handAttrs)
	defer sp.End()
	return x*7 + 1
}
