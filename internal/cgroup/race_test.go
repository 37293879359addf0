package cgroup

import (
	"errors"
	"maps"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// parentLayout is the host's layout with every hierarchy's base moved to a
// test parent cgroup of its own (golxctest-<random>) and locks in a temp
// dir, so the test can use a name like lxc.payload.c1 without meeting
// anyone else's. Cleanup removes whatever is left under the parents.
func parentLayout(t *testing.T, withUnified bool) *Layout {
	t.Helper()
	needRoot(t)
	host, err := Detect()
	if err != nil {
		t.Fatal(err)
	}
	parent := testName(t)
	l := &Layout{LockDir: t.TempDir()}
	var bases, cpusets []string
	for _, h := range host.V1 {
		h.Base = filepath.Join(h.Base, parent)
		l.V1 = append(l.V1, h)
		bases = append(bases, h.Base)
		if h.HasController("cpuset") {
			cpusets = append(cpusets, h.Base)
		}
	}
	if withUnified && host.Unified != "" {
		l.Unified = filepath.Join(host.Unified, parent)
		bases = append(bases, l.Unified)
	}
	if len(l.V1) == 0 {
		t.Skip("no cgroup v1 hierarchy on this host")
	}
	// Registered first: a failure half-way still removes what was made.
	t.Cleanup(func() {
		for _, b := range bases {
			ents, _ := os.ReadDir(b)
			for _, e := range ents {
				if e.IsDir() {
					if err := os.Remove(filepath.Join(b, e.Name())); err != nil {
						t.Errorf("cleanup: %v", err)
					}
				}
			}
			if err := os.Remove(b); err != nil && !errors.Is(err, os.ErrNotExist) {
				t.Errorf("cleanup: %v", err)
			}
		}
	})
	for _, b := range bases {
		if err := os.Mkdir(b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, b := range cpusets {
		// Children copy cpus and mems from the parent: it needs some.
		if err := initCpuset(b); err != nil {
			t.Fatal(err)
		}
	}
	return l
}

// children lists the cgroups under the test parents, per hierarchy.
func children(t *testing.T, l *Layout) []string {
	t.Helper()
	var out []string
	for _, p := range l.Group("x").dirs() {
		ents, err := os.ReadDir(filepath.Dir(p))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			if e.IsDir() {
				out = append(out, filepath.Join(filepath.Dir(p), e.Name()))
			}
		}
	}
	return out
}

// TestCreateGroupLiveEmptyNotTaken: the fresh, still empty group of one
// creator (container c1 of lxcpath A, before its init enters) is never
// removed and made again by a second creator of the same name (c1 of
// lxcpath B): the second gets lxc.payload.c1-1.
func TestCreateGroupLiveEmptyNotTaken(t *testing.T) {
	l := parentLayout(t, true)
	a, err := l.CreateGroup("lxc.payload.", "c1")
	if err != nil {
		t.Fatal(err)
	}
	before := dirInodes(t, a)
	b, err := l.CreateGroup("lxc.payload.", "c1")
	if err != nil {
		t.Fatal(err)
	}
	if a.Name() != "lxc.payload.c1" || b.Name() != "lxc.payload.c1-1" {
		t.Errorf("names %q and %q, want lxc.payload.c1 and lxc.payload.c1-1", a.Name(), b.Name())
	}
	if after := dirInodes(t, a); !maps.Equal(after, before) {
		t.Errorf("%s was removed and made again by the second creator: inodes %v, were %v", a.Name(), after, before)
	}
	for _, g := range []*Group{b, a} {
		if err := g.Destroy(); err != nil {
			t.Fatal(err)
		}
	}
	if left := children(t, l); len(left) > 0 {
		t.Errorf("left after Destroy: %v", left)
	}
	if ents, _ := os.ReadDir(l.LockDir); len(ents) > 0 {
		t.Errorf("lock files left after Destroy: %v", ents)
	}
}

// TestCreateGroupRace: two creators of the same name at the same moment,
// many times over, always end with two distinct groups, each whole in
// every hierarchy, and nothing left once both are destroyed.
func TestCreateGroupRace(t *testing.T) {
	l := parentLayout(t, true)
	const rounds = 300
	for round := 0; round < rounds; round++ {
		var (
			wg     sync.WaitGroup
			start  = make(chan struct{})
			groups [2]*Group
			errs   [2]error
		)
		for i := range groups {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				groups[i], errs[i] = l.CreateGroup("lxc.payload.", "c1")
			}()
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("round %d: creator %d: %v", round, i, err)
			}
		}
		a, b := groups[0], groups[1]
		if a.Name() == b.Name() {
			t.Fatalf("round %d: both creators got %s: one took over the other's group", round, a.Name())
		}
		names := []string{a.Name(), b.Name()}
		if !(names[0] == "lxc.payload.c1" || names[1] == "lxc.payload.c1") {
			t.Errorf("round %d: names %v, want one of them lxc.payload.c1", round, names)
		}
		for _, g := range groups {
			for _, p := range g.dirs() {
				if fi, err := os.Stat(p); err != nil || !fi.IsDir() {
					t.Fatalf("round %d: %s: %v", round, p, err)
				}
			}
		}
		for _, g := range groups {
			if err := g.Destroy(); err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		}
		if left := children(t, l); len(left) > 0 {
			t.Fatalf("round %d: left after Destroy: %v", round, left)
		}
	}
	if ents, _ := os.ReadDir(l.LockDir); len(ents) > 0 {
		t.Errorf("lock files left: %d", len(ents))
	}
}

