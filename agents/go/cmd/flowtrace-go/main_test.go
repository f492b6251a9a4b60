package main

import (
	"strings"
	"testing"
)

func TestCompileFlags(t *testing.T) {
	got := strings.Join(compileFlags([]string{"-o", "bin/x", "-race", "-tags", "netgo", "-gcflags=all=-N", "-v", "./cmd/x", "-trimpath"}), " ")
	if got != "-race -tags=netgo -gcflags=all=-N" {
		t.Fatalf("got %q", got)
	}
}
