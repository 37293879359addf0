package containerinit

import (
	"slices"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The spawning thread drops only what the stage never needs and the
// container drops, and nothing for a stage that runs hooks or is not
// golxc's init.
func TestSpawnerDrops(t *testing.T) {
	spec := func(wrap bool, hooks *StageHooks) *Spec {
		return &Spec{WrapInit: wrap, Hooks: hooks, OCI: specs.Spec{Process: &specs.Process{
			Capabilities: &specs.LinuxCapabilities{Bounding: []string{"CAP_CHOWN", "CAP_SYS_TIME", "CAP_MAC_ADMIN"}},
		}}}
	}
	got := SpawnerDrops(StartOptions{Spec: spec(true, nil)})
	if !slices.Contains(got, "CAP_SYS_MODULE") || slices.Contains(got, "CAP_SYS_TIME") || slices.Contains(got, "CAP_MAC_ADMIN") ||
		slices.Contains(got, "CAP_SYS_ADMIN") || slices.Contains(got, "CAP_SETPCAP") || slices.Contains(got, "CAP_MKNOD") {
		t.Errorf("SpawnerDrops = %v, want CAP_SYS_MODULE among them, nothing kept, nothing the stage needs", got)
	}
	if got := SpawnerDrops(StartOptions{Spec: spec(false, nil)}); len(got) > 0 {
		t.Errorf("SpawnerDrops of a stage that execs init = %v, want none", got)
	}
	if got := SpawnerDrops(StartOptions{Spec: spec(true, &StageHooks{Mount: []string{"/bin/true"}})}); len(got) > 0 {
		t.Errorf("SpawnerDrops of a stage with hooks = %v, want none", got)
	}
}