// TestRemoveStale: lxc-destroy's sweep removes a stale group, and leaves a
// live one (held by its creator, even empty) alone.
func TestRemoveStale(t *testing.T) {
	l := parentLayout(t, true)
	live, err := l.CreateGroup("lxc.payload.", "c1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = live.Destroy() })
	if err := l.RemoveStale(live.Name()); err != nil {
		t.Fatal(err)
	}
	if !live.exists() {
		t.Fatalf("RemoveStale removed the live group %s", live.Name())
	}
	stale := l.Group("lxc.monitor.c1")
	for _, p := range stale.dirs() {
		if err := os.Mkdir(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.RemoveStale(stale.Name()); err != nil {
		t.Fatal(err)
	}
	if stale.exists() {
		t.Errorf("RemoveStale left the stale group %s", stale.Name())
	}
	if err := l.RemoveStale("lxc.monitor.nosuch"); err != nil {
		t.Errorf("RemoveStale of a missing group: %v", err)
	}
}

// A group destroyed by a process that only looked it up (golxc-runc
// delete, after the create that held the name exited) takes the name's
// lock file with it, unless someone holds the name again.
func TestDestroyLookedUpDropsNameLock(t *testing.T) {
	l := parentLayout(t, true)
	lockFile := func(g *Group) string { return filepath.Join(l.LockDir, lockFileName(g.Name())) }
	g, err := l.CreateGroup("lxc.payload.", "c1")
	if err != nil {
		t.Fatal(err)
	}
	// Its creator exits: the flock goes, the file stays.
	g.lock.f.Close()
	g.lock = nil
	if _, err := os.Stat(lockFile(g)); err != nil {
		t.Fatalf("the creator's lock file: %v", err)
	}
	if err := l.Group(g.Name()).Destroy(); err != nil {
		t.Fatal(err)
	}
	if g.exists() {
		t.Fatalf("Destroy left %s", g.Name())
	}
	if _, err := os.Stat(lockFile(g)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the name's lock file after the group is gone: %v, want it removed", err)
	}

	// Held by someone: the file stays.
	h, err := l.CreateGroup("lxc.payload.", "c2")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Destroy() })
	other := l.Group(h.Name())
	// The directories go (as a stale teardown would), the name is still
	// h's.
	if err := other.Destroy(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(lockFile(h)); err != nil {
		t.Errorf("a held name's lock file after a looked-up Destroy: %v, want it kept", err)
	}
}
