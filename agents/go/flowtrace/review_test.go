package flowtrace

import (
	"os"
	"runtime"
	"strings"
	"testing"
)

// Review repros (issue 17).

// A secret-named key in a map with interface keys (what YAML decoders produce) is masked like a
// string-keyed one.
func TestReviewMapAnyKeySecret(t *testing.T) {
	got := FormatValue(map[any]any{"password": "hunter2", 1: "x"}, 512, "")
	if strings.Contains(got, "hunter2") {
		t.Fatalf("secret under an interface-typed map key leaked: %s", got)
	}
}

// A huge map costs no more than the budget: no slice of all its keys.
func TestReviewHugeMapBounded(t *testing.T) {
	m := make(map[int]int, 300_000)
	for i := 0; i < 300_000; i++ {
		m[i] = i
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_ = FormatValue(m, 64, "")
	runtime.ReadMemStats(&after)
	if d := after.TotalAlloc - before.TotalAlloc; d > 1<<20 {
		t.Fatalf("rendering a 300k-entry map allocated %d bytes", d)
	}
}

type nilPtrErr struct{ msg string }

func (e *nilPtrErr) Error() string { return e.msg }

var siteTypedNil = Site{Name: "shop.typedNil", Func: "example.com/shop.typedNil", Namespace: "example.com/shop", Pkg: "example.com/shop"}

// The classic typed-nil error: the function returns normally, the caller sees a non-nil error; the
// agent must not turn it into a panic by calling Error() on a nil receiver.
func typedNil() (err error) {
	sp := Enter(&siteTypedNil)
	if sp != nil {
		defer func() { sp.Exit(recover(), err) }()
	}
	var e *nilPtrErr
	return e
}

func TestReviewTypedNilErrorDoesNotPanic(t *testing.T) {
	installForTest(t, map[string]string{})
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("instrumentation panicked on a typed-nil error: %v", r)
		}
	}()
	_ = typedNil()
}

var siteNilPanic = Site{Name: "shop.nilPanic", Func: "example.com/shop.nilPanic", Namespace: "example.com/shop", Pkg: "example.com/shop"}

// panic(nil) with GODEBUG=panicnil=1 (the default of every module whose go line is below 1.21):
// recover() returns nil, so the inserted defer stops the panic and the function returns normally.
func nilPanic() (reached bool) {
	sp := Enter(&siteNilPanic)
	if sp != nil {
		defer func() { sp.Exit(recover(), nil) }()
	}
	panic(nil)
}

// Known, not fixed (needs the rewriter to mark normal returns): run with GODEBUG=panicnil=1 to see it fail.
func TestReviewPanicNilKeepsPanicking(t *testing.T) {
	if !strings.Contains(os.Getenv("GODEBUG"), "panicnil=1") {
		t.Skip("only with GODEBUG=panicnil=1")
	}
	installForTest(t, map[string]string{})
	panicked := true
	func() {
		defer func() { _ = recover() }()
		nilPanic()
		panicked = false
	}()
	if !panicked {
		t.Fatal("panic(nil) in a traced function was swallowed by the instrumentation")
	}
}

// A field whose wire name (its json/form/yaml tag) is secret-named is masked like a field so named:
// `Pass string `json:"password"“ is what the client sent as "password".
func TestReviewTaggedSecretField(t *testing.T) {
	type login struct {
		User string
		Pass string `json:"password,omitempty"`
		Key  string `form:"api_key" yaml:"key"`
	}
	got := FormatValue(login{"ann", "hunter2", "k-123"}, 512, "")
	if strings.Contains(got, "hunter2") || strings.Contains(got, "k-123") {
		t.Fatalf("secret behind a struct tag leaked: %s", got)
	}
}
