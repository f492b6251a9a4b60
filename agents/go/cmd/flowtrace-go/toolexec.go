package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"go/parser"
	"go/token"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"github.com/flowtrace/flowtrace/agents/go/flowtrace"
	"github.com/flowtrace/flowtrace/agents/go/internal/rewrite"
)

// Packages of this module that are never rewritten (the agent itself), and the dependencies of
// the runtime package (instrumenting them would make an import cycle).
var never = []string{
	"github.com/flowtrace/flowtrace/agents/go/flowtrace", "github.com/flowtrace/flowtrace/agents/go/ftgin", "github.com/flowtrace/flowtrace/agents/go/ftgrpc",
	"github.com/flowtrace/flowtrace/agents/go/ftecho", "github.com/flowtrace/flowtrace/agents/go/ftfiber",
	"github.com/flowtrace/flowtrace/agents/go/ftzap", "go.uber.org/zap", "go.uber.org/multierr", // ftzap's dependencies
	"github.com/flowtrace/flowtrace/agents/go/internal", "github.com/flowtrace/flowtrace/agents/go/cmd",
	"go.opentelemetry.io/", "google.golang.org/", "golang.org/x/", "github.com/go-logr/", "github.com/cenkalti/",
	"github.com/felixge/httpsnoop", "github.com/grpc-ecosystem/", "github.com/cespare/xxhash",
	"github.com/google/uuid", // through go.opentelemetry.io/otel/sdk/resource
}

func run(tool string, args []string) int { return runCommand(exec.Command(tool, args...)) }

// runCommand runs cmd on this process's standard streams and returns its exit code (2, with the
// reason, when it could not run).
func runCommand(cmd *exec.Cmd) int {
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		fmt.Fprintln(os.Stderr, "flowtrace-go:", err)
		return 2
	}
	return 0
}

var hashOnce sync.Once
var hashValue string

// toolHash identifies this build of flowtrace-go and the build-time settings: it goes into the
// compiler's and linker's version line, which the go command puts into every cache key, so a
// changed FLOWTRACE_INCLUDE / FLOWTRACE_EXCLUDE or a new flowtrace-go rebuilds what it changes.
func toolHash() string {
	hashOnce.Do(func() {
		h := sha256.New()
		if exe, err := os.Executable(); err == nil {
			if f, err := os.Open(exe); err == nil {
				_, _ = io.Copy(h, f)
				f.Close()
			}
		}
		fmt.Fprintf(h, "\x00%s\x00%s", os.Getenv("FLOWTRACE_INCLUDE"), os.Getenv("FLOWTRACE_EXCLUDE"))
		hashValue = hex.EncodeToString(h.Sum(nil))
	})
	return hashValue
}

func toolexec(tool string, args []string) int {
	name := strings.TrimSuffix(filepath.Base(tool), ".exe")
	for _, a := range args {
		if a == "-V=full" || a == "-V" {
			return versionLine(tool, args)
		}
	}
	switch name {
	case "compile":
		return compile(tool, args)
	case "link":
		return link(tool, args)
	}
	return run(tool, args)
}

func versionLine(tool string, args []string) int {
	out, err := exec.Command(tool, args...).Output()
	if err != nil {
		os.Stdout.Write(out)
		return 1
	}
	line := strings.TrimRight(string(out), "\n")
	fmt.Printf("%s flowtrace-go:%s\n", line, toolHash()[:32])
	return 0
}

func flagValue(args []string, name string) (string, int) {
	for i, a := range args {
		if a == name && i+1 < len(args) {
			return args[i+1], i + 1
		}
		if strings.HasPrefix(a, name+"=") {
			return a[len(name)+1:], -1
		}
	}
	return "", -1
}

// goFiles are the compile arguments naming Go sources (after the flags).
func goFiles(args []string) []int {
	var idx []int
	for i, a := range args {
		if strings.HasSuffix(a, ".go") && !strings.HasPrefix(a, "-") {
			idx = append(idx, i)
		}
	}
	return idx
}

