package bench

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/flowtrace/flowtrace/agents/go/flowtrace"
)

// Every span goes through the same SDK pipeline: the correlation processor and a batch processor
// whose exporter drops the batches.
// Both traced and hand-written spans run inside a request: a parent span and a correlation ID.
func setup(b *testing.B) context.Context {
	cfg, _ := flowtrace.LoadConfig(func(string) string { return "" })
	tp := trace.NewTracerProvider(trace.WithSpanProcessor(flowtrace.CorrelationSpanProcessor()),
		trace.WithBatcher(tracetest.NewNoopExporter(), trace.WithMaxQueueSize(1<<16)))
	flowtrace.Install(cfg, tp)
	b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	ctx, parent := tp.Tracer("request").Start(flowtrace.WithCorrelation(context.Background(), "bench-request"), "GET /bench")
	b.Cleanup(func() { parent.End() })
	return ctx
}

var sink int

func BenchmarkNone(b *testing.B) {
	for i := 0; i < b.N; i++ {
		sink += Plain(i)
	}
}

func BenchmarkExcluded(b *testing.B) {
	setup(b)
	for i := 0; i < b.N; i++ {
		sink += Excluded(i)
	}
}

func BenchmarkTraced(b *testing.B) {
	restore := flowtrace.Bind(setup(b))
	defer restore()
	for i := 0; i < b.N; i++ {
		sink += Traced(i)
	}
	if !flowtrace.GoroutineLocalAvailable() {
		b.Log("built without flowtrace-go: Traced is not rewritten")
	}
}

func BenchmarkHandWritten(b *testing.B) {
	ctx := setup(b)
	for i := 0; i < b.N; i++ {
		sink += HandWritten(ctx, i)
	}
}

// The goroutine-local mechanism alone: set and restore the slot (what Bind does per request).
func BenchmarkGoroutineLocalBind(b *testing.B) {
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		flowtrace.Bind(ctx)()
	}
}

// The goroutine-local read alone (what a traced call does to find its parent).
func BenchmarkGoroutineLocalRead(b *testing.B) {
	for i := 0; i < b.N; i++ {
		if flowtrace.CurrentContext() == nil {
			b.Fatal("nil")
		}
	}
}
