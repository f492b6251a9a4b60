package flowtrace

// OTEL_LOGS_EXPORTER=otlp (the default): log records go out through the SDK's logs pipeline and
// the official OTLP log exporter (gRPC or HTTP, the endpoint and headers the OTEL_EXPORTER_OTLP_*
// variables give), each with its span's trace and span IDs and flowtrace.correlation_id.

import (
	"context"
	"log/slog"
	"sync/atomic"

	"go.opentelemetry.io/contrib/bridges/otelslog"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploggrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	otellog "go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/resource"
)

type logExport struct {
	provider *sdklog.LoggerProvider
	slog     slog.Handler
}

var logs atomic.Pointer[logExport]

// newLogProvider is the SDK logs pipeline with the OTLP exporter of protocol.
func newLogProvider(ctx context.Context, protocol string, res *resource.Resource) (*sdklog.LoggerProvider, error) {
	var exp sdklog.Exporter
	var err error
	if protocol == "grpc" {
		exp, err = otlploggrpc.New(ctx)
	} else {
		exp, err = otlploghttp.New(ctx)
	}
	if err != nil {
		return nil, err
	}
	return sdklog.NewLoggerProvider(sdklog.WithResource(res), sdklog.WithProcessor(sdklog.NewBatchProcessor(exp))), nil
}

// InstallLogs makes lp the provider log records are exported to (nil: none); Start calls it, tests
// call it with their own. Handlers wrapped after it export.
func InstallLogs(lp *sdklog.LoggerProvider) {
	if lp == nil {
		logs.Store(nil)
		return
	}
	logs.Store(&logExport{provider: lp, slog: otelslog.NewHandler(ScopeName, otelslog.WithLoggerProvider(lp))})
}

// LoggerProvider is the provider log records are exported to, or nil (for a bridge the application
// adds itself, such as otelzap).
func LoggerProvider() otellog.LoggerProvider {
	if l := logs.Load(); l != nil {
		return l.provider
	}
	return nil
}

func exportHandler() slog.Handler {
	if l := logs.Load(); l != nil {
		return l.slog
	}
	return nil
}

func shutdownLogs(ctx context.Context) {
	if l := logs.Load(); l != nil {
		_ = l.provider.Shutdown(ctx)
	}
}
