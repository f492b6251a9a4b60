package flowtrace

import (
	"context"
	"testing"
	"unsafe"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

var (
	siteRequest = Site{Name: "shop.request", Func: "example.com/shop.request", Namespace: "example.com/shop", Pkg: "example.com/shop"}
	siteLater   = Site{Name: "shop.later", Func: "example.com/shop.later", Namespace: "example.com/shop", Pkg: "example.com/shop"}
)

// fakeSlot stands in for the runtime.g field flowtrace-go adds (this test binary is built without
// it): one slot, and the test plays the goroutine that copies it at `go` by hand.
func fakeSlot(t *testing.T) {
	t.Helper()
	var slot unsafe.Pointer
	oldGet, oldSet := glsGet, glsSet
	glsGet = func() unsafe.Pointer { return slot }
	glsSet = func(p unsafe.Pointer) { slot = p }
	t.Cleanup(func() { glsGet, glsSet = oldGet, oldSet })
}

// Review repro: a worker goroutine started lazily inside the first request inherits that request's
// frame; once the request's span has ended, later work on the worker must not nest under it nor
// carry its correlation ID (with and without a context.Context parameter).
func TestReviewEndedInheritedFrameIgnored(t *testing.T) {
	for _, withCtx := range []bool{false, true} {
		exp := installForTest(t, map[string]string{})
		fakeSlot(t)
		outer := Enter(&siteRequest)
		inherited := glsGet() // what `go worker()` copies into the new goroutine
		outer.Exit(nil, nil)
		glsSet(inherited) // the worker, later
		var inner *Span
		if withCtx {
			_, inner = EnterCtx(context.Background(), &siteLater)
		} else {
			inner = Enter(&siteLater)
		}
		if CurrentContext() == nil {
			t.Fatal("no current context")
		}
		inner.Exit(nil, nil)
		if glsGet() != inherited {
			t.Fatalf("the worker's slot was not restored")
		}
		spans := exp.GetSpans()
		if len(spans) != 2 {
			t.Fatalf("spans: %d", len(spans))
		}
		req, later := spans[0], spans[1]
		if later.Parent.IsValid() || later.SpanContext.TraceID() == req.SpanContext.TraceID() {
			t.Errorf("withCtx=%v: the later span nests under the ended request span", withCtx)
		}
		if a, b := attrsOf(req)[CorrelationKey], attrsOf(later)[CorrelationKey]; a == "" || a == b {
			t.Errorf("withCtx=%v: correlation IDs request=%q later=%q", withCtx, a, b)
		}
	}
}

// A frame still open is the parent, as before.
func TestLiveInheritedFrameIsParent(t *testing.T) {
	exp := installForTest(t, map[string]string{})
	fakeSlot(t)
	outer := Enter(&siteRequest)
	inner := Enter(&siteLater)
	inner.Exit(nil, nil)
	outer.Exit(nil, nil)
	spans := exp.GetSpans()
	if len(spans) != 2 || spans[0].Parent.SpanID() != spans[1].SpanContext.SpanID() {
		t.Fatalf("inner span not under the open outer span")
	}
}

func attrsOf(s tracetest.SpanStub) map[string]string {
	m := map[string]string{}
	for _, kv := range s.Attributes {
		m[string(kv.Key)] = kv.Value.Emit()
	}
	return m
}
