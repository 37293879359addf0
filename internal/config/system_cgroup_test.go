package config

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestSystemCgroupPatternAndUse(t *testing.T) {
	p := filepath.Join(t.TempDir(), "lxc.conf")
	if err := os.WriteFile(p, []byte("lxc.cgroup.pattern = top/%n/x%n%d\nlxc.cgroup.use = memory, pids,,\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := ReadSystem(p)
	if err != nil {
		t.Fatal(err)
	}
	// %n is the only escape LXC replaces: %d stays.
	if got := s.CgroupTree("c1"); got != "top/c1/xc1%d" {
		t.Errorf("CgroupTree = %q", got)
	}
	if got := s.CgroupControllers(); !slices.Equal(got, []string{"memory", "pids"}) {
		t.Errorf("CgroupControllers = %q", got)
	}
	d, err := ReadSystem(filepath.Join(t.TempDir(), "none"))
	if err != nil {
		t.Fatal(err)
	}
	if d.CgroupTree("c1") != "" || d.CgroupControllers() != nil {
		t.Errorf("defaults: tree %q, use %q; want none", d.CgroupTree("c1"), d.CgroupControllers())
	}
}
