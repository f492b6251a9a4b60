package main

// The compiler and the linker find packages only through the importcfg file the go command writes
// for each step, listing what the package imports as the go command saw it. The packages the
// rewrite adds (the runtime, the framework bridges) are resolved the way Orchestrion resolves its
// synthetic imports: a nested `go list -export -deps` with the same -toolexec builds them (from the
// shared build cache when they are there) and names their export files, which are appended to a
// copy of the importcfg. The linker gets every package of their dependency closure that its
// importcfg lacks.

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"github.com/flowtrace/flowtrace/agents/go/internal/rewrite"
)

func readImportcfg(path string) (map[string]bool, []byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	have := map[string]bool{}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "packagefile "); ok {
			if p, _, ok := strings.Cut(rest, "="); ok {
				have[p] = true
			}
		}
	}
	return have, data, nil
}

// exports lists pkgs and (all: their dependencies too) as import path -> export file, built with
// this same toolexec so their cache entries are the outer build's.
func exports(pkgs []string, all bool) (map[string]string, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	args := []string{"list", "-e", "-export", "-toolexec", self + " toolexec", "-f", "{{if .Export}}{{.ImportPath}}={{.Export}}{{end}}{{if .Error}}ERROR {{.ImportPath}}: {{.Error}}{{end}}"}
	if all {
		args = append(args, "-deps")
	}
	if flags := os.Getenv("FLOWTRACE_GO_BUILDFLAGS"); flags != "" {
		args = append(args, strings.Fields(flags)...)
	}
	args = append(args, pkgs...)
	// A nested build compiles the same packages with the same selection as the outer one (so both
	// share cache entries); it can nest once more (a selected dependency of ftgin needs the
	// runtime), never deeper, as the runtime's own dependencies are never selected.
	depth, _ := strconv.Atoi(os.Getenv("FLOWTRACE_GO_NESTED"))
	if depth >= 3 {
		return nil, fmt.Errorf("resolving %s: nested builds too deep (is a dependency of the agent selected by FLOWTRACE_INCLUDE?)", strings.Join(pkgs, " "))
	}
	// One nested build at a time (taken by the outermost only, or a nested one would wait on its
	// own parent): the first builds the runtime into the shared cache, the others then find it
	// there instead of compiling the same packages side by side.
	if depth == 0 {
		if lock, err := os.OpenFile(filepath.Join(os.TempDir(), "flowtrace-go-"+toolHash()[:16]+".lock"), os.O_CREATE|os.O_RDWR, 0o600); err == nil {
			defer lock.Close()
			if syscall.Flock(int(lock.Fd()), syscall.LOCK_EX) == nil {
				defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
			}
		}
	}
	cmd := exec.Command("go", args...)
	cmd.Env = append(os.Environ(), "FLOWTRACE_GO_NESTED="+strconv.Itoa(depth+1))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list %s: %v\n%s", strings.Join(pkgs, " "), err, stderr.String())
	}
	found := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "ERROR ") {
			return nil, fmt.Errorf("%s (add the agent to the module: go get github.com/flowtrace/flowtrace/agents/go)", strings.TrimPrefix(line, "ERROR "))
		}
		if p, f, ok := strings.Cut(line, "="); ok {
			found[p] = f
		}
	}
	return found, nil
}

// withImports points the step's -importcfg at a copy that also lists pkgs (all: and every package
// they depend on).
func withImports(args []string, pkgs []string, tmp string, all bool) ([]string, error) {
	cfg, at := flagValue(args, "-importcfg")
	if cfg == "" || at < 0 {
		return nil, fmt.Errorf("no -importcfg among the arguments")
	}
	have, data, err := readImportcfg(cfg)
	if err != nil {
		return nil, err
	}
	var missing []string
	for _, p := range pkgs {
		if !have[p] {
			missing = append(missing, p)
		}
	}
	if len(missing) == 0 && !all {
		return args, nil
	}
	found, err := exports(pkgs, all)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.Write(data)
	if len(data) > 0 && data[len(data)-1] != '\n' {
		b.WriteByte('\n')
	}
	added := 0
	for p, f := range found {
		if !have[p] && (all || contains(pkgs, p)) {
			fmt.Fprintf(&b, "packagefile %s=%s\n", p, f)
			added++
		}
	}
	if added == 0 {
		return args, nil
	}
	dst := filepath.Join(tmp, "importcfg")
	if err := os.WriteFile(dst, b.Bytes(), 0o644); err != nil {
		return nil, err
	}
	out := append([]string(nil), args...)
	out[at] = dst
	return out, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// link: a program with rewritten packages needs the runtime's whole dependency closure.
func link(tool string, args []string) int {
	cfg, _ := flagValue(args, "-importcfg")
	have, _, err := readImportcfg(cfg)
	var pkgs []string
	if err == nil {
		for _, p := range linkedSynthetic(args) {
			if !have[p] {
				pkgs = append(pkgs, p)
			}
		}
	}
	if len(pkgs) == 0 {
		return run(tool, args)
	}
	// Under the output's folder in $WORK, which the go command removes even after an interrupt.
	parent := ""
	if out, _ := flagValue(args, "-o"); out != "" {
		parent = filepath.Dir(out)
	}
	tmp, err := os.MkdirTemp(parent, "flowtrace-go-")
	if err != nil {
		tmp, err = os.MkdirTemp("", "flowtrace-go-")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "flowtrace-go:", err)
		return 2
	}
	defer os.RemoveAll(tmp)
	args, err = withImports(args, pkgs, tmp, true)
	if err != nil {
		fmt.Fprintln(os.Stderr, "flowtrace-go: link:", err)
		return 2
	}
	return run(tool, args)
}

// linkedSynthetic: the packages the rewrite adds that some non-standard package of the program
// imports (its archive names them). Read from the archives, so a cached compile counts too.
func linkedSynthetic(args []string) []string {
	var found []string
	for _, p := range []string{rewrite.RuntimePath, rewrite.GinPath, rewrite.GRPCPath, rewrite.EchoPath, rewrite.FiberPath, rewrite.ZapPath} {
		if linksPackage(args, []byte(p)) {
			found = append(found, p)
		}
	}
	return found
}

// isStandard: a dot-less path alone is not the standard library (`go mod init orders` modules
// have them too); it is when GOROOT/src holds the package.
func isStandard(p string) bool {
	first, _, _ := strings.Cut(p, "/")
	if strings.Contains(first, ".") || p == "main" {
		return false
	}
	goroot := os.Getenv("GOROOT")
	if goroot == "" {
		goroot = runtime.GOROOT() //nolint:staticcheck // -trimpath clears GOROOT for the linker
	}
	st, err := os.Stat(filepath.Join(goroot, "src", filepath.FromSlash(p)))
	return err == nil && st.IsDir()
}

func linksPackage(args []string, needle []byte) bool {
	cfg, _ := flagValue(args, "-importcfg")
	data, err := os.ReadFile(cfg)
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(data), "\n") {
		rest, ok := strings.CutPrefix(line, "packagefile ")
		if !ok {
			continue
		}
		p, file, _ := strings.Cut(rest, "=")
		if isStandard(p) {
			continue // the standard library never imports the agent
		}
		if a, err := os.ReadFile(file); err == nil && bytes.Contains(a, needle) {
			return true
		}
	}
	// The main package's archive is the link's argument, not in the importcfg.
	for _, a := range args {
		if strings.HasSuffix(a, ".a") {
			if b, err := os.ReadFile(a); err == nil && bytes.Contains(b, needle) {
				return true
			}
		}
	}
	return false
}