// compile runs the compiler on the rewritten package. The agent never breaks a build: when the
// rewrite fails, or the compiler rejects the rewritten files, the package is compiled once more
// from the original arguments (untraced), with one warning line, and that compile's status is the
// result (so the user's own compile errors read exactly as the plain compiler's).
func compile(tool string, args []string) int {
	pkg, _ := flagValue(args, "-p")
	// Under the object's folder ($WORK/bNNN/), which the go command removes even when the compile
	// is interrupted; the system temp folder only when there is no -o.
	obj, _ := flagValue(args, "-o")
	parent := ""
	if obj != "" {
		parent = filepath.Dir(obj)
	}
	tmp, err := os.MkdirTemp(parent, "flowtrace-go-")
	if err != nil {
		tmp, err = os.MkdirTemp("", "flowtrace-go-")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "flowtrace-go:", err)
		return run(tool, args)
	}
	defer os.RemoveAll(tmp)
	orig := args
	switch {
	case pkg == "runtime":
		args, err = patchRuntime(args, tmp)
	case pkg == rewrite.RuntimePath:
		args, err = addBridge(args, tmp)
	case selected(pkg, sourceDir(args), hasArg(args, "-std")):
		args, err = instrument(pkg, args, tmp)
	}
	if err == nil && fault("compile", pkg) {
		args, err = append(append([]string(nil), args...), brokenFile(tmp, args)), nil
	}
	if err != nil {
		return untraced(tool, orig, pkg, err.Error())
	}
	if sameArgs(args, orig) {
		return run(tool, args)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(tool, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, &stdout, &stderr
	if err := cmd.Run(); err != nil {
		reason, _, _ := strings.Cut(strings.TrimSpace(stdout.String()+"\n"+stderr.String()), "\n")
		if reason == "" {
			reason = err.Error()
		}
		return untraced(tool, orig, pkg, "compiler: "+reason)
	}
	os.Stdout.Write(stdout.Bytes())
	os.Stderr.Write(stderr.Bytes())
	return 0
}

// untraced compiles the original arguments; the warning only when that succeeds (when it fails,
// the compiler's own message is the whole story).
func untraced(tool string, args []string, pkg, reason string) int {
	status := run(tool, args)
	if status == 0 {
		fmt.Fprintf(os.Stderr, "flowtrace-go: %s compiled untraced: %s\n", pkg, reason)
	}
	return status
}

func sameArgs(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// fault is a test hook: FLOWTRACE_GO_FAULT=<rewrite|compile>:<package> makes that step fail for
// that package, so the fallback is tested without a construct the rewriter mishandles.
func fault(step, pkg string) bool {
	return os.Getenv("FLOWTRACE_GO_FAULT") == step+":"+pkg
}

// brokenFile (test hook) is a Go file of the package that does not compile.
func brokenFile(tmp string, args []string) string {
	name := "main"
	if idx := goFiles(args); len(idx) > 0 {
		if f, err := parser.ParseFile(token.NewFileSet(), args[idx[0]], nil, parser.PackageClauseOnly); err == nil {
			name = f.Name.Name
		}
	}
	dst := filepath.Join(tmp, "flowtrace_fault.go")
	_ = os.WriteFile(dst, []byte("package "+name+"\n\nvar _ int = \"flowtrace-go fault\"\n"), 0o644)
	return dst
}

// readSettings parses FLOWTRACE_INCLUDE / FLOWTRACE_EXCLUDE; ok is false when either is bad (then
// nothing is instrumented, and the build says so once per compile that would have been).
func readSettings() (include, exclude flowtrace.Filter, problems []string) {
	include, p1 := flowtrace.ParseFilter(os.Getenv("FLOWTRACE_INCLUDE"), "FLOWTRACE_INCLUDE")
	exclude, p2 := flowtrace.ParseFilter(os.Getenv("FLOWTRACE_EXCLUDE"), "FLOWTRACE_EXCLUDE")
	return include, exclude, append(p1, p2...)
}

var settings = sync.OnceValue(func() [2]flowtrace.Filter {
	inc, exc, problems := readSettings()
	if len(problems) > 0 {
		return [2]flowtrace.Filter{{}, {}}
	}
	return [2]flowtrace.Filter{inc, exc}
})

func modCache() string {
	if v := os.Getenv("GOMODCACHE"); v != "" {
		return v
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		home, _ := os.UserHomeDir()
		gopath = filepath.Join(home, "go")
	}
	return filepath.Join(filepath.SplitList(gopath)[0], "pkg", "mod")
}

// selected: FLOWTRACE_INCLUDE's packages, else the packages built from local sources (the main
// module, workspace and local replace modules: not the standard library, the module cache or a
// vendor folder); never the agent and its runtime's dependencies.
func selected(pkg, dir string, std bool) bool {
	ok := selectedWith(pkg, dir, std)
	if _, _, problems := readSettings(); len(problems) > 0 && pkg == "main" {
		// Once per program (its main package), not once per package.
		fmt.Fprintf(os.Stderr, "flowtrace-go: nothing is instrumented: %s\n", strings.Join(problems, "; "))
	}
	return ok
}

// hasArg reports whether the flag is among the arguments.
func hasArg(args []string, flag string) bool {
	for _, a := range args {
		if a == flag {
			return true
		}
	}
	return false
}

// selectedWith decides from the current environment (no caching, for tests). std: the go command
// compiles the package with -std (the standard library); a dot-less import path alone is not
// that, as `go mod init orders` modules have them too.
func selectedWith(pkg, dir string, std bool) bool {
	if pkg == "" {
		return false
	}
	for _, n := range never {
		if strings.HasPrefix(pkg, n) {
			return false
		}
	}
	include, exclude, problems := readSettings()
	if len(problems) > 0 {
		return false
	}
	s := [2]flowtrace.Filter{include, exclude}
	if std {
		return false
	}
	if !s[0].Empty() {
		return (s[0].Matches(pkg) || pkg == "main" && mainSelected(s[0], dir)) && !s[1].Matches(pkg)
	}
	if dir == "" {
		return false
	}
	if strings.HasPrefix(dir, modCache()+string(filepath.Separator)) || strings.Contains(dir, string(filepath.Separator)+"vendor"+string(filepath.Separator)) {
		return false
	}
	if gr := os.Getenv("GOROOT"); gr != "" && strings.HasPrefix(dir, gr) {
		return false
	}
	return !s[1].Matches(pkg)
}

// mainSelected: a main package is compiled as "main"; it is taken when the include list names
// the import path of its folder's module (read from go.mod).
func mainSelected(include flowtrace.Filter, dir string) bool {
	if p := importPathOfDir(dir); p != "" {
		return include.Matches(p)
	}
	return false
}

func importPathOfDir(dir string) string {
	rel := ""
	for d := dir; ; d = filepath.Dir(d) {
		if data, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil {
			sc := bufio.NewScanner(bytes.NewReader(data))
			for sc.Scan() {
				f := strings.Fields(sc.Text())
				if len(f) >= 2 && f[0] == "module" {
					return strings.Trim(f[1], `"`) + rel
				}
			}
			return ""
		}
		if filepath.Dir(d) == d {
			return ""
		}
		rel = "/" + filepath.Base(d) + rel
	}
}

func instrument(pkg string, args []string, tmp string) ([]string, error) {
	exclude := settings()[1]
	importPath := pkg
	if pkg == "main" {
		if p := importPathOfDir(sourceDir(args)); p != "" {
			importPath = p
		}
	}
	opts := rewrite.Options{ImportPath: importPath, Skip: func(q string) bool { return exclude.Matches(q) }}
	// The go command always passes -trimpath (its object folder=>); with `go build -trimpath` it
	// adds "source folder=>import path", which code.file.path then follows like the stack traces.
	opts.TrimPath, _ = flagValue(args, "-trimpath")
	if pkg == "main" {
		opts.ImportPath = importPath
	}
	needed := map[string]bool{}
	out := append([]string(nil), args...)
	for n, i := range goFiles(args) {
		file := args[i]
		if strings.HasSuffix(file, "_test.go") {
			continue // tests and benchmarks are the caller's, not the program's
		}
		abs, _ := filepath.Abs(file)
		src, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		res, err := rewrite.File(abs, src, opts)
		if err == nil && fault("rewrite", pkg) {
			err = fmt.Errorf("%s: forced rewrite failure (FLOWTRACE_GO_FAULT)", filepath.Base(file))
		}
		if err != nil {
			return nil, err
		}
		if res.Sites == 0 && len(res.Imports) == 0 {
			continue
		}
		opts.SiteOffset += res.Sites
		dst := filepath.Join(tmp, fmt.Sprintf("%d_%s", n, filepath.Base(file)))
		if err := os.WriteFile(dst, res.Source, 0o644); err != nil {
			return nil, err
		}
		out[i] = dst
		for _, p := range res.Imports {
			needed[p] = true
		}
	}
	if len(needed) == 0 {
		return args, nil
	}
	var pkgs []string
	for p := range needed {
		pkgs = append(pkgs, p)
	}
	return withImports(out, pkgs, tmp, false)
}

// sourceDir is the absolute folder of the package's first Go file ("" when none).
func sourceDir(args []string) string {
	idx := goFiles(args)
	if len(idx) == 0 {
		return ""
	}
	abs, err := filepath.Abs(args[idx[0]])
	if err != nil {
		return ""
	}
	return filepath.Dir(abs)
}
