package flowtrace

// Log correlation: trace_id, span_id and flowtrace.correlation_id in the application's own log
// lines (agents/conformance/logs/correlation.json). FLOWTRACE_LOG_CORRELATION says where: auto
// (structured loggers: log/slog, zap), all (the standard log package's plain lines too), off.

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"

	"go.opentelemetry.io/otel/trace"
)

// LogMode is what FLOWTRACE_LOG_CORRELATION asks for.
type LogMode int32

const (
	// LogAuto adds the fields to structured loggers only (the default).
	LogAuto LogMode = iota
	// LogAll adds them to plain text output as well.
	LogAll
	// LogOff adds nothing.
	LogOff
)

func (m LogMode) String() string { return [...]string{"auto", "all", "off"}[m] }

// Field names, in the order a plain line gets them.
const (
	TraceIDField = "trace_id"
	SpanIDField  = "span_id"
)

// ParseLogMode reads FLOWTRACE_LOG_CORRELATION (trimmed, case ignored). A refused value gives the
// default and a warning naming the setting; the agent runs on.
func ParseLogMode(raw string) (LogMode, string) {
	switch strings.ToLower(strings.TrimSpace(raw)) {
	case "", "auto":
		return LogAuto, ""
	case "all", "true":
		return LogAll, ""
	case "off", "false", "none":
		return LogOff, ""
	}
	return LogAuto, fmt.Sprintf("FLOWTRACE_LOG_CORRELATION must be one of auto, all, off (got %q): auto applies", raw)
}

// ParseLogsExporter reads OTEL_LOGS_EXPORTER: otlp (the default) or none; anything else is a
// warning and the default.
func ParseLogsExporter(raw string) (otlp bool, warning string) {
	switch strings.ToLower(strings.TrimSpace(raw)) {
	case "", "otlp":
		return true, ""
	case "none":
		return false, ""
	}
	return true, fmt.Sprintf("OTEL_LOGS_EXPORTER must be otlp or none (got %q): otlp applies", raw)
}

var logMode atomic.Int32 // a LogMode; LogAuto until Start reads the setting

// CurrentLogMode is the mode in force.
func CurrentLogMode() LogMode { return LogMode(logMode.Load()) }

// SetLogMode changes the mode at run time (Start sets it from FLOWTRACE_LOG_CORRELATION).
func SetLogMode(m LogMode) { logMode.Store(int32(m)) }

// LogFields are the correlation fields of one log line; an empty one is left out.
type LogFields struct {
	TraceID, SpanID, CorrelationID string
}

// Empty reports whether there is nothing to add.
func (f LogFields) Empty() bool { return f.TraceID == "" && f.SpanID == "" && f.CorrelationID == "" }

// Suffix is the plain-text form: " trace_id=… span_id=… flowtrace.correlation_id=…", each only
// when it has a value.
func (f LogFields) Suffix() string {
	var b strings.Builder
	for _, kv := range [...][2]string{{TraceIDField, f.TraceID}, {SpanIDField, f.SpanID}, {CorrelationKey, f.CorrelationID}} {
		if kv[1] != "" {
			b.WriteString(" " + kv[0] + "=" + kv[1])
		}
	}
	return b.String()
}

// LogContext is the context a log call belongs to: ctx when it carries a span or a correlation ID,
// else the goroutine's innermost traced call (a call such as slog.Info passes no context; the
// agent knows the current span of the goroutine).
func LogContext(ctx context.Context) context.Context {
	if ctx != nil && (trace.SpanContextFromContext(ctx).IsValid() || CorrelationOf(ctx) != "") {
		return ctx
	}
	return CurrentContext()
}

// FieldsOf are the fields for a log call made with ctx (nil or context.Background() when the call
// passed none): the span's IDs (sampled or not; never zeros) and the request's correlation ID.
func FieldsOf(ctx context.Context) LogFields {
	ctx = LogContext(ctx)
	var f LogFields
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		f.TraceID, f.SpanID = sc.TraceID().String(), sc.SpanID().String()
	}
	f.CorrelationID = CorrelationOf(ctx)
	if f.CorrelationID == "" {
		f.CorrelationID = correlationOfSpan(trace.SpanFromContext(ctx))
	}
	return f
}
