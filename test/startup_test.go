package test

import (
	"runtime/debug"
	"strings"
	"testing"
)

// TestStartupInitWork: every golxc process, each tool run and each hidden
// stage, runs every package's init before it looks at its arguments; a
// golxc package's tables are made where they are used, not there.
// GODEBUG=inittrace=1 lists each package whose init does work.
func TestStartupInitWork(t *testing.T) {
	// golxc's packages that still build package-level tables at start
	// (maps, closures made by calls). Remove a package from the list once
	// its init does nothing.
	initWorkLeft := map[string]bool{
		"internal/rootfs":        true, // options.go: mount option maps
		"internal/namespace":     true, // spawn.go: a map
		"internal/containerinit": true, // proclimits.go, rootfd.go: maps
		"internal/lxc":           true, // hostctx.go: a map
		"internal/oci":           true, // seccomp.go: a map
	}
	_, stderr, code := runWith(t, runOpts{env: []string{"GODEBUG=inittrace=1"}}, "lxc-info", "--version")
	if code != 0 {
		t.Fatalf("lxc-info --version: exit %d: %s", code, stderr)
	}
	// The tools are built from this test's module.
	bi, ok := debug.ReadBuildInfo()
	if !ok || bi.Main.Path == "" {
		t.Fatal("no module path in the test binary's build info")
	}
	module := bi.Main.Path + "/"
	seen, left := 0, map[string]bool{}
	for _, line := range strings.Split(stderr, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != "init" {
			continue
		}
		seen++
		pkg, ours := strings.CutPrefix(f[1], module)
		switch {
		case ours && initWorkLeft[pkg]:
			left[pkg] = true
		case ours:
			t.Errorf("package %s does work at every golxc start: %s", pkg, line)
		}
	}
	if seen == 0 {
		t.Fatalf("GODEBUG=inittrace=1 printed no init line: %q", stderr)
	}
	// A package that no longer does init work leaves the list, so that
	// new work in it is caught (and a renamed module is noticed).
	for pkg := range initWorkLeft {
		if !left[pkg] {
			t.Errorf("package %s%s does no init work any more: remove it from initWorkLeft", module, pkg)
		}
	}
}
