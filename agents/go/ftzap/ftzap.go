// Package ftzap puts FlowTrace's log correlation into zap: a zapcore.Core wrapper that adds
// trace_id, span_id and flowtrace.correlation_id (from the goroutine's current span: zap calls
// carry no context) to every entry, and sends the entries as OTLP log records through the
// official otelzap bridge when the agent exports logs. flowtrace-go wraps every zap.New(core, …)
// of a rewritten package with Core; elsewhere:
//
//	logger := zap.New(ftzap.Core(core))                 // or
//	logger, _ := zap.NewProduction(ftzap.WrapCore())
package ftzap

import (
	"go.opentelemetry.io/contrib/bridges/otelzap"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/flowtrace/flowtrace/agents/go/flowtrace"
)

type core struct {
	zapcore.Core
	export zapcore.Core // otelzap, nil when logs are not exported
}

// Core wraps c (a core already wrapped is returned as it is).
func Core(c zapcore.Core) zapcore.Core {
	if c == nil {
		return c
	}
	if _, ok := c.(*core); ok {
		return c
	}
	w := &core{Core: c}
	if lp := flowtrace.LoggerProvider(); lp != nil {
		w.export = otelzap.NewCore(flowtrace.ScopeName, otelzap.WithLoggerProvider(lp))
	}
	return w
}

// WrapCore is the zap.Option form of Core, for zap.NewProduction(…) and Config.Build(…).
func WrapCore() zap.Option { return zap.WrapCore(Core) }

func (c *core) With(fields []zapcore.Field) zapcore.Core {
	w := &core{Core: c.Core.With(fields)}
	if c.export != nil {
		w.export = c.export.With(fields)
	}
	return w
}

// Check asks the application's core (its level, its sampler) with the fields added, so the
// entry is written with them; the export follows the application's core's level.
func (c *core) Check(ent zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	mode := flowtrace.CurrentLogMode()
	if mode == flowtrace.LogOff && c.export == nil {
		return c.Core.Check(ent, ce)
	}
	ctx := flowtrace.LogContext(nil)
	f := flowtrace.FieldsOf(ctx)
	if c.export != nil && c.Core.Enabled(ent.Level) {
		extra := []zapcore.Field{zap.Any("context", ctx)} // otelzap takes the trace context from it
		if f.CorrelationID != "" {
			extra = append(extra, zap.String(flowtrace.CorrelationKey, f.CorrelationID))
		}
		ce = c.export.With(extra).Check(ent, ce)
	}
	if mode == flowtrace.LogOff || f.Empty() {
		return c.Core.Check(ent, ce)
	}
	return c.Core.With(zapFields(f)).Check(ent, ce)
}

func zapFields(f flowtrace.LogFields) []zapcore.Field {
	out := make([]zapcore.Field, 0, 3)
	if f.TraceID != "" {
		out = append(out, zap.String(flowtrace.TraceIDField, f.TraceID), zap.String(flowtrace.SpanIDField, f.SpanID))
	}
	if f.CorrelationID != "" {
		out = append(out, zap.String(flowtrace.CorrelationKey, f.CorrelationID))
	}
	return out
}
