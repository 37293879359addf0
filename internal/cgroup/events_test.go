package cgroup

import (
	"os"
	"path/filepath"
	"testing"
)

func TestParsePSI(t *testing.T) {
	psi, err := parsePSI("some avg10=10.56 avg60=13.46 avg300=13.37 total=1239431540\nfull avg10=0.00 avg60=0.01 avg300=0.00 total=7\n")
	if err != nil {
		t.Fatal(err)
	}
	if psi.Some.Avg10 != 10.56 || psi.Some.Avg300 != 13.37 || psi.Some.TotalUS != 1239431540 {
		t.Errorf("some = %+v", psi.Some)
	}
	if psi.Full == nil || psi.Full.Avg60 != 0.01 || psi.Full.TotalUS != 7 {
		t.Errorf("full = %+v", psi.Full)
	}
	if psi, err := parsePSI("some avg10=0.00 avg60=0.00 avg300=0.00 total=3\n"); err != nil || psi.Full != nil {
		t.Errorf("cpu without full: %+v, %v", psi, err)
	}
	for _, bad := range []string{"", "full avg10=1 total=2", "some avg10=x total=1"} {
		if _, err := parsePSI(bad); err == nil {
			t.Errorf("parsePSI(%q) succeeded", bad)
		}
	}
}

// TestEventsV2Fixture reads memory.events and the PSI files of a v2-only
// group from a fixture directory.
func TestEventsV2Fixture(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"memory.events":   "low 0\nhigh 0\nmax 12\noom 3\noom_kill 2\noom_group_kill 0\n",
		"cpu.pressure":    "some avg10=1.00 avg60=2.00 avg300=3.00 total=4\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
		"memory.pressure": "some avg10=0.00 avg60=0.00 avg300=0.00 total=9\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=8\n",
	}
	for n, c := range files {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	g := &Group{name: "c1", v2: &v2Dir{path: dir}}
	e, err := g.Events()
	if err != nil {
		t.Fatal(err)
	}
	if !e.HasOOM || !e.HasKill || e.OOM != 3 || e.OOMKill != 2 {
		t.Errorf("oom = %+v", e)
	}
	if len(e.Pressure) != 2 || e.Pressure["cpu"].Some.Avg60 != 2 || e.Pressure["memory"].Full.TotalUS != 8 {
		t.Errorf("pressure = %+v", e.Pressure)
	}
	if _, ok := e.Pressure["io"]; ok {
		t.Error("io pressure without io.pressure")
	}
}

func TestDetailFixtures(t *testing.T) {
	dir := t.TempDir()
	write := func(n, c string) {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("cpu.stat", "usage_usec 30\nuser_usec 10\nsystem_usec 20\n")
	write("io.stat", "8:0 rbytes=100 wbytes=5 rios=1 wios=1\n8:16 rbytes=1 wbytes=2 rios=1 wios=1\n")
	g := &Group{name: "c1", v2: &v2Dir{path: dir}}
	d, err := g.Detail()
	if err != nil {
		t.Fatal(err)
	}
	if !d.HasCPU || d.UserNanos != 10000 || d.SysNanos != 20000 || !d.HasBlkIO || d.ReadBytes != 101 || d.WriteBytes != 7 {
		t.Errorf("v2 detail = %+v", d)
	}
	v1 := t.TempDir()
	if err := os.WriteFile(filepath.Join(v1, "cpuacct.stat"), []byte("user 3\nsystem 4\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(v1, "blkio.throttle.io_service_bytes"), []byte("8:0 Read 4096\n8:0 Write 512\n8:0 Sync 0\n8:0 Total 4608\nTotal 4608\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	g = &Group{name: "c1", v1: []v1Dir{{path: v1, controllers: []string{"cpu", "cpuacct", "blkio"}}}}
	if d, err = g.Detail(); err != nil {
		t.Fatal(err)
	}
	if d.UserNanos != 30_000_000 || d.SysNanos != 40_000_000 || d.ReadBytes != 4096 || d.WriteBytes != 512 {
		t.Errorf("v1 detail = %+v", d)
	}
}
