package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestSelected(t *testing.T) {
	root, _ := filepath.Abs(filepath.Join("..", ".."))
	example := filepath.Join(root, "examples", "gin-service")
	t.Setenv("GOMODCACHE", filepath.Join(t.TempDir(), "mod"))
	cases := []struct {
		include, exclude, pkg, dir string
		want                       bool
	}{
		{"", "", "main", example, true},                 // local sources by default
		{"", "", "fmt", "/usr/local/go/src/fmt", false}, // standard library
		{"", "", "github.com/google/uuid", filepath.Join(os.Getenv("GOMODCACHE"), "github.com/google/uuid@v1.6.0"), false},
		{"", "", "example.com/app/vendor/x", "/src/app/vendor/x", false},
		{"", "", "github.com/flowtrace/flowtrace/agents/go/flowtrace", filepath.Join(root, "flowtrace"), false}, // the agent
		{"", "", "go.opentelemetry.io/otel", "/src/otel", false},                                                // the runtime's dependencies
		{"example.com/shop", "", "example.com/shop/cart", "/anywhere", true},
		{"example.com/shop", "", "example.com/other", "/anywhere", false},
		{"/^example\\.com/(shop|pay)$/", "", "example.com/pay", "/anywhere", true},
		{"example.com/", "example.com/pay", "example.com/pay", "/anywhere", false},
		{"example.com/", "/[/", "example.com/pay", "/anywhere", false}, // a bad setting: nothing
	}
	for _, c := range cases {
		t.Setenv("FLOWTRACE_INCLUDE", c.include)
		t.Setenv("FLOWTRACE_EXCLUDE", c.exclude)
		std := c.dir == "/usr/local/go/src/fmt"
		if got := selectedWith(c.pkg, c.dir, std); got != c.want {
			t.Errorf("include %q exclude %q: %s in %s selected=%v", c.include, c.exclude, c.pkg, c.dir, got)
		}
	}
}
