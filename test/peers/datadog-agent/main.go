// Command datadog-agent is a test peer for FlowTrace: the Datadog Agent's own trace intake
// (the trace-agent HTTP receiver from github.com/DataDog/datadog-agent/pkg/trace/api, the
// code behind the agent's port-8126 API: PUT /v0.4/traces msgpack, /v0.5/traces, /v0.6/stats,
// /info, ...) started on a chosen address. Instead of sampling, processing and forwarding to
// Datadog, it writes every payload that the receiver decoded to a file, one JSON object per
// line, so that tests can check what a real agent understood.
//
// Line format:
//
//	{"kind":"traces","endpoint":"v0.4","lang":"nodejs",...,"payload":<pb.TracerPayload as protojson>}
//	{"kind":"stats","lang":...,"payload":<pb.ClientStatsPayload as protojson>}
//
// protojson writes 64-bit integers (trace_id, span_id, parent_id, start, duration) as decimal
// strings, so JavaScript readers lose no precision. Field names are the proto names
// (traceID, spanID, parentID, start, duration, meta, metrics, ...; languageName, chunks, ...).
//
// By default the agent feature "disable-convert-traces" is set, so v0.4 payloads go through
// the agent's long-standing v0.4 decoder into pb.TracerPayload; -features "" selects the newer
// internal v1 conversion, whose payloads are written with kind "traces_v1".
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	pb "github.com/DataDog/datadog-agent/pkg/proto/pbgo/trace"
	"github.com/DataDog/datadog-agent/pkg/trace/api"
	"github.com/DataDog/datadog-agent/pkg/trace/config"
	tracelog "github.com/DataDog/datadog-agent/pkg/trace/log"
	"github.com/DataDog/datadog-agent/pkg/trace/sampler"
	"github.com/DataDog/datadog-agent/pkg/trace/telemetry"
	"github.com/DataDog/datadog-agent/pkg/trace/timing"
	"github.com/DataDog/datadog-go/v5/statsd"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

type sink struct {
	mu sync.Mutex
	f  *os.File
}

var pj = protojson.MarshalOptions{UseProtoNames: true}

