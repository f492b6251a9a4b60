package main

// End to end: flowtrace-go builds examples/gin-service (no tracing code of its own); its spans
// reach an OTLP gRPC receiver in this test with the method spans nested under the gin server span
// (through a function without context and through goroutines), the correlation ID on every span and
// on the downstream call, and secrets masked.

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	collectorlogs "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
)

type receiver struct {
	collectortrace.UnimplementedTraceServiceServer
	mu    sync.Mutex
	spans []*tracepb.Span
	logs  logReceiver // the same server's LogsService
}

func (r *receiver) Export(_ context.Context, req *collectortrace.ExportTraceServiceRequest) (*collectortrace.ExportTraceServiceResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rs := range req.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			r.spans = append(r.spans, ss.Spans...)
		}
	}
	return &collectortrace.ExportTraceServiceResponse{}, nil
}

func (r *receiver) snapshot() []*tracepb.Span {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*tracepb.Span(nil), r.spans...)
}

func attr(s *tracepb.Span, key string) string {
	for _, kv := range s.Attributes {
		if kv.Key == key {
			if sv, ok := kv.Value.Value.(*commonpb.AnyValue_StringValue); ok {
				return sv.StringValue
			}
			return fmt.Sprint(kv.Value.Value)
		}
	}
	return ""
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func moduleRoot(t *testing.T) string {
	dir, _ := filepath.Abs(filepath.Join("..", ".."))
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
		t.Fatal(err)
	}
	return dir
}

// buildExample builds flowtrace-go, then the example with it.
func buildExample(t *testing.T) string { return buildExampleNamed(t, "gin-service") }

