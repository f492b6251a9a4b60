package flowtrace

// agents/conformance/logs/correlation.json: every case through log/slog (with the record's context,
// and without one, from the goroutine's current call) and through the standard log package.

import (
	"bytes"
	"context"
	"encoding/json"
	"log"
	"log/slog"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/trace"
)

// LogCorrelationFile is logs/correlation.json.
type LogCorrelationFile struct {
	Setting string
	Default string
	Fields  []string
	Values  struct {
		Accepted []struct{ Value, Mode string }
		Refused  []string
	}
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
	PlainSuffix string `json:"plain_suffix"`
}

func (f *LogCorrelationFile) fill(s string) string {
	return strings.NewReplacer("{trace_id}", f.IDs.TraceID, "{span_id}", f.IDs.SpanID, "{correlation_id}", f.IDs.CorrelationID).Replace(s)
}

// caseContext is the context of a case: the contract's span (sampled or not) and correlation ID.
func caseContext(t *testing.T, f *LogCorrelationFile, inSpan, sampled, correlation bool) context.Context {
	ctx := context.Background()
	if inSpan {
		tid, err1 := trace.TraceIDFromHex(f.IDs.TraceID)
		sid, err2 := trace.SpanIDFromHex(f.IDs.SpanID)
		if err1 != nil || err2 != nil {
			t.Fatalf("ids: %v %v", err1, err2)
		}
		var flags trace.TraceFlags
		if sampled {
			flags = trace.FlagsSampled
		}
		ctx = trace.ContextWithSpanContext(ctx, trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: flags}))
	}
	if correlation {
		ctx = WithCorrelation(ctx, f.IDs.CorrelationID)
	}
	return ctx
}

func modeOf(t *testing.T, name string) LogMode {
	m := map[string]LogMode{"auto": LogAuto, "all": LogAll, "off": LogOff}
	mode, ok := m[name]
	if !ok {
		t.Fatalf("unknown mode %q", name)
	}
	return mode
}

// addedFields are the correlation fields a JSON line carries (and any other flowtrace one).
func addedFields(t *testing.T, line []byte) map[string]string {
	var rec map[string]any
	if err := json.Unmarshal(line, &rec); err != nil {
		t.Fatalf("not a JSON line: %q: %v", line, err)
	}
	out := map[string]string{}
	for k, v := range rec {
		if k == TraceIDField || k == SpanIDField || strings.HasPrefix(strings.ToLower(k), "flowtrace") {
			s, _ := v.(string)
			out[k] = s
		}
	}
	return out
}

