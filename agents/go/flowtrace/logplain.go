package flowtrace

// FLOWTRACE_LOG_CORRELATION=all: the standard log package's lines (log.Printf, log.Println…) get
// the plain suffix " trace_id=… span_id=… flowtrace.correlation_id=…" from the goroutine's current
// span, as the other agents do for their plain output.

import (
	"bytes"
	"io"
	"log"
)

// PlainLogWriter appends the correlation suffix to each line written through it (the log package
// writes one line per Write). A line that already names the fields (slog's built-in handler
// writes them as attributes through the log package) is left as it is.
type PlainLogWriter struct{ W io.Writer }

func (p PlainLogWriter) Write(b []byte) (int, error) {
	if CurrentLogMode() != LogAll || bytes.Contains(b, []byte(" "+TraceIDField+"=")) || bytes.Contains(b, []byte(" "+CorrelationKey+"=")) {
		return p.W.Write(b)
	}
	suffix := FieldsOf(nil).Suffix()
	if suffix == "" {
		return p.W.Write(b)
	}
	line := bytes.TrimSuffix(b, []byte("\n"))
	out := make([]byte, 0, len(b)+len(suffix)+1)
	out = append(append(append(out, line...), suffix...), '\n')
	if _, err := p.W.Write(out); err != nil {
		return 0, err
	}
	return len(b), nil
}

func installPlainLog() {
	if _, ok := log.Writer().(PlainLogWriter); !ok {
		log.SetOutput(PlainLogWriter{log.Writer()})
	}
}
