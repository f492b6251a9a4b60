package main

// The OTLP gRPC LogsService beside the trace receiver: the log records the example services export.

import (
	"context"
	"os/exec"
	"strings"
	"sync"
	"testing"

	collectorlogs "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
)

type logReceiver struct {
	collectorlogs.UnimplementedLogsServiceServer
	mu      sync.Mutex
	records []*logspb.LogRecord
}

func (r *logReceiver) Export(_ context.Context, req *collectorlogs.ExportLogsServiceRequest) (*collectorlogs.ExportLogsServiceResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rl := range req.ResourceLogs {
		for _, sl := range rl.ScopeLogs {
			r.records = append(r.records, sl.LogRecords...)
		}
	}
	return &collectorlogs.ExportLogsServiceResponse{}, nil
}

func (r *logReceiver) snapshot() []*logspb.LogRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*logspb.LogRecord(nil), r.records...)
}

func logAttr(rec *logspb.LogRecord, key string) string {
	for _, kv := range rec.Attributes {
		if kv.Key == key {
			if sv, ok := kv.Value.Value.(*commonpb.AnyValue_StringValue); ok {
				return sv.StringValue
			}
		}
	}
	return ""
}

// ftzap's conformance cases need the goroutine-local current call, which only a build by
// flowtrace-go has: run them with `flowtrace-go test` (a plain `go test` skips them).
func TestZapConformanceUnderFlowtraceGo(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a test binary with flowtrace-go")
	}
	tool := buildTool(t)
	cmd := exec.Command(tool, "test", "-count=1", "-v", "-run", "^TestLogCorrelationConformance$", "./ftzap")
	cmd.Dir = moduleRoot(t)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestLogCorrelationConformance") || !strings.Contains(string(out), "structured cases through zap") {
		t.Fatalf("flowtrace-go test ./ftzap: %v\n%s", err, out)
	}
}
