package test

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
)

// installAttacker builds test/attacker (static; the go build cache makes
// every build after the first quick) and copies it into the rootfs of
// each container named, as /attacker, the path it returns.
func (l *lab) installAttacker(names ...string) string {
	l.t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		l.t.Fatal("cannot find the test's source file to locate test/attacker")
	}
	bin := filepath.Join(l.aux, "attacker")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = filepath.Join(filepath.Dir(file), "attacker")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		l.t.Fatalf("build test/attacker: %v\n%s", err, out)
	}
	prog, err := os.ReadFile(bin)
	if err != nil {
		l.t.Fatal(err)
	}
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(l.path, n, "rootfs", "attacker"), prog, 0o755); err != nil {
			l.t.Fatal(err)
		}
	}
	return "/attacker"
}
