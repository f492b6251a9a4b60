package flowtrace

// What leaves the process in SERVER and CLIENT spans, whichever instrumentation recorded them
// (otelhttp, otelgin, otelecho, otelfiber, otelgrpc): applied to each span as the exporter
// receives it (the Rust agent's http_scrub does the same).
// - URLs (url.full, url.query, http.url, http.target): credentials `REDACTED:REDACTED`, values
//   of secret-named and signed-URL query parameters `REDACTED`, as the HTTP conventions say;
// - error texts (echo.error, gin.errors, the exception event's message): masked like a method
//   span's error (an upstream call's URL with a token in a handler's error).

import (
	"context"
	"net/url"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Signed-URL parameters the HTTP semantic conventions redact, beside the agents' secret names.
var signedURLKeys = []string{"awsaccesskeyid", "signature", "sig", "x-goog-signature"}

func secretParam(name string) bool {
	if IsSecretKey(name) {
		return true
	}
	for _, k := range signedURLKeys {
		if strings.EqualFold(k, name) {
			return true
		}
	}
	return false
}

// MaskURL is u (absolute, or a path with a query) with its credentials and the values of its
// secret-named query parameters masked.
func MaskURL(u string) string {
	rest, fragment, hasFragment := strings.Cut(u, "#")
	head, query, hasQuery := strings.Cut(rest, "?")
	if i := strings.Index(head, "://"); i >= 0 {
		start := i + 3
		end := len(head)
		if j := strings.IndexByte(head[start:], '/'); j >= 0 {
			end = start + j
		}
		if at := strings.LastIndexByte(head[start:end], '@'); at >= 0 {
			head = head[:start] + "REDACTED:REDACTED" + head[start+at:]
		}
	}
	out := head
	if hasQuery {
		out += "?" + maskQuery(query)
	}
	if hasFragment {
		out += "#" + fragment
	}
	return out
}

func maskQuery(query string) string {
	pairs := strings.Split(query, "&")
	for i, pair := range pairs {
		k, _, hasValue := strings.Cut(pair, "=")
		name, err := url.QueryUnescape(k)
		if err != nil {
			name = k
		}
		if hasValue && secretParam(name) {
			pairs[i] = k + "=REDACTED"
		}
	}
	return strings.Join(pairs, "&")
}

func scrubAttr(kv attribute.KeyValue) (attribute.KeyValue, bool) {
	if kv.Value.Type() != attribute.STRING {
		return kv, false
	}
	v := kv.Value.AsString()
	var masked string
	switch kv.Key {
	case "url.full", "http.url", "http.target":
		masked = MaskURL(v)
	case "url.query":
		masked = maskQuery(v)
	case "echo.error", "gin.errors", "exception.message":
		masked = MaskSecretsInText(v, "")
	default:
		return kv, false
	}
	return attribute.String(string(kv.Key), masked), masked != v
}

// scrubAttrs: attrs masked, or attrs itself when nothing changed (no copy on the common path).
func scrubAttrs(attrs []attribute.KeyValue) ([]attribute.KeyValue, bool) {
	var out []attribute.KeyValue
	for i, kv := range attrs {
		if m, changed := scrubAttr(kv); changed {
			if out == nil {
				out = append([]attribute.KeyValue(nil), attrs...)
			}
			out[i] = m
		}
	}
	if out == nil {
		return attrs, false
	}
	return out, true
}

// scrubbedSpan is a span with masked attributes and events.
type scrubbedSpan struct {
	sdktrace.ReadOnlySpan
	attrs  []attribute.KeyValue
	events []sdktrace.Event
}

func (s scrubbedSpan) Attributes() []attribute.KeyValue { return s.attrs }
func (s scrubbedSpan) Events() []sdktrace.Event         { return s.events }

func scrubSpan(s sdktrace.ReadOnlySpan) sdktrace.ReadOnlySpan {
	if k := s.SpanKind(); k != trace.SpanKindServer && k != trace.SpanKindClient {
		return s
	}
	attrs, changed := scrubAttrs(s.Attributes())
	events := s.Events()
	var copied bool
	for i, e := range events {
		if ea, c := scrubAttrs(e.Attributes); c {
			if !copied {
				events = append([]sdktrace.Event(nil), events...)
				copied = true
			}
			events[i].Attributes = ea
		}
	}
	if !changed && !copied {
		return s
	}
	return scrubbedSpan{ReadOnlySpan: s, attrs: attrs, events: events}
}

// scrubExporter is the exporter with scrubSpan applied to each span it is given.
type scrubExporter struct{ sdktrace.SpanExporter }

func (e scrubExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	out := make([]sdktrace.ReadOnlySpan, len(spans))
	for i, s := range spans {
		out[i] = scrubSpan(s)
	}
	return e.SpanExporter.ExportSpans(ctx, out)
}
