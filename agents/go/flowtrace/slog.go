package flowtrace

// log/slog: a handler wrapper that adds the correlation fields to every record (from the record's
// context, else the goroutine's current span) and, when logs are exported, hands a copy of the
// record to the official otelslog bridge. Start installs it around slog.Default()'s handler;
// flowtrace-go wraps every slog.New(h) of a rewritten package with it.

import (
	"context"
	"fmt"
	"log"
	"log/slog"
)

// SlogHandler wraps an application's slog.Handler; see NewSlogHandler.
type SlogHandler struct {
	inner  slog.Handler
	export slog.Handler // the otelslog bridge with the same attrs and groups; nil when not exporting
}

// NewSlogHandler wraps h so that its records carry trace_id, span_id and flowtrace.correlation_id
// (FLOWTRACE_LOG_CORRELATION=auto or all) and go out as OTLP log records (OTEL_LOGS_EXPORTER=otlp).
// A handler already wrapped is returned as it is; nil stays nil.
//
//	logger := slog.New(flowtrace.NewSlogHandler(slog.NewJSONHandler(os.Stdout, nil)))
func NewSlogHandler(h slog.Handler) slog.Handler {
	if h == nil {
		return nil
	}
	if _, ok := h.(*SlogHandler); ok {
		return h
	}
	return &SlogHandler{inner: h, export: exportHandler()}
}

// Inner is the wrapped handler.
func (h *SlogHandler) Inner() slog.Handler { return h.inner }

// Enabled is the application's handler's answer: what it does not log is not exported either.
func (h *SlogHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.inner.Enabled(ctx, level)
}

// Handle adds the fields the mode asks for and passes the record on.
func (h *SlogHandler) Handle(ctx context.Context, r slog.Record) error {
	mode := CurrentLogMode()
	if mode == LogOff && h.export == nil {
		return h.inner.Handle(ctx, r)
	}
	logCtx := LogContext(ctx)
	f := FieldsOf(logCtx)
	if h.export != nil {
		// Trace and span IDs go into the record's own fields (from logCtx), the correlation ID
		// as an attribute.
		out := r.Clone()
		if f.CorrelationID != "" {
			out.AddAttrs(slog.String(CorrelationKey, f.CorrelationID))
		}
		_ = h.export.Handle(logCtx, out)
	}
	if mode != LogOff && !f.Empty() {
		r = r.Clone()
		r.AddAttrs(f.slogAttrs()...)
	}
	return h.inner.Handle(ctx, r)
}

// WithAttrs applies to both the application's handler and the export.
func (h *SlogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	n := &SlogHandler{inner: h.inner.WithAttrs(attrs)}
	if h.export != nil {
		n.export = h.export.WithAttrs(attrs)
	}
	return n
}

// WithGroup applies to both; the fields of later records are then inside the group, as every
// attribute added to a record is.
func (h *SlogHandler) WithGroup(name string) slog.Handler {
	n := &SlogHandler{inner: h.inner.WithGroup(name)}
	if h.export != nil {
		n.export = h.export.WithGroup(name)
	}
	return n
}

func (f LogFields) slogAttrs() []slog.Attr {
	attrs := make([]slog.Attr, 0, 3)
	if f.TraceID != "" {
		attrs = append(attrs, slog.String(TraceIDField, f.TraceID), slog.String(SpanIDField, f.SpanID))
	}
	if f.CorrelationID != "" {
		attrs = append(attrs, slog.String(CorrelationKey, f.CorrelationID))
	}
	return attrs
}

// installSlogDefault wraps slog.Default()'s handler. slog.SetDefault routes the log package's
// output through the new handler unless it is slog's built-in one; ours wraps the built-in one,
// which itself writes through the log package, so the log package's writer and flags are put
// back (otherwise every log.Printf would loop through slog).
func installSlogDefault() {
	h := slog.Default().Handler()
	if _, ok := h.(*SlogHandler); ok {
		return
	}
	builtin := fmt.Sprintf("%T", h) == "*slog.defaultHandler"
	w, flags := log.Writer(), log.Flags()
	slog.SetDefault(slog.New(NewSlogHandler(h)))
	if builtin {
		log.SetOutput(w)
		log.SetFlags(flags)
	}
}
