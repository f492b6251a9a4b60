package flowtrace

// Goroutine-local state: the frame (context) of the innermost traced call on this goroutine, so a
// function without a context.Context parameter still finds its parent span. flowtrace-go adds a
// pointer field to runtime.g when it compiles the runtime (copied from the parent goroutine in
// newproc1, so goroutines keep their parent) and, when it compiles this package, a file that binds
// glsGet/glsSet to the runtime's accessors. Built without flowtrace-go, both stay nil and only
// context.Context parameters carry the parent.

import (
	"context"
	"sync/atomic"
	"unsafe"
)

var (
	glsGet func() unsafe.Pointer
	glsSet func(unsafe.Pointer)
	// Set by the file flowtrace-go adds: start the SDK in init, and what the build instrumented.
	autoStart    bool
	buildInclude string
	buildExclude string
)

// frame is what the goroutine-local slot points to. ended is set when its span ends (or its Bind
// is undone): a goroutine started inside the call still holds the frame, and must not keep
// nesting its later work under a finished span (a lazily started worker, a pool).
type frame struct {
	ctx   context.Context
	ended atomic.Bool
}

// live is the frame p points to, or nil when there is none or its span has ended.
func live(p unsafe.Pointer) *frame {
	if f := (*frame)(p); f != nil && !f.ended.Load() {
		return f
	}
	return nil
}

func currentFrame() *frame {
	if glsGet == nil {
		return nil
	}
	return live(glsGet())
}

// GoroutineLocalAvailable reports whether this binary was built with flowtrace-go's runtime field.
func GoroutineLocalAvailable() bool { return glsGet != nil }

// CurrentContext is the context of the innermost traced call (or Bind) on this goroutine, or
// context.Background().
func CurrentContext() context.Context {
	if f := currentFrame(); f != nil {
		return f.ctx
	}
	return context.Background()
}

// Bind makes ctx the parent of traced calls on this goroutine (and goroutines it starts) until the
// returned function is called. The framework middlewares call it with the request's context, so
// that method spans nest under the server span.
func Bind(ctx context.Context) (restore func()) {
	if glsGet == nil {
		return func() {}
	}
	prev := glsGet()
	f := &frame{ctx: ctx}
	glsSet(unsafe.Pointer(f))
	return func() { f.ended.Store(true); glsSet(prev) }
}
