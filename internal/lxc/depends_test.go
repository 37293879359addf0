package lxc

import (
	"os"
	"path/filepath"
	"testing"
)

// TestParseDepsRejectsBadEntries: an entry of lxc_snapshots or
// lxc_rdepends names a directory root edits; one that is not an absolute
// lxcpath and a container name is left out, the good ones kept (cleaned).
func TestParseDepsRejectsBadEntries(t *testing.T) {
	in := "/l\nc1\n" + // good
		"/l\n../victim\n" + // a name that climbs
		"/l\na/b\n" + // a name with a slash
		"relative\nc2\n" + // a relative lxcpath
		"/l/../etc\nc3\n" + // an lxcpath that climbs
		"/l/\n\n" + // an empty name
		"/l/\nc4\n" // good, as typed
	got := parseDeps([]byte(in), "test")
	want := []depRef{{"/l", "c1"}, {"/l", "c4"}}
	if len(got) != len(want) {
		t.Fatalf("parseDeps = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("parseDeps[%d] = %v, want %v", i, got[i], want[i])
		}
	}
}

// TestDropFromOriginStaysInLXCPath: a clone whose lxc_rdepends names its
// origin "../victim" does not edit the lxc_snapshots of a directory
// outside its lxcpath when it is destroyed.
func TestDropFromOriginStaysInLXCPath(t *testing.T) {
	base := t.TempDir()
	lp := filepath.Join(base, "lxc")
	victim := filepath.Join(base, "victim")
	moved := filepath.Join(base, "moved")
	for _, d := range []string{lp, victim, moved} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	list := lp + "\nc1\n"
	if err := os.WriteFile(filepath.Join(victim, snapshotsFile), []byte(list), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(moved, rdependsFile), []byte(lp+"\n../victim\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	dropFromOrigin(&Container{Name: "c1", LXCPath: lp}, moved)
	if b, err := os.ReadFile(filepath.Join(victim, snapshotsFile)); err != nil || string(b) != list {
		t.Errorf("the lxc_snapshots outside the lxcpath was edited: %q %v, want %q", b, err, list)
	}
}
