package flowtrace

// The shared cases every FlowTrace agent passes (agents/conformance/*), loaded from their files.

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/propagation"
)

func loadCase(t *testing.T, name string, into any) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "conformance", name))
	if err != nil {
		t.Fatalf("conformance file %s: %v", name, err)
	}
	if err := json.Unmarshal(data, into); err != nil {
		t.Fatalf("conformance file %s: %v", name, err)
	}
}

type cardCase struct {
	Key, Type, Value, Expected string
}

type cardsFile struct {
	Mask      string
	Count     int `json:"count_per_random_shape"`
	Positives []cardCase
	Negatives []cardCase
	Random    []struct {
		Shape, Generator, Type, Key, Template string
		Seed                                  uint32
		MaxRate                               float64 `json:"max_rate"`
		First                                 []string
	}
}

// maskAs is the agent's output for one value, with its mask written as the data file writes it.
func maskAs(t *testing.T, key, typ, value, mask string) string {
	if typ == "string" {
		return strings.ReplaceAll(MaskSecretsInText(value, key), Mask, mask)
	}
	var v any
	if n, err := strconv.ParseInt(value, 10, 64); err == nil {
		v = map[string]int64{key: n}
	} else if u, err := strconv.ParseUint(value, 10, 64); err == nil {
		v = map[string]uint64{key: u}
	} else {
		t.Fatalf("int case %q is not a 64-bit integer", value)
	}
	out := FormatValue(v, 256, "")
	switch out {
	case fmt.Sprintf("{%q: %s}", key, value):
		return value
	case fmt.Sprintf("{%q: %q}", key, Mask):
		return mask
	}
	t.Fatalf("unexpected rendering %s", out)
	return ""
}

func TestConformanceCards(t *testing.T) {
	var f cardsFile
	loadCase(t, "masking/cards.json", &f)
	if len(f.Positives) == 0 || len(f.Negatives) == 0 || len(f.Random) == 0 {
		t.Fatal("cards.json has no cases")
	}
	for _, c := range f.Positives {
		if got := maskAs(t, c.Key, c.Type, c.Value, f.Mask); got != c.Expected {
			t.Errorf("positive %s %s %q: got %q want %q", c.Key, c.Type, c.Value, got, c.Expected)
		}
	}
	for _, c := range f.Negatives {
		if got := maskAs(t, c.Key, c.Type, c.Value, f.Mask); got != c.Value {
			t.Errorf("negative %s %s %q: got %q", c.Key, c.Type, c.Value, got)
		}
	}
	for _, shape := range f.Random {
		ids := randomIDs(shape.Generator, shape.Seed, 3)
		if strings.Join(ids, ",") != strings.Join(shape.First, ",") {
			t.Fatalf("%s: generator gives %v, want %v", shape.Shape, ids, shape.First)
		}
		masked := 0
		for _, id := range randomIDs(shape.Generator, shape.Seed, f.Count) {
			value := id
			if shape.Template != "" {
				value = strings.ReplaceAll(shape.Template, "{ID}", id)
			}
			if maskAs(t, shape.Key, shape.Type, value, f.Mask) != value {
				masked++
			}
		}
		if rate := float64(masked) / float64(f.Count); rate > shape.MaxRate {
			t.Errorf("%s: %.4f of random IDs masked, bound %.4f", shape.Shape, rate, shape.MaxRate)
		}
	}
}

func mulberry32(seed uint32) func() float64 {
	a := seed
	return func() float64 {
		a += 0x6D2B79F5
		t := a
		t = (t ^ t>>15) * (t | 1)
		t ^= t + (t^t>>7)*(t|61)
		return float64(t^t>>14) / 4294967296
	}
}

func randomIDs(generator string, seed uint32, count int) []string {
	next := mulberry32(seed)
	out := make([]string, 0, count)
	for range count {
		if generator == "uint64" {
			hi := uint64(math.Floor(next() * 4294967296))
			lo := uint64(math.Floor(next() * 4294967296))
			out = append(out, strconv.FormatUint(hi<<32|lo, 10))
			continue
		}
		n := 16
		if generator == "digits19" {
			n = 19
		}
		b := []byte{byte('1' + int(next()*9))}
		for i := 1; i < n; i++ {
			b = append(b, byte('0'+int(next()*10)))
		}
		out = append(out, string(b))
	}
	return out
}

