package test

import (
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestAttackOCIStartByName: whether a start failed is the init stage's
// own word, not what a process is called: a container program that names
// itself as golxc's stage does and exits at once ran, and start says so
// (exit 0), every time.
func TestAttackOCIStartByName(t *testing.T) {
	r := newOCIRuntime(t)
	for i := 0; i < 6; i++ {
		id := ociUnique(t, "sbn")
		cg := ociCgroup(t, id)
		bundle := ociBundle(t, func(s *specs.Spec) {
			s.Process.Args = []string{"sh", "-c", "printf golxc-init > /proc/self/comm"}
			s.Linux.CgroupsPath = "/" + cg
		})
		r.track(id)
		r.mustRun(outFile(t), "create", "--bundle", bundle, id)
		if out, code := r.run(nil, "start", id); code != 0 {
			t.Errorf("start %d: exit %d %q, want 0 (the program ran)", i, code, out)
		}
	}
}