// waitHealthy polls base/health until the service answers; past deadline the test fails with
// the service's stderr.
func waitHealthy(t *testing.T, base string, deadline time.Time, stderr *syncBuffer) {
	t.Helper()
	for {
		resp, err := http.Get(base + "/health")
		if err == nil {
			resp.Body.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not start: %v\n%s", base, err, stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// buildTool builds flowtrace-go into a temp dir of the test and returns its path.
func buildTool(t *testing.T) string {
	t.Helper()
	tool := filepath.Join(t.TempDir(), "flowtrace-go")
	build := exec.Command("go", "build", "-o", tool, "./cmd/flowtrace-go")
	build.Dir = moduleRoot(t)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build flowtrace-go: %v\n%s", err, out)
	}
	return tool
}

func buildExampleNamed(t *testing.T, name string) string {
	t.Helper()
	root := moduleRoot(t)
	tool := buildTool(t)
	service := filepath.Join(filepath.Dir(tool), name)
	cmd := exec.Command(tool, "build", "-o", service, "./examples/"+name)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("flowtrace-go build: %v\n%s", err, out)
	}
	return service
}

// syncBuffer is a service's stderr, written by exec's copying goroutine while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startExample starts an example service with env added to the test's environment; it is killed
// when the test ends. Returns its stderr.
func startExample(t *testing.T, bin string, env []string, args ...string) *syncBuffer {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return stderr
}

func TestEndToEndGin(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program")
	}
	service := buildExample(t)

	recv, addr := startReceiver(t)

	var downstreamHeaders http.Header
	var dmu sync.Mutex
	downstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		dmu.Lock()
		downstreamHeaders = r.Header.Clone()
		dmu.Unlock()
		_, _ = io.WriteString(w, "42")
	}))
	defer downstream.Close()

	port := freePort(t)
	stderr := startExample(t, service, []string{
		"OTEL_EXPORTER_OTLP_ENDPOINT=http://" + addr,
		"OTEL_SERVICE_NAME=gin-e2e",
		"OTEL_BSP_SCHEDULE_DELAY=100",
		"FLOWTRACE_CAPTURE_ARGS=true",
		"FLOWTRACE_CAPTURE_RETURN=true",
		"FLOWTRACE_LOG_CORRELATION=all", // the log package's plain lines too
		"OTEL_BLRP_SCHEDULE_DELAY=100",
		"DOWNSTREAM_URL=" + downstream.URL + "/price",
	}, "-port", fmt.Sprint(port))

	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(30 * time.Second)
	waitHealthy(t, base, deadline, stderr)
	req, _ := http.NewRequest("GET", base+"/checkout", nil)
	req.Header.Set("x-request-id", "req-e2e-1")
	req.Header.Set("x-card-number", "4111111111111111")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"total":65`) {
		t.Fatalf("checkout answered %d %s", resp.StatusCode, body)
	}
	if resp, err := http.Get(base + "/panic"); err == nil {
		resp.Body.Close()
	}

	want := []string{"GET /checkout", "Checkout.Handle", "Checkout.Total", "main.linePrice", "main.applyDiscount", "Checkout.Downstream", "main.Explode"}
	var spans []*tracepb.Span
	byName := map[string][]*tracepb.Span{}
	for {
		spans = recv.snapshot()
		byName = map[string][]*tracepb.Span{}
		for _, s := range spans {
			byName[s.Name] = append(byName[s.Name], s)
		}
		complete := len(byName["main.linePrice"]) == 2
		for _, n := range want {
			complete = complete && len(byName[n]) > 0
		}
		if complete && clientSpan(spans) != nil {
			break
		}
		if time.Now().After(deadline) {
			var names []string
			for _, s := range spans {
				names = append(names, s.Name)
			}
			t.Fatalf("spans missing; got %v\nservice stderr:\n%s", names, stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	one := func(name string) *tracepb.Span { return byName[name][0] }
	server, handle, total, downstreamSpan := one("GET /checkout"), one("Checkout.Handle"), one("Checkout.Total"), one("Checkout.Downstream")
	if server.Kind != tracepb.Span_SPAN_KIND_SERVER || handle.Kind != tracepb.Span_SPAN_KIND_INTERNAL {
		t.Errorf("kinds: server %v, handle %v", server.Kind, handle.Kind)
	}
	parentOf := func(child, parent *tracepb.Span) {
		t.Helper()
		if string(child.ParentSpanId) != string(parent.SpanId) || string(child.TraceId) != string(server.TraceId) {
			t.Errorf("%s is not a child of %s", child.Name, parent.Name)
		}
	}
	parentOf(handle, server)
	parentOf(total, handle)                    // no context passed: found through the goroutine
	parentOf(one("main.applyDiscount"), total) // two calls below the handler, no context
	for _, lp := range byName["main.linePrice"] {
		parentOf(lp, total) // started in goroutines inside Total
	}
	parentOf(downstreamSpan, handle)
	parentOf(clientSpan(spans), downstreamSpan) // http.Get without a context

	for _, s := range spans {
		if string(s.TraceId) != string(server.TraceId) {
			continue
		}
		if got := attr(s, "flowtrace.correlation_id"); got != "req-e2e-1" {
			t.Errorf("%s: correlation ID %q", s.Name, got)
		}
	}
	if got := attr(total, "flowtrace.args.1"); got != "[REDACTED]" {
		t.Errorf("secret argument captured as %s", got)
	}
	if got := attr(total, "flowtrace.args.0"); got != "[3, 4]" {
		t.Errorf("args.0 = %s", got)
	}
	if got := attr(total, "flowtrace.return"); got != "[65, nil]" {
		t.Errorf("return = %s", got)
	}
	if attr(total, "code.function.name") != "github.com/flowtrace/flowtrace/agents/go/examples/gin-service.Checkout.Total" ||
		!strings.HasSuffix(attr(total, "code.file.path"), "examples/gin-service/checkout.go") || attr(total, "code.line.number") == "" {
		t.Errorf("code attributes: %v", total.Attributes)
	}
	explode := one("main.Explode")
	if explode.Status == nil || explode.Status.Code != tracepb.Status_STATUS_CODE_ERROR || len(explode.Events) == 0 ||
		!strings.Contains(attr(&tracepb.Span{Attributes: explode.Events[0].Attributes}, "exception.stacktrace"), "gin-service/main.go:") {
		t.Errorf("panic not recorded: %v %v", explode.Status, explode.Events)
	}

	dmu.Lock()
	h := downstreamHeaders
	dmu.Unlock()
	if h.Get("x-request-id") != "req-e2e-1" || !strings.Contains(h.Get("baggage"), "flowtrace.correlation_id=req-e2e-1") ||
		!strings.Contains(h.Get("traceparent"), hex.EncodeToString(server.TraceId)) {
		t.Errorf("downstream headers: %v", h)
	}
	if !strings.Contains(stderr.String(), "flowtrace: agent on for gin-e2e") {
		t.Errorf("no start-up line:\n%s", stderr.String())
	}
	if !strings.Contains(stderr.String(), "gin-service/main.go:") {
		t.Errorf("the panic's trace does not name the original file:\n%s", stderr.String())
	}
	checkLogCorrelation(t, recv, stderr, deadline, hex.EncodeToString(server.TraceId), hex.EncodeToString(handle.SpanId))
}

// checkLogCorrelation: the lines Checkout.Handle logged through slog.Default(), a zap logger and
// the log package carry the handler span's IDs and the request's correlation ID (the line logged
// outside any request none), and the slog and zap records reached the OTLP receiver with them.
func checkLogCorrelation(t *testing.T, recv *receiver, stderr *syncBuffer, deadline time.Time, traceID, spanID string) {
	t.Helper()
	suffix := " trace_id=" + traceID + " span_id=" + spanID + " flowtrace.correlation_id=req-e2e-1"
	var slogLine, plainLine, zapLine, startLine string
	for _, line := range strings.Split(stderr.String(), "\n") {
		switch {
		case strings.Contains(line, "INFO checkout priced"):
			slogLine = line
		case strings.Contains(line, "checkout priced: 65"):
			plainLine = line
		case strings.HasPrefix(line, "{") && strings.Contains(line, `"checkout priced"`):
			zapLine = line
		case strings.Contains(line, "gin-service listening on"):
			startLine = line
		}
	}
	if !strings.HasSuffix(slogLine, "INFO checkout priced total=65"+suffix) {
		t.Errorf("slog line %q, want it to end with the fields once:%s", slogLine, suffix)
	}
	if !strings.HasSuffix(plainLine, "checkout priced: 65"+suffix) {
		t.Errorf("log package line %q, want the suffix%s", plainLine, suffix)
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(zapLine), &rec); err != nil || rec["trace_id"] != traceID || rec["span_id"] != spanID ||
		rec["flowtrace.correlation_id"] != "req-e2e-1" || rec["total"] != float64(65) {
		t.Errorf("zap line %q (%v)", zapLine, err)
	}
	if startLine == "" || strings.Contains(startLine, "trace_id") || strings.Contains(startLine, "flowtrace.") {
		t.Errorf("the line logged outside any request: %q", startLine)
	}
	t.Logf("log lines of the request:\n%s\n%s\n%s", slogLine, zapLine, plainLine)
	for {
		var found []string
		for _, r := range recv.logs.snapshot() {
			if r.Body.GetStringValue() == "checkout priced" {
				if hex.EncodeToString(r.TraceId) != traceID || hex.EncodeToString(r.SpanId) != spanID || logAttr(r, "flowtrace.correlation_id") != "req-e2e-1" {
					t.Fatalf("exported record without the request's IDs: %v", r)
				}
				found = append(found, r.String())
			}
		}
		if len(found) == 2 { // slog's and zap's
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("OTLP log records: got %d of 2: %v\nservice stderr:\n%s", len(found), found, stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// startReceiver is an OTLP gRPC trace and logs receiver on a free loopback port.
func startReceiver(t *testing.T) (*receiver, string) {
	recv := &receiver{}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	collectortrace.RegisterTraceServiceServer(srv, recv)
	collectorlogs.RegisterLogsServiceServer(srv, &recv.logs)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return recv, lis.Addr().String()
}

func TestEndToEndGRPC(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program")
	}
	service := buildExampleNamed(t, "grpc-service")
	recv, addr := startReceiver(t)
	port := freePort(t)
	stderr := startExample(t, service, []string{"OTEL_EXPORTER_OTLP_ENDPOINT=http://" + addr, "OTEL_SERVICE_NAME=grpc-e2e", "OTEL_BSP_SCHEDULE_DELAY=100"}, "-port", fmt.Sprint(port))

	conn, err := grpc.NewClient(fmt.Sprintf("127.0.0.1:%d", port), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx := metadata.AppendToOutgoingContext(context.Background(), "x-request-id", "req-grpc-1")
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: "orders"})
		if err == nil {
			if resp.Status != healthpb.HealthCheckResponse_SERVING {
				t.Fatalf("status %v", resp.Status)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("service did not answer: %v\n%s", err, stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	var server, check, lookup *tracepb.Span
	for server == nil || check == nil || lookup == nil {
		if time.Now().After(deadline) {
			t.Fatalf("spans missing (server %v, check %v, lookup %v)\n%s", server != nil, check != nil, lookup != nil, stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
		for _, s := range recv.snapshot() {
			switch {
			case s.Kind == tracepb.Span_SPAN_KIND_SERVER:
				server = s
			case s.Name == "health.Check":
				check = s
			case s.Name == "main.lookup":
				lookup = s
			}
		}
	}
	if string(check.ParentSpanId) != string(server.SpanId) || string(lookup.ParentSpanId) != string(check.SpanId) {
		t.Errorf("nesting: server %x, check parent %x id %x, lookup parent %x", server.SpanId, check.ParentSpanId, check.SpanId, lookup.ParentSpanId)
	}
	for _, s := range []*tracepb.Span{server, check, lookup} {
		if got := attr(s, "flowtrace.correlation_id"); got != "req-grpc-1" {
			t.Errorf("%s: correlation ID %q", s.Name, got)
		}
	}
}

func clientSpan(spans []*tracepb.Span) *tracepb.Span {
	for _, s := range spans {
		if s.Kind == tracepb.Span_SPAN_KIND_CLIENT {
			return s
		}
	}
	return nil
}

// examples/frameworks-service serves the same shop with echo and with fiber, with no tracing code:
// flowtrace-go inserts otelecho and otelfiber (and the goroutine bridges), so for each framework
// the server span → the handler → Shop.Quote (no context) → main.applyTax (no context) and two
// main.linePrice spans (goroutines started inside Quote), all with the request's x-request-id.
func TestEndToEndEchoFiber(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program")
	}
	service := buildExampleNamed(t, "frameworks-service")
	recv, addr := startReceiver(t)
	ports := map[string]int{"echo": freePort(t), "fiber": freePort(t)}
	stderr := startExample(t, service, []string{"OTEL_EXPORTER_OTLP_ENDPOINT=http://" + addr, "OTEL_SERVICE_NAME=frameworks-e2e", "OTEL_BSP_SCHEDULE_DELAY=100"},
		"-echo-port", fmt.Sprint(ports["echo"]), "-fiber-port", fmt.Sprint(ports["fiber"]))

	deadline := time.Now().Add(30 * time.Second)
	handlers := map[string]string{"echo": "Shop.EchoQuote", "fiber": "Shop.FiberQuote"}
	for fw, port := range ports {
		base := fmt.Sprintf("http://127.0.0.1:%d", port)
		waitHealthy(t, base, deadline, stderr)
		req, _ := http.NewRequest("GET", base+"/quote", nil)
		req.Header.Set("x-request-id", "req-"+fw+"-1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), `"total":77`) {
			t.Fatalf("%s /quote answered %d %s", fw, resp.StatusCode, body)
		}
	}

	// The spans of one request: its trace, found through the server span carrying its ID.
	requestSpans := func(spans []*tracepb.Span, id string) (*tracepb.Span, map[string][]*tracepb.Span, []*tracepb.Span) {
		var server *tracepb.Span
		for _, s := range spans {
			if s.Kind == tracepb.Span_SPAN_KIND_SERVER && attr(s, "flowtrace.correlation_id") == id {
				server = s
			}
		}
		byName := map[string][]*tracepb.Span{}
		var inTrace []*tracepb.Span
		for _, s := range spans {
			if server != nil && string(s.TraceId) == string(server.TraceId) {
				byName[s.Name] = append(byName[s.Name], s)
				inTrace = append(inTrace, s)
			}
		}
		return server, byName, inTrace
	}
	for fw, handlerName := range handlers {
		id := "req-" + fw + "-1"
		var server *tracepb.Span
		var byName map[string][]*tracepb.Span
		var inTrace []*tracepb.Span
		for {
			server, byName, inTrace = requestSpans(recv.snapshot(), id)
			if server != nil && len(byName[handlerName]) == 1 && len(byName["Shop.Quote"]) == 1 &&
				len(byName["main.applyTax"]) == 1 && len(byName["main.linePrice"]) == 2 {
				break
			}
			if time.Now().After(deadline) {
				var names []string
				for _, s := range recv.snapshot() {
					names = append(names, fmt.Sprintf("%s(%s)", s.Name, attr(s, "flowtrace.correlation_id")))
				}
				t.Fatalf("%s: spans missing; got %v\nservice stderr:\n%s", fw, names, stderr.String())
			}
			time.Sleep(100 * time.Millisecond)
		}
		if server.Name != "GET /quote" {
			t.Errorf("%s: server span named %q", fw, server.Name)
		}
		parentOf := func(child, parent *tracepb.Span) {
			t.Helper()
			if string(child.ParentSpanId) != string(parent.SpanId) {
				t.Errorf("%s: %s is not a child of %s", fw, child.Name, parent.Name)
			}
		}
		handler, quote := byName[handlerName][0], byName["Shop.Quote"][0]
		parentOf(handler, server)
		parentOf(quote, handler)                    // no context passed
		parentOf(byName["main.applyTax"][0], quote) // two calls below the handler, no context
		for _, lp := range byName["main.linePrice"] {
			parentOf(lp, quote) // started in goroutines inside Quote
		}
		if len(inTrace) != 6 {
			t.Errorf("%s: %d spans in the request's trace, want 6", fw, len(inTrace))
		}
		for _, s := range inTrace {
			if got := attr(s, "flowtrace.correlation_id"); got != id {
				t.Errorf("%s: %s has correlation ID %q, want %q", fw, s.Name, got, id)
			}
		}
	}
}