func TestConformanceSecrets(t *testing.T) {
	var f struct {
		Mask       string
		SecretKeys []string `json:"secret_keys"`
		PlainKeys  []string `json:"plain_keys"`
		Text       []struct{ Key, Value, Expected string }
	}
	loadCase(t, "masking/secrets.json", &f)
	if len(f.SecretKeys) == 0 || len(f.Text) == 0 {
		t.Fatal("secrets.json has no cases")
	}
	for _, k := range f.SecretKeys {
		if !IsSecretKey(k) {
			t.Errorf("secret key %q not taken for a secret", k)
		}
	}
	for _, k := range f.PlainKeys {
		if IsSecretKey(k) {
			t.Errorf("plain key %q taken for a secret", k)
		}
	}
	for _, c := range f.Text {
		if got := strings.ReplaceAll(MaskSecretsInText(c.Value, c.Key), Mask, f.Mask); got != c.Expected {
			t.Errorf("text %q: got %q want %q", c.Value, got, c.Expected)
		}
	}
}

func TestConformanceStrings(t *testing.T) {
	var f struct {
		Mask, Ellipsis string
		Strings        []struct {
			Value    string
			MaxBytes int `json:"max_bytes"`
			Expected string
		}
	}
	loadCase(t, "rendering/strings.json", &f)
	if f.Ellipsis != ellipsis || len(f.Strings) == 0 {
		t.Fatalf("ellipsis %q, %d cases", f.Ellipsis, len(f.Strings))
	}
	for _, c := range f.Strings {
		got := strings.ReplaceAll(FormatValue(c.Value, c.MaxBytes, ""), Mask, f.Mask)
		if got != c.Expected {
			t.Errorf("string %.40q/%d: got %q want %q", c.Value, c.MaxBytes, got, c.Expected)
		}
		if len(FormatValue(c.Value, c.MaxBytes, "")) > c.MaxBytes {
			t.Errorf("string %.40q: over %d bytes", c.Value, c.MaxBytes)
		}
	}
}

func TestConformanceExceptions(t *testing.T) {
	var f struct {
		Mask      string
		MaxFrames int `json:"max_frames"`
		Messages  []struct {
			Message  string
			MaxBytes int `json:"max_bytes"`
			Expected string
		}
	}
	loadCase(t, "rendering/exceptions.json", &f)
	if f.MaxFrames != maxFrames {
		t.Fatalf("max_frames %d, agent keeps %d", f.MaxFrames, maxFrames)
	}
	for _, c := range f.Messages {
		attrs := panicAttributes(fmt.Errorf("%s", c.Message), c.MaxBytes, 1)
		msg := strings.ReplaceAll(attrs[1].Value.AsString(), Mask, f.Mask)
		if msg != c.Expected {
			t.Errorf("message %.40q: got %q want %q", c.Message, msg, c.Expected)
		}
		first, _, _ := strings.Cut(attrs[2].Value.AsString(), "\n")
		if want := "*fmt.wrapError: " + c.Expected; strings.ReplaceAll(first, Mask, f.Mask) != want && strings.ReplaceAll(first, Mask, f.Mask) != "*errors.errorString: "+c.Expected {
			t.Errorf("stacktrace starts %q", first)
		}
	}
	var deep func(n int) []string
	deep = func(n int) []string {
		if n == 0 {
			st := panicAttributes("deep", 512, 1)[2].Value.AsString()
			return strings.Split(st, "\n")
		}
		return deep(n - 1)
	}
	lines := deep(200)
	frames := 0
	for _, l := range lines {
		if strings.HasPrefix(l, "\tat ") {
			frames++
		}
	}
	if frames != maxFrames || !strings.HasPrefix(lines[len(lines)-1], "\t... ") {
		t.Errorf("%d frames, last line %q", frames, lines[len(lines)-1])
	}
}

func extractID(headers map[string]string) string {
	ctx := CorrelationPropagator{}.Extract(context.Background(), propagation.MapCarrier(headers))
	return CorrelationOf(ctx)
}

func TestConformanceCorrelation(t *testing.T) {
	var f struct {
		Accepted []string
		Trimmed  []struct{ Value, ID string }
		Refused  []string
	}
	loadCase(t, "correlation/ids.json", &f)
	for _, id := range f.Accepted {
		for _, h := range correlationHeaders {
			if got := extractID(map[string]string{h: id}); got != id {
				t.Errorf("%s %q: got %q", h, id, got)
			}
		}
	}
	for _, c := range f.Trimmed {
		if got := extractID(map[string]string{"x-request-id": c.Value}); got != c.ID {
			t.Errorf("trimmed %q: got %q", c.Value, got)
		}
	}
	for _, id := range f.Refused {
		for _, h := range correlationHeaders {
			got := extractID(map[string]string{h: id})
			if got == id || len(got) != 36 || got[14] != '4' {
				t.Errorf("%s %q: got %q, want a new UUID v4", h, id, got)
			}
		}
	}
	if got := extractID(map[string]string{"x-request-id": "bad id", "x-correlation-id": "good-1"}); got != "good-1" {
		t.Errorf("next source not tried: %q", got)
	}
}
