package main

// Goroutine-local state, as Orchestrion does it: when the runtime package is compiled, struct g
// gets one more pointer field, newproc1 copies it from the goroutine that says `go` (so goroutines
// keep their parent span), gdestroy clears it, and two accessors are exported to the FlowTrace
// runtime by push-style //go:linkname (allowed by the linker's -checklinkname). All edits keep
// every line where it was.

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/flowtrace/flowtrace/agents/go/internal/rewrite"
)

const runtimeAccessors = `package runtime

import "unsafe"

//go:linkname flowtrace_getgls
func flowtrace_getgls() unsafe.Pointer { return getg().m.curg.flowtrace_gls }

//go:linkname flowtrace_setgls
func flowtrace_setgls(p unsafe.Pointer) { getg().m.curg.flowtrace_gls = p }
`

type sourceEdit struct {
	file, anchor, insert string
	before               bool
}

var runtimeEdits = []sourceEdit{
	// The field goes last, so no offset the assembly uses moves.
	{file: "runtime2.go", anchor: "type g struct {", insert: "flowtrace_gls unsafe.Pointer; "},
	{file: "proc.go", anchor: "newg.parentGoid = callergp.goid", insert: "; newg.flowtrace_gls = callergp.flowtrace_gls"},
	{file: "proc.go", anchor: "gp.labels = nil", insert: "; gp.flowtrace_gls = nil"},
}

func patchRuntime(args []string, tmp string) ([]string, error) {
	out := append([]string(nil), args...)
	patched := map[string]bool{}
	for _, i := range goFiles(args) {
		base := filepath.Base(args[i])
		var edits []sourceEdit
		for _, e := range runtimeEdits {
			if e.file == base {
				edits = append(edits, e)
			}
		}
		if len(edits) == 0 {
			continue
		}
		data, err := os.ReadFile(args[i])
		if err != nil {
			return nil, err
		}
		src := string(data)
		for _, e := range edits {
			at := strings.Index(src, e.anchor)
			if at < 0 {
				return nil, fmt.Errorf("runtime %s: %q not found (Go version not supported)", e.file, e.anchor)
			}
			if e.file == "runtime2.go" {
				// Before the closing brace of struct g, on the last field's line.
				end := strings.Index(src[at:], "\n}\n")
				if end < 0 {
					return nil, fmt.Errorf("runtime: end of struct g not found")
				}
				pos := at + end
				src = src[:pos] + "; " + strings.TrimSuffix(e.insert, "; ") + src[pos:]
				patched[e.file] = true
				continue
			}
			pos := at + len(e.anchor)
			src = src[:pos] + e.insert + src[pos:]
			patched[e.file+e.anchor] = true
		}
		abs, _ := filepath.Abs(args[i])
		dst := filepath.Join(tmp, base)
		if err := os.WriteFile(dst, []byte("//line "+abs+":1\n"+src), 0o644); err != nil {
			return nil, err
		}
		out[i] = dst
	}
	if len(patched) != len(runtimeEdits) {
		return nil, fmt.Errorf("runtime: %d of %d edits applied (Go version not supported)", len(patched), len(runtimeEdits))
	}
	acc := filepath.Join(tmp, "flowtrace_gls.go")
	if err := os.WriteFile(acc, []byte(runtimeAccessors), 0o644); err != nil {
		return nil, err
	}
	return append(out, acc), nil
}

// addBridge adds to the FlowTrace runtime package the file that binds it to the accessors above
// and turns on the start before main. Its functions are declared without a body, so the compiler's
// -complete flag (no non-Go code in the package) is dropped.
func addBridge(args []string, tmp string) ([]string, error) {
	src := fmt.Sprintf(`package flowtrace

import "unsafe"

//go:linkname ftGetGLS runtime.flowtrace_getgls
func ftGetGLS() unsafe.Pointer

//go:linkname ftSetGLS runtime.flowtrace_setgls
func ftSetGLS(unsafe.Pointer)

var _ = func() bool {
	glsGet, glsSet = ftGetGLS, ftSetGLS
	autoStart = true
	buildInclude = %q
	buildExclude = %q
	return true
}()
`, os.Getenv("FLOWTRACE_INCLUDE"), os.Getenv("FLOWTRACE_EXCLUDE"))
	dst := filepath.Join(tmp, "flowtrace_bridge.go")
	if err := os.WriteFile(dst, []byte(src), 0o644); err != nil {
		return nil, err
	}
	var out []string
	for _, a := range args {
		if a != "-complete" {
			out = append(out, a)
		}
	}
	_ = rewrite.RuntimePath
	return append(out, dst), nil
}
