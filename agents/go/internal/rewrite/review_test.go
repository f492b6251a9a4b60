package rewrite

import (
	"bytes"
	"testing"
)

// Review repro: the inserted deferred call uses the builtin recover(); a parameter or result named
// `recover` (an options flag such as `recover bool`) would shadow it, and the rewritten package would
// not compile (or would call the application's function). Such a function is left untouched.
func TestReviewRecoverNamedParameterUntouched(t *testing.T) {
	for _, src := range []string{
		"package x\n\nfunc Serve(addr string, recover bool) error { return nil }\n",
		"package x\n\nfunc Wrap(recover func() any) {}\n",
		"package x\n\nfunc Mode() (recover bool) { return }\n",
	} {
		res, err := File("/x.go", []byte(src), Options{ImportPath: "x"})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(res.Source, []byte(src)) {
			t.Errorf("function with a `recover` parameter rewritten:\n%s", res.Source)
		}
	}
}
