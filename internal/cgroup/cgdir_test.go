package cgroup

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckDirNamePaths(t *testing.T) {
	good := []string{"lxc.payload.c1", "golxctest/c1/lxc.payload.c1", "a/b"}
	bad := []string{"", "/abs", "a/", "a//b", "a/../b", "..", ".", "a/./b", "a\x00b", "../x"}
	for _, n := range good {
		if err := checkDirName(n); err != nil {
			t.Errorf("checkDirName(%q) = %v, want nil", n, err)
		}
	}
	for _, n := range bad {
		if err := checkDirName(n); err == nil {
			t.Errorf("checkDirName(%q) = nil, want an error", n)
		}
	}
}

func TestLockFileName(t *testing.T) {
	if got := lockFileName("lxc.payload.c1"); got != "lxc.payload.c1" {
		t.Errorf("plain name = %q", got)
	}
	a, b := lockFileName("a/b"), lockFileName("a%2Fb")
	if a == b || strings.Contains(a, "/") || strings.Contains(b, "/") {
		t.Errorf("a/b -> %q, a%%2Fb -> %q: want distinct names without /", a, b)
	}
	long := strings.Repeat("x/", 150) + "lxc.payload.c"
	n := lockFileName(long)
	if len(n) > 255 || strings.Contains(n, "/") || n == lockFileName(long+"2") {
		t.Errorf("long name -> %q", n)
	}
}

// TestCreateGroupPath makes a group below lxc.cgroup.dir's path: the
// missing intermediate directories are made, in every hierarchy, and
// Destroy removes exactly those, not one that was there before.
func TestCreateGroupPath(t *testing.T) {
	l := v1Fixture(t, true)
	// "outer" exists already in the unified hierarchy: not golxc's to remove.
	pre := filepath.Join(l.Unified, "outer")
	if err := os.Mkdir(pre, 0o755); err != nil {
		t.Fatal(err)
	}
	g, err := l.CreateGroup("outer/inner/lxc.payload.", "c1")
	if err != nil {
		t.Fatal(err)
	}
	if g.Name() != "outer/inner/lxc.payload.c1" {
		t.Fatalf("Name = %q", g.Name())
	}
	for _, d := range g.dirs() {
		if !exists(d) {
			t.Errorf("%s not made", d)
		}
	}
	// The name's lock is held: a second group of the same path gets -1,
	// while a group of another path under the same parent is free.
	g2, err := l.CreateGroup("outer/inner/lxc.payload.", "c1")
	if err != nil {
		t.Fatal(err)
	}
	if g2.Name() != "outer/inner/lxc.payload.c1-1" {
		t.Fatalf("second Name = %q", g2.Name())
	}
	if err := g.Destroy(); err != nil {
		t.Fatal(err)
	}
	// g2 still lives in outer/inner: the parents stay.
	if !exists(filepath.Join(l.V1[0].Base, "outer/inner")) {
		t.Fatal("intermediate directory removed while another group is in it")
	}
	if err := g2.Destroy(); err != nil {
		t.Fatal(err)
	}
	for _, h := range l.V1 {
		if exists(filepath.Join(h.Base, "outer")) {
			t.Errorf("%s/outer left behind", h.Base)
		}
	}
	if exists(filepath.Join(l.Unified, "outer/inner")) {
		t.Error("unified outer/inner left behind")
	}
	if !exists(pre) {
		t.Error("a directory golxc did not make was removed")
	}
	if left := lockFiles(t, l); len(left) != 0 {
		t.Errorf("locks left: %v", left)
	}
}

// TestCreateGroupPathUndo: a failure after some parents were made leaves
// nothing behind.
func TestCreateGroupPathUndo(t *testing.T) {
	l := v1Fixture(t, true)
	// A file where the unified parent should be makes mkdir fail there,
	// after the v1 hierarchies got their directories.
	mustWrite(t, filepath.Join(l.Unified, "p"), "")
	if _, err := l.CreateGroup("p/q/lxc.payload.", "c1"); err == nil {
		t.Fatal("CreateGroup succeeded through a file")
	}
	for _, h := range l.V1 {
		if exists(filepath.Join(h.Base, "p")) {
			t.Errorf("%s/p left behind", h.Base)
		}
	}
}

func TestCreateGroupPathRefusesEscape(t *testing.T) {
	l := v1Fixture(t, false)
	for _, prefix := range []string{"../", "a/../../", "/abs/", "a//"} {
		if g, err := l.CreateGroup(prefix+"lxc.payload.", "c1"); err == nil {
			g.Destroy()
			t.Errorf("CreateGroup(%q) succeeded", prefix)
		}
	}
}

// TestCreateGroupPathRace: containers coming and going under one shared
// lxc.cgroup.dir parent never fail, never share a group, and leave
// nothing behind: the last to leave removes the parent golxc made, and a
// creation that loses its parent to that removal makes it again.
func TestCreateGroupPathRace(t *testing.T) {
	l := v1Fixture(t, true)
	const workers, rounds = 8, 40
	errs := make(chan error, workers)
	for w := range workers {
		go func() {
			for r := range rounds {
				g, err := l.CreateGroup("shared/sub/lxc.payload.", "c"+string(rune('a'+w)))
				if err != nil {
					errs <- err
					return
				}
				if g.Name() != "shared/sub/lxc.payload.c"+string(rune('a'+w)) {
					errs <- fmt.Errorf("worker %d round %d: name %s", w, r, g.Name())
					return
				}
				if err := g.Destroy(); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range workers {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	for _, h := range append([]string{l.Unified}, l.V1[0].Base, l.V1[3].Base) {
		if exists(filepath.Join(h, "shared")) {
			t.Errorf("%s/shared left behind", h)
		}
	}
	if left := lockFiles(t, l); len(left) != 0 {
		t.Errorf("locks or marks left: %v", left)
	}
}

// lockFiles lists the lock directory but for the one lock of all
// intermediate directories, which stays.
func lockFiles(t *testing.T, l *Layout) []string {
	t.Helper()
	ents, err := os.ReadDir(l.LockDir)
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, e := range ents {
		if e.Name() != "%parents" {
			left = append(left, e.Name())
		}
	}
	return left
}
