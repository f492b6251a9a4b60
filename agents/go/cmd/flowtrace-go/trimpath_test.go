package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowtrace/flowtrace/agents/go/internal/rewrite"
)

// With `go build -trimpath` the compile step gets "-trimpath <objdir>=>;<dir>=><import path>":
// the rewritten copy records code.file.path as <import path>/<file>, as the program's stack traces
// name it; a plain build's object-folder rule leaves it absolute.
func TestCompileTrimpathReachesRecordedFile(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "cart.go")
	if err := os.WriteFile(src, []byte("package shop\n\nfunc Total() int { return 1 }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The runtime is already in the importcfg, so no nested build runs.
	cfg := filepath.Join(dir, "importcfg")
	if err := os.WriteFile(cfg, []byte("packagefile "+rewrite.RuntimePath+"=/dev/null\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ rules, want string }{
		{dir + "/b001=>;" + dir + "=>example.com/shop", `File: "example.com/shop/cart.go"`},
		{dir + "/b001=>", `File: "` + src + `"`},
	} {
		args := []string{"-o", filepath.Join(dir, "_pkg_.a"), "-trimpath", c.rules, "-p", "example.com/shop", "-importcfg", cfg, "-pack", src}
		out, err := instrument("example.com/shop", args, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		rewritten := out[len(out)-1]
		if rewritten == src {
			t.Fatal("file not rewritten")
		}
		got, err := os.ReadFile(rewritten)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(got), c.want) {
			t.Errorf("rules %q: want %s in\n%s", c.rules, c.want, got)
		}
	}
}
