package cgroup

import (
	"path/filepath"
	"strings"
	"testing"
)

// A group taken from the paths a monitor tells reads the same usage and
// events as the group placed in the layout, v1 controllers sharing a
// hierarchy included; paths that are not the group's are refused.
func TestGroupAt(t *testing.T) {
	l := v1Fixture(t, true)
	g, err := l.CreateGroup("lxc.payload.", "c1")
	if err != nil {
		t.Fatal(err)
	}
	p := g.Paths()
	mustWrite(t, filepath.Join(p["cpuacct"], "cpuacct.usage"), "123456789\n")
	mustWrite(t, filepath.Join(p["memory"], "memory.usage_in_bytes"), "1048576\n")
	mustWrite(t, filepath.Join(p["memory"], "memory.oom_control"), "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n")
	mustWrite(t, filepath.Join(p["blkio"], "blkio.throttle.io_service_bytes"), "Total 15\n")
	// A PSI file longer than the first read, as memory.stat or io.stat
	// may be on a busy host.
	mustWrite(t, filepath.Join(p["unified"], "cpu.pressure"),
		"some avg10=1.00 avg60=0.50 avg300=0.25 total=42"+strings.Repeat(" ", 3000)+"\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=7\n")
	at, err := GroupAt(g.Name(), p)
	if err != nil {
		t.Fatal(err)
	}
	want, err := g.Stats()
	if err != nil {
		t.Fatal(err)
	}
	got, err := at.Stats()
	if err != nil || got != want || !got.HasCPU || got.CPUNanos != 123456789 {
		t.Errorf("GroupAt Stats = %+v, %v; the layout's group: %+v", got, err, want)
	}
	wantEv, err := g.Events()
	if err != nil {
		t.Fatal(err)
	}
	gotEv, err := at.Events()
	if err != nil || gotEv.OOMKill != 3 || !gotEv.HasKill || gotEv.Pressure["cpu"].Some.TotalUS != 42 || gotEv.Pressure["cpu"].Full.TotalUS != 7 ||
		gotEv.OOMKill != wantEv.OOMKill || gotEv.Pressure["cpu"].Some != wantEv.Pressure["cpu"].Some {
		t.Errorf("GroupAt Events = %+v, %v; the layout's group: %+v", gotEv, err, wantEv)
	}
	if len(at.v1) != 4 {
		t.Errorf("GroupAt: %d v1 directories, want 4 (cpu and cpuacct share one): %+v", len(at.v1), at.v1)
	}
	for name, paths := range map[string]map[string]string{
		"relative":     {"memory": "sys/fs/cgroup/memory/lxc.payload.c1"},
		"another name": {"memory": "/sys/fs/cgroup/memory/lxc.payload.c2"},
		"not clean":    {"memory": "/sys/fs/cgroup/memory/../lxc.payload.c1"},
	} {
		if _, err := GroupAt("lxc.payload.c1", paths); err == nil {
			t.Errorf("GroupAt with a %s path: no error", name)
		}
	}
	if _, err := GroupAt("../x", map[string]string{"unified": "/sys/fs/cgroup/x"}); err == nil {
		t.Error("GroupAt of an invalid name: no error")
	}
}
