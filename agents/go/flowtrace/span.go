package flowtrace

// The calls flowtrace-go inserts at the top of each rewritten function:
//
//	__ft_sp := flowtrace.Enter(&__ft_site3)              // or: ctx, __ft_sp := flowtrace.EnterCtx(ctx, &__ft_site3)
//	if __ft_sp != nil {
//		if __ft_sp.CaptureArgs() { __ft_sp.Args(a, b) }
//		defer func() { __ft_sp.Return(r0, err); __ft_sp.Exit(recover(), err) }()
//	}

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"unsafe"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// Site describes one rewritten function; flowtrace-go emits one package-level Site per function.
type Site struct {
	Name      string   // span name: Type.Method or pkg.Func
	Func      string   // code.function.name: import/path.Type.Method
	Namespace string   // code.namespace: import/path.Type or import/path
	Pkg       string   // import path, for the run-time filter
	File      string   // code.file.path (absolute)
	Line      int      // code.line.number
	Params    []string // parameter names, for key-aware masking of captured arguments

	generation atomic.Int64 // siteGeneration when on/attrs were computed
	on         atomic.Bool
	opts       atomic.Pointer[[]trace.SpanStartOption]
}

// siteGeneration changes whenever Install runs, so sites re-read the run-time filter.
var siteGeneration atomic.Int64

func (s *Site) enabled(a *agent) bool {
	g := siteGeneration.Load()
	if s.generation.Load() == g {
		return s.on.Load()
	}
	on := (a.cfg.Include.Empty() || a.cfg.Include.Matches(s.Pkg)) && !a.cfg.Exclude.Matches(s.Pkg)
	if s.opts.Load() == nil {
		opts := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindInternal), trace.WithAttributes(
			attribute.String("code.function.name", s.Func),
			attribute.String("code.namespace", s.Namespace),
			attribute.String("code.file.path", s.File),
			attribute.Int("code.line.number", s.Line),
		)}
		s.opts.Store(&opts)
	}
	s.on.Store(on)
	s.generation.Store(g)
	return on
}

// Span is one traced call in progress.
type Span struct {
	frame frame
	span  trace.Span
	prev  unsafe.Pointer
	site  *Site
	a     *agent
}

// Enter starts the span of a call whose function has no context.Context parameter: its parent is
// the goroutine's innermost traced call (or bound request). nil when tracing is off for it.
func Enter(site *Site) *Span {
	a := current.Load()
	if a == nil || !site.enabled(a) {
		return nil
	}
	var prev unsafe.Pointer
	parent := context.Background()
	if glsGet != nil {
		prev = glsGet()
		if f := live(prev); f != nil {
			parent = f.ctx
		}
	}
	return begin(a, site, parent, prev)
}

// EnterCtx starts the span of a call whose function has a context.Context parameter: the context is
// the parent (the goroutine's traced call when the context carries no span) and the function sees
// the context with its own span, so the calls it passes it to nest under it.
func EnterCtx(ctx context.Context, site *Site) (context.Context, *Span) {
	a := current.Load()
	if a == nil || !site.enabled(a) {
		return ctx, nil
	}
	if ctx == nil {
		ctx = context.Background()
	}
	var prev unsafe.Pointer
	if glsGet != nil {
		prev = glsGet()
	}
	parent := ctx
	if f := live(prev); f != nil && !trace.SpanContextFromContext(ctx).IsValid() {
		outer := f.ctx
		parent = trace.ContextWithSpan(ctx, trace.SpanFromContext(outer))
		if CorrelationOf(parent) == "" {
			if id := CorrelationOf(outer); id != "" {
				parent = WithCorrelation(parent, id)
			}
		}
	}
	s := begin(a, site, parent, prev)
	return s.frame.ctx, s
}

func begin(a *agent, site *Site, parent context.Context, prev unsafe.Pointer) *Span {
	ctx, sp := a.tracer.Start(parent, site.Name, *site.opts.Load()...)
	if CorrelationOf(ctx) == "" {
		// A trace started outside any request: its ID (made by the span processor) goes with the
		// context, so outgoing calls and goroutines carry it.
		if id := correlationOfSpan(sp); id != "" {
			ctx = WithCorrelation(ctx, id)
		}
	}
	s := &Span{frame: frame{ctx: ctx}, span: sp, prev: prev, site: site, a: a}
	if glsSet != nil {
		glsSet(unsafe.Pointer(&s.frame))
	}
	return s
}

