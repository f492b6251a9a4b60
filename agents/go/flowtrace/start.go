package flowtrace

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// ScopeName is the instrumentation scope of method spans.
const ScopeName = "flowtrace-agent"

type agent struct {
	cfg      Config
	tracer   trace.Tracer
	provider *sdktrace.TracerProvider
}

var (
	current   atomic.Pointer[agent]
	startOnce sync.Once
	startErr  error
)

func init() {
	if autoStart {
		_ = Start()
	}
}

// Start sets up the OpenTelemetry SDK (OTLP exporter, propagators, the correlation ID) from the
// environment, once; a build by flowtrace-go calls it before main. A bad setting is one line on
// stderr and the application runs untraced.
func Start() error {
	startOnce.Do(func() { startErr = start(os.Getenv, os.Stderr) })
	return startErr
}

func start(getenv func(string) string, log interface{ Write([]byte) (int, error) }) error {
	cfg, problems := LoadConfig(getenv)
	if cfg.Disabled {
		return nil
	}
	if len(problems) > 0 {
		err := fmt.Errorf("%s", strings.Join(problems, "; "))
		fmt.Fprintf(log, "flowtrace: the agent is off, the application runs untraced: %v\n", err)
		return err
	}
	ctx := context.Background()
	var exp sdktrace.SpanExporter
	var err error
	if cfg.Protocol == "grpc" {
		exp, err = otlptracegrpc.New(ctx)
	} else {
		exp, err = otlptracehttp.New(ctx)
	}
	if err != nil {
		fmt.Fprintf(log, "flowtrace: the agent is off, the application runs untraced: exporter: %v\n", err)
		return err
	}
	res, _ := resource.Merge(resource.Default(), resource.NewSchemaless(attribute.String("service.name", cfg.ServiceName)))
	if fromEnv, e := resource.New(ctx, resource.WithFromEnv()); e == nil {
		if merged, e := resource.Merge(res, fromEnv); e == nil {
			res = merged
		}
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithResource(res),
		sdktrace.WithSpanProcessor(correlationProcessor{}),
		sdktrace.WithBatcher(scrubExporter{exp}), // secrets in framework spans' URLs and error texts masked
	)
	Install(cfg, tp)
	logsLine := startLogs(ctx, getenv, log, cfg, res)
	fmt.Fprintf(log, "flowtrace: agent on for %s: tracing %s; OTLP %s to %s%s\n", cfg.ServiceName, describeTraced(cfg), cfg.Protocol, cfg.Endpoint, logsLine)
	return nil
}

// startLogs reads FLOWTRACE_LOG_CORRELATION and OTEL_LOGS_EXPORTER (a refused value is one line
// and the default), starts the logs pipeline and wraps slog.Default() (and, with all, the log
// package's writer). It returns what the start-up line says about logs.
func startLogs(ctx context.Context, getenv func(string) string, log interface{ Write([]byte) (int, error) }, cfg Config, res *resource.Resource) string {
	mode, warning := ParseLogMode(getenv("FLOWTRACE_LOG_CORRELATION"))
	if warning != "" {
		fmt.Fprintf(log, "flowtrace: %s\n", warning)
	}
	SetLogMode(mode)
	export, warning := ParseLogsExporter(getenv("OTEL_LOGS_EXPORTER"))
	if warning != "" {
		fmt.Fprintf(log, "flowtrace: %s\n", warning)
	}
	line := "; log correlation " + mode.String()
	if export {
		if lp, err := newLogProvider(ctx, cfg.Protocol, res); err != nil {
			fmt.Fprintf(log, "flowtrace: logs are not exported: %v\n", err)
		} else {
			InstallLogs(lp)
			line += ", logs exported over OTLP"
		}
	}
	installSlogDefault()
	if mode == LogAll {
		installPlainLog()
	}
	return line
}

// Install makes tp the global provider with FlowTrace's propagators and method tracing; Start
// calls it, tests call it with their own provider.
func Install(cfg Config, tp *sdktrace.TracerProvider) {
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}, CorrelationPropagator{}))
	instrumentDefaultTransport()
	current.Store(&agent{cfg: cfg, tracer: tp.Tracer(ScopeName), provider: tp})
	siteGeneration.Add(1)
}

// CorrelationSpanProcessor is the processor that puts the correlation ID on every span, for a
// provider made by hand (tests, benchmarks).
func CorrelationSpanProcessor() sdktrace.SpanProcessor { return correlationProcessor{} }

func describeTraced(cfg Config) string {
	what := "the packages flowtrace-go instrumented ("
	if buildInclude != "" {
		what += buildInclude
	} else {
		what += "the module's own packages"
	}
	if buildExclude != "" {
		what += " except " + buildExclude
	}
	what += ")"
	if !cfg.Include.Empty() {
		what += ", of them " + cfg.Include.String()
	}
	if !cfg.Exclude.Empty() {
		what += ", not " + cfg.Exclude.String()
	}
	if glsGet == nil {
		what += " (built without flowtrace-go: no method spans)"
	}
	return what
}

// Shutdown flushes and stops the SDK (a build by flowtrace-go defers it in main.main).
func Shutdown() {
	a := current.Load()
	if a == nil || a.provider == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = a.provider.Shutdown(ctx)
	shutdownLogs(ctx)
}

var transportOnce sync.Once

func instrumentDefaultTransport() {
	transportOnce.Do(func() {
		http.DefaultTransport = NewTransport(http.DefaultTransport)
	})
}

// ServiceName is the service name the agent reports (OTEL_SERVICE_NAME, …).
func ServiceName() string {
	if a := current.Load(); a != nil {
		return a.cfg.ServiceName
	}
	cfg, _ := LoadConfig(os.Getenv)
	return cfg.ServiceName
}
