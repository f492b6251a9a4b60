package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Review repro: the agent never breaks a build. A package whose rewrite fails, or whose rewritten
// code does not compile (forced through FLOWTRACE_GO_FAULT, a test hook), is compiled untraced with
// one warning line; a genuine compile error is reported as the plain compiler reports it.
func TestReviewFailedRewriteCompilesUntraced(t *testing.T) {
	if testing.Short() {
		t.Skip("builds programs")
	}
	root := moduleRoot(t)
	tool := buildTool(t)
	bin := filepath.Dir(tool)
	// Inside the module (so the agent resolves), with a fresh constant so nothing is cached.
	dir, err := os.MkdirTemp(filepath.Join(root, "examples"), "faulttest")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	pkg := "./examples/" + filepath.Base(dir)
	write := func(body string) {
		src := fmt.Sprintf("package main\n\nimport \"fmt\"\n\nconst nonce = %d\n\nfunc greet() string { return \"hello\" }\n\nfunc main() { fmt.Println(greet(), nonce > 0) }\n%s", time.Now().UnixNano(), body)
		if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	goBuild := func(fault string) (string, error) {
		cmd := exec.Command(tool, "build", "-o", filepath.Join(bin, "prog"), pkg)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "FLOWTRACE_GO_FAULT="+fault)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	for _, fault := range []string{"rewrite:main", "compile:main"} {
		write("")
		out, err := goBuild(fault)
		if err != nil {
			t.Fatalf("%s: build failed: %v\n%s", fault, err, out)
		}
		if n := strings.Count(out, "flowtrace-go: main compiled untraced: "); n != 1 {
			t.Errorf("%s: want one warning line, got:\n%s", fault, out)
		}
		got, err := exec.Command(filepath.Join(bin, "prog")).Output()
		if err != nil || strings.TrimSpace(string(got)) != "hello true" {
			t.Errorf("%s: program: %v %q", fault, err, got)
		}
	}
	// A genuine error of the user's code: the plain compiler's message, on the user's file.
	write("func broken() int { return \"x\" }\n")
	out, err := goBuild("")
	if err == nil {
		t.Fatalf("a type error built:\n%s", out)
	}
	if !strings.Contains(out, "main.go:10:") || strings.Contains(out, "flowtrace-go") || strings.Contains(out, os.TempDir()+"/flowtrace-go-") {
		t.Errorf("compile error not as the plain compiler reports it:\n%s", out)
	}
}
