package flowtrace

import (
	"context"
	"errors"
	"testing"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// The calls flowtrace-go inserts, written out by hand (this package's tests are built without
// flowtrace-go, so only context.Context parameters carry the parent here).
func installForTest(t *testing.T, env map[string]string) *tracetest.InMemoryExporter {
	t.Helper()
	cfg, problems := LoadConfig(func(k string) string { return env[k] })
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(correlationProcessor{}), sdktrace.WithSyncer(exp))
	Install(cfg, tp)
	t.Cleanup(func() { current.Store(nil) })
	return exp
}

var siteFail = Site{Name: "Cart.Fail", Func: "example.com/shop.Cart.Fail", Namespace: "example.com/shop.Cart", Pkg: "example.com/shop", File: "/src/cart.go", Line: 7, Params: []string{"ctx", "password"}}

func fail(ctx context.Context, password string) (err error) {
	ctx, sp := EnterCtx(ctx, &siteFail)
	if sp != nil {
		if sp.CaptureArgs() {
			sp.Args(ctx, password)
		}
		defer func() {
			if sp.CaptureReturn() {
				sp.Return(err)
			}
			sp.Exit(recover(), err)
		}()
	}
	return errors.New("declined: password=hunter2")
}

var sitePanic = Site{Name: "shop.boom", Func: "example.com/shop.boom", Namespace: "example.com/shop", Pkg: "example.com/shop", File: "/src/cart.go", Line: 20}

func boom() {
	sp := Enter(&sitePanic)
	if sp != nil {
		defer func() { sp.Exit(recover(), nil) }()
	}
	panic("card 4111111111111111")
}

func TestErrorPanicArgsAndNesting(t *testing.T) {
	exp := installForTest(t, map[string]string{"FLOWTRACE_CAPTURE_ARGS": "true", "FLOWTRACE_CAPTURE_RETURN": "true"})
	ctx, parent := sdktrace.NewTracerProvider().Tracer("t").Start(WithCorrelation(context.Background(), "cid-1"), "server")
	_ = parent
	if err := fail(ctx, "hunter2"); err == nil {
		t.Fatal("error not returned")
	}
	func() {
		defer func() {
			if r := recover(); r != "card 4111111111111111" {
				t.Errorf("panic value changed: %v", r)
			}
		}()
		boom()
	}()
	spans := exp.GetSpans()
	if len(spans) != 2 {
		t.Fatalf("%d spans", len(spans))
	}
	f, b := spans[0], spans[1]
	if f.Parent.SpanID() != trace.SpanContextFromContext(ctx).SpanID() || f.SpanKind != trace.SpanKindInternal {
		t.Errorf("Cart.Fail not under the context's span")
	}
	attrs := map[string]string{}
	for _, kv := range f.Attributes {
		attrs[string(kv.Key)] = kv.Value.Emit()
	}
	if attrs["flowtrace.args.1"] != "[REDACTED]" || attrs["flowtrace.correlation_id"] != "cid-1" || attrs["code.line.number"] != "7" {
		t.Errorf("attributes %v", attrs)
	}
	if f.Status.Code != codes.Error || f.Status.Description != "declined: password=[REDACTED]" {
		t.Errorf("status %v", f.Status)
	}
	if b.Status.Code != codes.Error || len(b.Events) != 1 || b.Events[0].Attributes[1].Value.AsString() != "card [REDACTED]" {
		t.Errorf("panic span %v %v", b.Status, b.Events)
	}
	if b.Parent.IsValid() {
		t.Errorf("without goroutine-local state a context-less call starts a trace")
	}
}

func TestRunTimeFilterAndOff(t *testing.T) {
	exp := installForTest(t, map[string]string{"FLOWTRACE_EXCLUDE": "example.com/shop"})
	_ = fail(context.Background(), "x")
	if n := len(exp.GetSpans()); n != 0 {
		t.Errorf("excluded package made %d spans", n)
	}
	current.Store(nil)
	if _, sp := EnterCtx(context.Background(), &siteFail); sp != nil {
		t.Errorf("agent off, span made")
	}
}

func TestInvalidSettings(t *testing.T) {
	var log []byte
	w := writerFunc(func(p []byte) (int, error) { log = append(log, p...); return len(p), nil })
	err := start(func(k string) string {
		return map[string]string{"FLOWTRACE_MAX_VALUE_BYTES": "3", "FLOWTRACE_CAPTURE_ARGS": "maybe"}[k]
	}, w)
	if err == nil || string(log) != "flowtrace: the agent is off, the application runs untraced: FLOWTRACE_CAPTURE_ARGS must be true or false (got \"maybe\"); FLOWTRACE_MAX_VALUE_BYTES must be an integer from 16 to 1048576 (got \"3\")\n" {
		t.Errorf("got %q", log)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func TestRenderShapes(t *testing.T) {
	type inner struct{ Token, Name string }
	type node struct {
		ID   int
		Next *node
	}
	n := &node{ID: 1}
	n.Next = n
	cases := []struct {
		v    any
		want string
	}{
		{42, "42"}, {nil, "nil"}, {[]int{1, 2}, "[1, 2]"}, {map[string]any{"password": "x", "a": 1}, `{"a": 1, "password": "[REDACTED]"}`},
		{inner{"t", "ann"}, `flowtrace.inner {"Token": "[REDACTED]", "Name": "ann"}`},
		{n, `&flowtrace.node {"ID": 1, "Next": [Circular]}`}, {[]byte("abc"), "[]uint8(3)"},
		{errors.New("bad"), "*errors.errorString: bad"}, {context.Background(), "<context.backgroundCtx>"},
	}
	for _, c := range cases {
		if got := FormatValue(c.v, 512, ""); got != c.want {
			t.Errorf("%#v: got %s want %s", c.v, got, c.want)
		}
	}
}
