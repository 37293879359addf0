package lxc

import (
	"slices"
	"strings"
	"testing"

	"github.com/golxc/golxc/internal/config"
)

// TestCgroupDirPattern: the system pattern gives TREE/payload and
// TREE/monitor, unless the container has lxc.cgroup.dir* keys of its own;
// lxc.cgroup.use goes along either way.
func TestCgroupDirPattern(t *testing.T) {
	sys := &config.System{CgroupPattern: "lxc/%n", CgroupUse: "memory,pids"}
	d := cgroupDir("c1", &config.Config{}, sys)
	if d.Container != "lxc/c1/payload" || d.Monitor != "lxc/c1/monitor" || d.Dir != "" {
		t.Errorf("pattern: %+v", d)
	}
	if !slices.Equal(d.Use, []string{"memory", "pids"}) {
		t.Errorf("use: %q", d.Use)
	}
	if err := d.Check(); err != nil {
		t.Errorf("Check: %v", err)
	}

	own := &config.Config{}
	own.CgroupDir.Dir = "mine"
	if d := cgroupDir("c1", own, sys); d.Dir != "mine" || d.Container != "" || d.Monitor != "" {
		t.Errorf("lxc.cgroup.dir did not win: %+v", d)
	}
	exact := &config.Config{}
	exact.CgroupDir.Container, exact.CgroupDir.Monitor = "a", "b"
	if d := cgroupDir("c1", exact, sys); d.Container != "a" || d.Monitor != "b" {
		t.Errorf("lxc.cgroup.dir.container/.monitor did not win: %+v", d)
	}
	if d := cgroupDir("c1", &config.Config{}, nil); d.Container != "" || d.Use != nil {
		t.Errorf("no system config: %+v", d)
	}

	bad := cgroupDir("c1", &config.Config{}, &config.System{CgroupPattern: "/abs/%n"})
	if err := bad.Check(); err == nil || !strings.Contains(err.Error(), "lxc.cgroup.pattern") {
		t.Errorf("absolute pattern: %v, want a refusal naming lxc.cgroup.pattern", err)
	}
}
