// Command flowtrace-go builds Go programs with FlowTrace's method spans:
//
//	go build -toolexec="flowtrace-go toolexec" ./...
//	flowtrace-go build [go build flags] [packages]   (the same, shorter)
//
// See agents/go/README.md.
package main

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	switch os.Args[1] {
	case "toolexec":
		if len(os.Args) < 3 {
			usage()
		}
		os.Exit(toolexec(os.Args[2], os.Args[3:]))
	case "build", "test", "run", "install":
		os.Exit(goCommand(os.Args[1], os.Args[2:]))
	case "version":
		fmt.Println("flowtrace-go", toolHash()[:16])
	default:
		usage()
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: flowtrace-go build|test|run|install [go flags] [packages]\n       go build -toolexec=\"flowtrace-go toolexec\" [packages]")
	os.Exit(2)
}

// goCommand runs `go <verb> -toolexec "<self> toolexec" args…`.
func goCommand(verb string, args []string) int {
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, "flowtrace-go:", err)
		return 2
	}
	cmd := exec.Command("go", append([]string{verb, "-toolexec", self + " toolexec"}, args...)...)
	cmd.Env = os.Environ()
	if os.Getenv("FLOWTRACE_GO_BUILDFLAGS") == "" {
		if flags := compileFlags(args); len(flags) > 0 {
			cmd.Env = append(cmd.Env, "FLOWTRACE_GO_BUILDFLAGS="+strings.Join(flags, " "))
		}
	}
	return runCommand(cmd)
}

// compileFlags are the go flags (before the packages) that change how packages compile: the
// nested build that resolves injected imports must use them too, or its archives would not match.
func compileFlags(args []string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			break
		}
		name, _, hasValue := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-"), "=")
		switch name {
		case "race", "msan", "asan", "trimpath", "cover":
			out = append(out, a)
		case "tags", "gcflags", "mod", "covermode", "coverpkg":
			if hasValue {
				out = append(out, a)
			} else if i+1 < len(args) {
				out = append(out, a+"="+args[i+1])
				i++
			}
		case "o", "p", "C", "ldflags", "asmflags", "buildmode", "pkgdir", "overlay", "modfile", "exec", "run", "bench", "benchtime", "count", "timeout", "cpu", "parallel", "coverprofile", "cpuprofile", "memprofile", "outputdir", "json":
			if !hasValue && i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
				i++ // its value
			}
		}
	}
	return out
}
