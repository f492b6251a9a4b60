package ftzap

// agents/conformance/logs/correlation.json through zap. zap calls carry no context: the fields come
// from the goroutine's current call, which needs flowtrace-go's runtime field, so this test runs
// in a binary built by flowtrace-go (cmd/flowtrace-go's TestZapConformanceUnderFlowtraceGo runs
// `flowtrace-go test` on it); a plain `go test` says so and skips.

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/flowtrace/flowtrace/agents/go/flowtrace"
)

type correlationFile struct {
	IDs struct {
		TraceID       string `json:"trace_id"`
		SpanID        string `json:"span_id"`
		CorrelationID string `json:"correlation_id"`
	}
	Cases []struct {
		Name, Mode, Logger   string
		InSpan               bool `json:"in_span"`
		Sampled, Correlation bool
		Expected             map[string]string
	}
}

func TestLogCorrelationConformance(t *testing.T) {
	if !flowtrace.GoroutineLocalAvailable() {
		t.Skip("built without flowtrace-go: zap's fields come from the goroutine's current call (run by cmd/flowtrace-go's TestZapConformanceUnderFlowtraceGo)")
	}
	data, err := os.ReadFile(filepath.Join("..", "..", "conformance", "logs", "correlation.json"))
	if err != nil {
		t.Fatal(err)
	}
	var f correlationFile
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	fill := strings.NewReplacer("{trace_id}", f.IDs.TraceID, "{span_id}", f.IDs.SpanID, "{correlation_id}", f.IDs.CorrelationID)
	modes := map[string]flowtrace.LogMode{"auto": flowtrace.LogAuto, "all": flowtrace.LogAll, "off": flowtrace.LogOff}
	defer flowtrace.SetLogMode(flowtrace.CurrentLogMode())
	ran := 0
	for _, c := range f.Cases {
		if c.Logger != "structured" {
			continue // zap is a structured logger
		}
		ran++
		ctx := context.Background()
		if c.InSpan {
			tid, _ := trace.TraceIDFromHex(f.IDs.TraceID)
			sid, _ := trace.SpanIDFromHex(f.IDs.SpanID)
			flags := trace.TraceFlags(0)
			if c.Sampled {
				flags = trace.FlagsSampled
			}
			ctx = trace.ContextWithSpanContext(ctx, trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: flags}))
		}
		if c.Correlation {
			ctx = flowtrace.WithCorrelation(ctx, f.IDs.CorrelationID)
		}
		flowtrace.SetLogMode(modes[c.Mode])
		var out bytes.Buffer
		logger := zap.New(Core(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(&out), zap.InfoLevel)))
		restore := flowtrace.Bind(ctx)
		logger.Info("checkout", zap.Int("items", 2))
		logger.With(zap.String("user", "u1")).Debug("below the level: not written")
		restore()
		var rec map[string]any
		if err := json.Unmarshal(out.Bytes(), &rec); err != nil {
			t.Fatalf("%s: not one JSON line: %q", c.Name, out.String())
		}
		got := map[string]string{}
		for k, v := range rec {
			if k == "trace_id" || k == "span_id" || strings.HasPrefix(k, "flowtrace") {
				got[k], _ = v.(string)
			}
		}
		want := map[string]string{}
		for k, v := range c.Expected {
			want[k] = fill.Replace(v)
		}
		if len(got) != len(want) {
			t.Errorf("%s: got %v, want %v", c.Name, got, want)
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s: got %v, want %v", c.Name, got, want)
			}
		}
	}
	t.Logf("%d structured cases through zap", ran)
}