// CaptureArgs reports whether FLOWTRACE_CAPTURE_ARGS is on.
func (s *Span) CaptureArgs() bool { return s.a.cfg.CaptureArgs && s.span.IsRecording() }

// CaptureReturn reports whether FLOWTRACE_CAPTURE_RETURN is on.
func (s *Span) CaptureReturn() bool { return s.a.cfg.CaptureReturn && s.span.IsRecording() }

// Args records the arguments (receiver not counted) as flowtrace.args.<i>.
func (s *Span) Args(values ...any) {
	attrs := make([]attribute.KeyValue, len(values))
	for i, v := range values {
		key := ""
		if i < len(s.site.Params) {
			key = s.site.Params[i]
		}
		attrs[i] = attribute.String("flowtrace.args."+strconv.Itoa(i), FormatValue(v, s.a.cfg.MaxValueBytes, key))
	}
	s.span.SetAttributes(attrs...)
}

// Return records the results as flowtrace.return: one result as itself, several as a list.
func (s *Span) Return(values ...any) {
	if !s.CaptureReturn() || len(values) == 0 {
		return
	}
	var v any = values
	if len(values) == 1 {
		v = values[0]
	}
	s.span.SetAttributes(attribute.String("flowtrace.return", FormatValue(v, s.a.cfg.MaxValueBytes, "")))
}

// Exit ends the span: a panic (recovered by the inserted defer) is recorded and raised again
// with the same value; a returned non-nil error is recorded with status Error.
func (s *Span) Exit(recovered any, err error) {
	s.frame.ended.Store(true)
	if glsSet != nil {
		glsSet(s.prev)
	}
	if recovered != nil {
		s.recordPanic(recovered)
		s.span.End()
		panic(recovered)
	}
	if err != nil {
		msg := FormatText(errorText(err), s.a.cfg.MaxValueBytes)
		s.span.AddEvent("exception", trace.WithAttributes(
			attribute.String("exception.type", fmt.Sprintf("%T", err)),
			attribute.String("exception.message", msg),
		))
		s.span.SetStatus(codes.Error, msg)
	}
	s.span.End()
}

const maxFrames = 64

// errorText is err.Error(), or its type when Error() panics (a typed-nil pointer whose method reads
// a field): the agent must not raise a panic the program did not.
func errorText(err error) (text string) {
	defer func() {
		if recover() != nil {
			text = fmt.Sprintf("<%T>", err)
		}
	}()
	return err.Error()
}

func (s *Span) recordPanic(r any) {
	// Skip runtime.Callers, panicAttributes, recordPanic, Exit and the inserted deferred function.
	attrs := panicAttributes(r, s.a.cfg.MaxValueBytes, 5)
	s.span.AddEvent("exception", trace.WithAttributes(attrs...))
	s.span.SetStatus(codes.Error, attrs[1].Value.AsString())
}

// panicAttributes are the exception event's attributes for a panic value: its type, its message
// masked and cut like a string value, and the stack (at most maxFrames frames) below skip.
func panicAttributes(r any, maxBytes, skip int) []attribute.KeyValue {
	var message string
	switch v := r.(type) {
	case error:
		message = errorText(v)
	case string:
		message = v
	default:
		message = fmt.Sprint(v)
	}
	typ := fmt.Sprintf("%T", r)
	msg := FormatText(message, maxBytes)
	var b strings.Builder
	b.WriteString(typ + ": " + msg)
	pcs := make([]uintptr, 256)
	n := runtime.Callers(skip, pcs)
	frames := runtime.CallersFrames(pcs[:n])
	count := 0
	for {
		f, more := frames.Next()
		if count == maxFrames {
			rest := 1
			for more {
				_, more = frames.Next()
				rest++
			}
			fmt.Fprintf(&b, "\n\t... %d more", rest)
			break
		}
		fmt.Fprintf(&b, "\n\tat %s (%s:%d)", f.Function, f.File, f.Line)
		count++
		if !more {
			break
		}
	}
	return []attribute.KeyValue{
		attribute.String("exception.type", typ),
		attribute.String("exception.message", msg),
		attribute.String("exception.stacktrace", b.String()),
		attribute.Bool("exception.escaped", true),
	}
}
