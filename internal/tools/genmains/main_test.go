package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/golxc/golxc/internal/cli"
)

// TestMainsUpToDate fails when a tool has no cmd/<tool>/main.go, or one
// that differs from what genmains writes, or a generated main is left for
// a tool that is gone: run `go generate ./cmd/golxc`.
func TestMainsUpToDate(t *testing.T) {
	root := filepath.Join("..", "..", "..")
	tools := map[string]bool{}
	for _, tool := range cli.ToolNames() {
		tools[tool] = true
		b, err := os.ReadFile(filepath.Join(root, "cmd", tool, "main.go"))
		if err != nil {
			t.Errorf("%s has no main: %v (run go generate ./cmd/golxc)", tool, err)
			continue
		}
		if string(b) != Source(tool) {
			t.Errorf("cmd/%s/main.go is stale (run go generate ./cmd/golxc)", tool)
		}
	}
	entries, err := os.ReadDir(filepath.Join(root, "cmd"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() && !tools[e.Name()] && generated(filepath.Join(root, "cmd", e.Name())) {
			t.Errorf("cmd/%s is the main of a tool golxc no longer has (run go generate ./cmd/golxc)", e.Name())
		}
	}
}
