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
