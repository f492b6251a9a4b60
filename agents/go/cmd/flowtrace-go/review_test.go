package main

import (
	"github.com/flowtrace/flowtrace/agents/go/internal/rewrite"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Review repro: a module whose path has no dot (`go mod init orders`, the common case) has its
// packages instrumented like any other local module; only what the go command marks -std is the
// standard library.
func TestReviewDotlessModuleSelected(t *testing.T) {
	t.Setenv("GOMODCACHE", filepath.Join(t.TempDir(), "mod"))
	dir := filepath.Join(t.TempDir(), "orders", "cart")
	t.Setenv("FLOWTRACE_INCLUDE", "")
	t.Setenv("FLOWTRACE_EXCLUDE", "")
	if !selectedWith("orders/cart", dir, false) {
		t.Errorf("default include: local package orders/cart not selected")
	}
	if selectedWith("fmt", filepath.Join(os.Getenv("GOROOT"), "src", "fmt"), true) {
		t.Errorf("standard library selected")
	}
	t.Setenv("FLOWTRACE_INCLUDE", "orders")
	if !selectedWith("orders/cart", dir, false) {
		t.Errorf("FLOWTRACE_INCLUDE=orders: orders/cart not selected")
	}
	if selectedWith("net/http", "/usr/local/go/src/net/http", true) {
		t.Errorf("FLOWTRACE_INCLUDE=orders: net/http selected")
	}
}

// Review repro: at link time, a dot-less module's package that alone imports a bridge (gin) is
// read, or the link lacks the bridge's dependency closure.
func TestReviewLinkScansDotlessModulePackages(t *testing.T) {
	dir := t.TempDir()
	archive := filepath.Join(dir, "web.a")
	if err := os.WriteFile(archive, []byte("!<arch>\n... "+rewriteGinPath+" ..."), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "importcfg")
	if err := os.WriteFile(cfg, []byte("packagefile orders/web="+archive+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	found := linkedSynthetic([]string{"-importcfg", cfg, filepath.Join(dir, "main.a")})
	if len(found) != 1 || found[0] != rewriteGinPath {
		t.Fatalf("linked synthetic packages: %v", found)
	}
}

var rewriteGinPath = rewrite.GinPath

// Review repro: a package the agent's runtime depends on is never rewritten, whatever
// FLOWTRACE_INCLUDE says (FLOWTRACE_INCLUDE=/./ or github.com/): its compile would need the runtime,
// whose nested build compiles it again, until "nested builds too deep". The `never` list is checked
// against the runtime's real dependencies, so a new OpenTelemetry dependency cannot slip through.
func TestReviewRuntimeDependenciesNeverSelected(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", "../../flowtrace").Output()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("FLOWTRACE_INCLUDE", "/./")
	t.Setenv("FLOWTRACE_EXCLUDE", "")
	for _, p := range strings.Fields(string(out)) {
		if selectedWith(p, "/anywhere", false) {
			t.Errorf("%s (a dependency of the agent's runtime) is selected by FLOWTRACE_INCLUDE=/./", p)
		}
	}
}
