package flowtrace

import (
	"context"
	"errors"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// The framework instrumentations write error texts (otelecho's echo.error, otelgin's gin.errors,
// otelfiber's exception event) and URLs (url.full, http.target…) as they are: a secret in them
// (an upstream call's query token in the handler's error, URL credentials) is masked at export.
func TestFrameworkSpansMaskedAtExport(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(scrubExporter{exp}))
	tracer := tp.Tracer("test")
	errText := `Get "https://api.example/x?token=s3cr3t": connection refused`
	_, server := tracer.Start(context.Background(), "GET /quote", trace.WithSpanKind(trace.SpanKindServer))
	server.SetAttributes(attribute.String("echo.error", errText), attribute.String("gin.errors", "Error #01: "+errText),
		attribute.String("http.target", "/quote?sku=1&api_key=s3cr3t"), attribute.String("http.route", "/quote"))
	server.RecordError(errors.New(errText))
	server.End()
	_, client := tracer.Start(context.Background(), "GET", trace.WithSpanKind(trace.SpanKindClient))
	client.SetAttributes(attribute.String("url.full", "https://ann:s3cr3t@api.example/x?Signature=s3cr3t&n=1"))
	client.End()

	spans := exp.GetSpans()
	if len(spans) != 2 {
		t.Fatalf("%d spans", len(spans))
	}
	var all []attribute.KeyValue
	for _, s := range spans {
		all = append(all, s.Attributes...)
		for _, e := range s.Events {
			all = append(all, e.Attributes...)
		}
	}
	for _, kv := range all {
		if strings.Contains(kv.Value.Emit(), "s3cr3t") {
			t.Errorf("%s = %q carries the secret", kv.Key, kv.Value.Emit())
		}
	}
	got := map[string]string{}
	for _, kv := range all {
		got[string(kv.Key)] = kv.Value.Emit()
	}
	if got["http.route"] != "/quote" || got["http.target"] != "/quote?sku=1&api_key=REDACTED" ||
		got["url.full"] != "https://REDACTED:REDACTED@api.example/x?Signature=REDACTED&n=1" {
		t.Errorf("attributes: %v", got)
	}
}