func (s *sink) write(head map[string]any, msg proto.Message) {
	body, err := pj.Marshal(msg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "datadog-agent: marshal: %v\n", err)
		return
	}
	head["received_at"] = time.Now().UTC().Format(time.RFC3339Nano)
	head["payload"] = json.RawMessage(body)
	line, err := json.Marshal(head)
	if err != nil {
		fmt.Fprintf(os.Stderr, "datadog-agent: marshal: %v\n", err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// One write per line: a reader never sees half a line.
	if _, err := s.f.Write(append(line, '\n')); err != nil {
		fmt.Fprintf(os.Stderr, "datadog-agent: write: %v\n", err)
	}
}

// statsSink implements api.StatsProcessor.
type statsSink struct{ s *sink }

func (p statsSink) ProcessStats(_ context.Context, in *pb.ClientStatsPayload, lang, tracerVersion, containerID, obfuscationVersion string) error {
	p.s.write(map[string]any{
		"kind": "stats", "lang": lang, "tracer_version": tracerVersion,
		"container_id": containerID, "obfuscation_version": obfuscationVersion,
	}, in)
	return nil
}

// stderrLogger implements the trace-agent's log.Logger on stderr.
type stderrLogger struct{ debug bool }

func (l stderrLogger) out(level, msg string) {
	fmt.Fprintf(os.Stderr, "%s datadog-agent %s: %s\n", time.Now().UTC().Format(time.RFC3339Nano), level, msg)
}
func (l stderrLogger) Trace(v ...interface{})        {}
func (l stderrLogger) Tracef(string, ...interface{}) {}
func (l stderrLogger) Debug(v ...interface{})        { l.Debugf("%s", fmt.Sprint(v...)) }
func (l stderrLogger) Debugf(f string, p ...interface{}) {
	if l.debug {
		l.out("DEBUG", fmt.Sprintf(f, p...))
	}
}
func (l stderrLogger) Info(v ...interface{})            { l.out("INFO", fmt.Sprint(v...)) }
func (l stderrLogger) Infof(f string, p ...interface{}) { l.out("INFO", fmt.Sprintf(f, p...)) }
func (l stderrLogger) Warn(v ...interface{}) error      { l.out("WARN", fmt.Sprint(v...)); return nil }
func (l stderrLogger) Warnf(f string, p ...interface{}) error {
	l.out("WARN", fmt.Sprintf(f, p...))
	return nil
}
func (l stderrLogger) Error(v ...interface{}) error { l.out("ERROR", fmt.Sprint(v...)); return nil }
func (l stderrLogger) Errorf(f string, p ...interface{}) error {
	l.out("ERROR", fmt.Sprintf(f, p...))
	return nil
}
func (l stderrLogger) Critical(v ...interface{}) error {
	l.out("CRITICAL", fmt.Sprint(v...))
	return nil
}
func (l stderrLogger) Criticalf(f string, p ...interface{}) error {
	l.out("CRITICAL", fmt.Sprintf(f, p...))
	return nil
}
func (l stderrLogger) Flush() {}

func main() {
	addr := flag.String("addr", "127.0.0.1:8126", "host:port of the trace intake (the agent's apm receiver)")
	out := flag.String("out", "", "file that decoded payloads are appended to, one JSON object per line (required)")
	features := flag.String("features", "disable-convert-traces", "comma-separated trace-agent features (DD_APM_FEATURES)")
	debug := flag.Bool("debug", false, "log at debug level")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "datadog-agent: -out is required")
		os.Exit(2)
	}
	host, portStr, err := net.SplitHostPort(*addr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "datadog-agent: bad -addr: %v\n", err)
		os.Exit(2)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port <= 0 {
		fmt.Fprintf(os.Stderr, "datadog-agent: bad port in -addr: %q\n", portStr)
		os.Exit(2)
	}
	f, err := os.OpenFile(*out, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		fmt.Fprintf(os.Stderr, "datadog-agent: %v\n", err)
		os.Exit(1)
	}
	defer f.Close()
	s := &sink{f: f}

	tracelog.SetLogger(stderrLogger{debug: *debug})

	conf := config.New()
	conf.ReceiverHost = host
	conf.ReceiverPort = port
	// The agent's own defaults where config.New() leaves zero values that its setup fills in.
	conf.DecoderTimeout = 1000 // ms (apm_config.decoder_timeout)
	conf.MaxConnections = 1000 // apm_config.max_connections (0 would mean 1)
	conf.AgentVersion = "flowtrace-test-peer"
	conf.Hostname = "flowtrace-test-peer"
	for _, feat := range strings.Split(*features, ",") {
		if feat = strings.TrimSpace(feat); feat != "" {
			conf.Features[feat] = struct{}{}
		}
	}

	outCh := make(chan *api.Payload, 1000)
	outV1 := make(chan *api.PayloadV1, 1000)
	statsdClient := &statsd.NoOpClient{}
	recv := api.NewHTTPReceiver(conf, sampler.NewDynamicConfig(), outCh, outV1, statsSink{s}, telemetry.NewNoopCollector(), statsdClient, &timing.NoopReporter{})

	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for p := range outCh {
			s.write(map[string]any{
				"kind": "traces", "endpoint": p.Source.EndpointVersion,
				"lang": p.Source.Lang, "lang_version": p.Source.LangVersion, "tracer_version": p.Source.TracerVersion,
				"client_computed_top_level": p.ClientComputedTopLevel, "client_computed_stats": p.ClientComputedStats,
				"client_dropped_p0s": p.ClientDroppedP0s, "container_tags": p.ContainerTags, "process_tags": p.ProcessTags,
			}, p.TracerPayload)
		}
	}()
	go func() {
		defer wg.Done()
		for p := range outV1 {
			s.write(map[string]any{
				"kind": "traces_v1", "endpoint": p.Source.EndpointVersion,
				"lang": p.Source.Lang, "lang_version": p.Source.LangVersion, "tracer_version": p.Source.TracerVersion,
				"client_computed_top_level": p.ClientComputedTopLevel, "client_computed_stats": p.ClientComputedStats,
				"client_dropped_p0s": p.ClientDroppedP0s, "container_tags": p.ContainerTags, "process_tags": p.ProcessTags,
			}, p.TracerPayload.ToProto())
		}
	}()

	recv.Start()
	// Start() binds synchronously and exits the process if it cannot.
	fmt.Fprintf(os.Stderr, "datadog-agent: ready: trace intake on http://%s, writing to %s\n", net.JoinHostPort(host, portStr), *out)

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	sig := <-sigs
	fmt.Fprintf(os.Stderr, "datadog-agent: %v: stopping\n", sig)
	_ = recv.Stop()
	close(outCh)
	close(outV1)
	wg.Wait()
	_ = f.Sync()
}