func sameFields(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestLogCorrelationConformance(t *testing.T) {
	var f LogCorrelationFile
	loadCase(t, "logs/correlation.json", &f)
	if f.Setting != "FLOWTRACE_LOG_CORRELATION" || f.Default != "auto" || len(f.Cases) == 0 {
		t.Fatalf("unexpected file: %+v", f)
	}
	t.Run("values", func(t *testing.T) {
		for _, v := range f.Values.Accepted {
			mode, warning := ParseLogMode(v.Value)
			if warning != "" || mode != modeOf(t, v.Mode) {
				t.Errorf("%q: got %v %q, want %s", v.Value, mode, warning, v.Mode)
			}
		}
		for _, v := range f.Values.Refused {
			mode, warning := ParseLogMode(v)
			if mode != modeOf(t, f.Default) || !strings.Contains(warning, f.Setting) || strings.Contains(warning, "\n") {
				t.Errorf("%q: got %v %q, want the default and one line naming %s", v, mode, warning, f.Setting)
			}
		}
	})
	defer SetLogMode(CurrentLogMode())
	for _, c := range f.Cases {
		want := map[string]string{}
		for k, v := range c.Expected {
			want[k] = f.fill(v)
		}
		ctx := caseContext(t, &f, c.InSpan, c.Sampled, c.Correlation)
		SetLogMode(modeOf(t, c.Mode))
		switch c.Logger {
		case "structured":
			t.Run(c.Name+"/slog with the record's context", func(t *testing.T) {
				var out bytes.Buffer
				slog.New(NewSlogHandler(slog.NewJSONHandler(&out, nil))).InfoContext(ctx, "checkout", "items", 2)
				if got := addedFields(t, out.Bytes()); !sameFields(got, want) {
					t.Errorf("got %v, want %v", got, want)
				}
			})
			t.Run(c.Name+"/slog without a context, from the goroutine's current call", func(t *testing.T) {
				fakeSlot(t)
				restore := Bind(ctx)
				defer restore()
				var out bytes.Buffer
				slog.New(NewSlogHandler(slog.NewTextHandler(&out, nil))).Info("checkout")
				got := map[string]string{}
				for _, kv := range strings.Fields(out.String()) {
					if k, v, ok := strings.Cut(kv, "="); ok && (k == TraceIDField || k == SpanIDField || strings.HasPrefix(k, "flowtrace")) {
						got[k] = v
					}
				}
				if !sameFields(got, want) {
					t.Errorf("got %v, want %v (%s)", got, want, out.String())
				}
			})
		case "plain":
			t.Run(c.Name+"/log package", func(t *testing.T) {
				fakeSlot(t)
				restore := Bind(ctx)
				defer restore()
				var out bytes.Buffer
				log.New(PlainLogWriter{&out}, "", 0).Print("checkout done")
				suffix := ""
				if len(want) > 0 {
					suffix = f.fill(f.PlainSuffix)
					if len(want) != 3 {
						t.Fatalf("a plain case with some fields only: extend the test")
					}
				}
				if got := out.String(); got != "checkout done"+suffix+"\n" {
					t.Errorf("got %q, want %q", got, "checkout done"+suffix+"\n")
				}
			})
		default:
			t.Fatalf("unknown logger kind %q", c.Logger)
		}
	}
}

// slog.Default() after the agent wrapped it writes through the log package as before (no loop),
// with the fields as attributes, and under all the log package's own lines get the suffix once.
func TestSlogDefaultAndLogPackage(t *testing.T) {
	var f LogCorrelationFile
	loadCase(t, "logs/correlation.json", &f)
	oldDefault, oldOut, oldFlags := slog.Default(), log.Writer(), log.Flags()
	defer func() {
		slog.SetDefault(oldDefault)
		log.SetOutput(oldOut)
		log.SetFlags(oldFlags)
		SetLogMode(LogAuto)
	}()
	var out bytes.Buffer
	log.SetOutput(&out)
	log.SetFlags(0)
	installSlogDefault()
	installPlainLog()
	SetLogMode(LogAll)
	fakeSlot(t)
	restore := Bind(caseContext(t, &f, true, true, true))
	defer restore()
	slog.Info("from slog", "n", 1)
	log.Print("from log")
	suffix := f.fill(f.PlainSuffix)
	want := "INFO from slog n=1" + suffix + "\nfrom log" + suffix + "\n"
	if out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
}

// A refused FLOWTRACE_LOG_CORRELATION or OTEL_LOGS_EXPORTER is one line each, the default applies
// and the agent starts (unlike the tracing settings, which turn it off).
func TestRefusedLogSettingsAreOneLineEach(t *testing.T) {
	oldDefault, oldOut, oldFlags := slog.Default(), log.Writer(), log.Flags()
	defer func() {
		Shutdown()
		current.Store(nil)
		InstallLogs(nil)
		slog.SetDefault(oldDefault)
		log.SetOutput(oldOut)
		log.SetFlags(oldFlags)
		SetLogMode(LogAuto)
	}()
	SetLogMode(LogOff)
	var out bytes.Buffer
	err := start(func(k string) string {
		return map[string]string{
			"OTEL_SERVICE_NAME": "logs-settings", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1",
			"FLOWTRACE_LOG_CORRELATION": "yes", "OTEL_LOGS_EXPORTER": "console",
		}[k]
	}, &out)
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if err != nil || len(lines) != 3 ||
		lines[0] != `flowtrace: FLOWTRACE_LOG_CORRELATION must be one of auto, all, off (got "yes"): auto applies` ||
		lines[1] != `flowtrace: OTEL_LOGS_EXPORTER must be otlp or none (got "console"): otlp applies` ||
		!strings.HasPrefix(lines[2], "flowtrace: agent on for logs-settings") || !strings.HasSuffix(lines[2], "; log correlation auto, logs exported over OTLP") {
		t.Fatalf("err %v, lines:\n%s", err, out.String())
	}
	if CurrentLogMode() != LogAuto || LoggerProvider() == nil {
		t.Errorf("mode %v, provider %v", CurrentLogMode(), LoggerProvider())
	}
	if _, ok := slog.Default().Handler().(*SlogHandler); !ok {
		t.Errorf("slog.Default() not wrapped: %T", slog.Default().Handler())
	}
}
