package lxc

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// mkContainer makes lxcpath/name, with a config file when withConfig.
func mkContainer(t *testing.T, lxcpath, name string, withConfig bool) {
	t.Helper()
	dir := filepath.Join(lxcpath, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if withConfig {
		if err := os.WriteFile(filepath.Join(dir, "config"), []byte("lxc.uts.name = "+name+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestList(t *testing.T) {
	lxcpath := t.TempDir()
	for _, n := range []string{"web-02", "a1", "web-01", "Zeta", "ü"} {
		mkContainer(t, lxcpath, n, true)
	}
	mkContainer(t, lxcpath, "noconfig", false)
	mkContainer(t, lxcpath, ".hidden", true)
	mkContainer(t, lxcpath, ".c1.creating-123", true)
	// A config that is a directory is not a config.
	if err := os.MkdirAll(filepath.Join(lxcpath, "confdir", "config"), 0o755); err != nil {
		t.Fatal(err)
	}
	// Plain files in the lxcpath are not containers.
	if err := os.WriteFile(filepath.Join(lxcpath, "file"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(lxcpath, "lxc-monitord.log"), nil, 0o644); err != nil {
		t.Fatal(err)
	}

	got, err := List(lxcpath)
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	want := []string{"Zeta", "a1", "web-01", "web-02", "ü"} // byte order, as sort.Strings
	if !reflect.DeepEqual(got, want) {
		t.Errorf("List = %q, want %q", got, want)
	}

	t.Run("missing lxcpath is empty", func(t *testing.T) {
		got, err := List(filepath.Join(t.TempDir(), "nope"))
		if err != nil || len(got) != 0 {
			t.Errorf("List(missing) = %q, %v; want empty, nil", got, err)
		}
	})
	t.Run("lxcpath is a file", func(t *testing.T) {
		f := filepath.Join(t.TempDir(), "f")
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if got, err := List(f); err == nil {
			t.Errorf("List(file) = %q, nil; want an error", got)
		} else if !strings.Contains(err.Error(), f) {
			t.Errorf("List(file) error %q does not name %s", err, f)
		}
	})
	t.Run("empty lxcpath dir", func(t *testing.T) {
		got, err := List(t.TempDir())
		if err != nil || len(got) != 0 {
			t.Errorf("List(empty) = %q, %v; want empty, nil", got, err)
		}
	})
}

func TestDefined(t *testing.T) {
	lxcpath := t.TempDir()
	mkContainer(t, lxcpath, "yes", true)
	mkContainer(t, lxcpath, "noconfig", false)
	if err := os.MkdirAll(filepath.Join(lxcpath, "confdir", "config"), 0o755); err != nil {
		t.Fatal(err)
	}
	mkContainer(t, lxcpath, "linked", false)
	target := filepath.Join(t.TempDir(), "real-config")
	if err := os.WriteFile(target, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, filepath.Join(lxcpath, "linked", "config")); err != nil {
		t.Fatal(err)
	}
	mkContainer(t, lxcpath, "dangling", false)
	if err := os.Symlink(filepath.Join(lxcpath, "nowhere"), filepath.Join(lxcpath, "dangling", "config")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		want bool
	}{
		{"yes", true},
		{"noconfig", false},
		{"confdir", false},
		{"missing", false},
		{"linked", true},
		{"dangling", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(lxcpath, tt.name)
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Defined(); got != tt.want {
				t.Errorf("Defined() = %v, want %v", got, tt.want)
			}
			err = c.mustBeDefined()
			var nd *ErrNotDefined
			if tt.want && err != nil {
				t.Errorf("mustBeDefined() = %v, want nil", err)
			}
			if !tt.want && (!errors.As(err, &nd) || nd.Name != tt.name || err.Error() != tt.name+" doesn't exist") {
				t.Errorf("mustBeDefined() = %v, want ErrNotDefined{%q}", err, tt.name)
			}
		})
	}
}

// lockedContainer returns a container in a fresh lxcpath whose lock
// directory under /run is removed at cleanup: only the directories this
// test made, deepest first, and only when empty (another golxc may share a
// parent).
func lockedContainer(t *testing.T, name string) *Container {
	t.Helper()
	skipUnlessRoot(t)
	c, err := New(t.TempDir(), name)
	if err != nil {
		t.Fatal(err)
	}
	var made []string
	for d := filepath.Dir(c.lockPath()); d != lockRoot() && strings.HasPrefix(d, lockRoot()+"/"); d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil {
			break
		}
		made = append(made, d)
	}
	t.Cleanup(func() {
		os.Remove(c.lockPath())
		for _, d := range made {
			os.Remove(d)
		}
	})
	return c
}

func TestLockPath(t *testing.T) {
	c := &Container{Name: "c1", LXCPath: "/var/lib/lxc"}
	if got, want := c.lockPath(), "/run/golxc/lock/var/lib/lxc/.c1"; got != want {
		t.Errorf("lockPath = %q, want %q", got, want)
	}
}

func TestTryLockConflicts(t *testing.T) {
	c := lockedContainer(t, "c1")
	// A second Container value for the same container: a different open
	// file description, as another process would have.
	other := &Container{Name: c.Name, LXCPath: c.LXCPath}

	l1, err := c.TryLock()
	if err != nil {
		t.Fatalf("first TryLock: %v", err)
	}
	t.Cleanup(l1.Release)
	if l1.File() == nil {
		t.Fatal("held lock has no file")
	}

	for i := range 2 {
		l2, err := other.TryLock()
		if !errors.Is(err, ErrLocked) {
			l2.Release()
			t.Fatalf("TryLock #%d while held = %v, want ErrLocked", i+2, err)
		}
		if l2 != nil {
			t.Errorf("TryLock returned a lock with ErrLocked")
		}
	}

	// Another container of the same store is not affected.
	neighbour := &Container{Name: "c2", LXCPath: c.LXCPath}
	t.Cleanup(func() { os.Remove(neighbour.lockPath()) })
	l3, err := neighbour.TryLock()
	if err != nil {
		t.Fatalf("TryLock of another container: %v", err)
	}
	l3.Release()

	l1.Release()
	if l1.File() != nil {
		t.Error("released lock still has a file")
	}
	l1.Release() // twice is harmless
	var nilLock *Lock
	nilLock.Release()

	l4, err := other.TryLock()
	if err != nil {
		t.Fatalf("TryLock after Release: %v", err)
	}
	l4.Release()
}

func TestTryLockAfterRemove(t *testing.T) {
	// destroy unlinks the lock file while holding it; the next taker makes
	// a new file and must get it, not wait on the unlinked one.
	c := lockedContainer(t, "c1")
	l1, err := c.TryLock()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l1.Release)
	l1.remove()
	if _, err := os.Stat(c.lockPath()); !os.IsNotExist(err) {
		t.Fatalf("lock file after remove: %v, want gone", err)
	}
	l2, err := c.TryLock()
	if err != nil {
		t.Fatalf("TryLock after remove: %v", err)
	}
	l2.Release()
}

// lockWaiters counts the flock(2) waiters /proc/locks lists on inode ino
// (lines with "->": blocked on a held lock).
func lockWaiters(t *testing.T, ino uint64) int {
	t.Helper()
	b, err := os.ReadFile("/proc/locks")
	if err != nil {
		t.Skipf("no /proc/locks: %v", err)
	}
	n := 0
	suffix := ":" + strconv.FormatUint(ino, 10)
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 7 || f[1] != "->" || f[2] != "FLOCK" {
			continue
		}
		if strings.HasSuffix(f[6], suffix) {
			n++
		}
	}
	return n
}

func TestWaitLock(t *testing.T) {
	c := lockedContainer(t, "c1")
	other := &Container{Name: c.Name, LXCPath: c.LXCPath}
	l1, err := c.TryLock()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l1.Release)
	var st unix.Stat_t
	if err := unix.Fstat(int(l1.File().Fd()), &st); err != nil {
		t.Fatal(err)
	}

	type result struct {
		l   *Lock
		err error
	}
	done := make(chan result, 1)
	go func() {
		l, err := other.WaitLock()
		done <- result{l, err}
	}()
	received := false
	t.Cleanup(func() {
		// Unblock the waiter whatever happened, and release what it got.
		l1.Release()
		if !received {
			if r := <-done; r.l != nil {
				r.l.Release()
			}
		}
	})

	// The kernel lists the waiter once it is blocked in flock(2).
	deadline := time.Now().Add(10 * time.Second)
	for lockWaiters(t, st.Ino) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("WaitLock never blocked on the held lock")
		}
		time.Sleep(time.Millisecond)
	}
	select {
	case r := <-done:
		received = true
		t.Fatalf("WaitLock returned (%v, %v) while the lock was held", r.l, r.err)
	default:
	}

	l1.Release()
	r := <-done
	received = true
	if r.err != nil {
		t.Fatalf("WaitLock after release: %v", r.err)
	}
	t.Cleanup(r.l.Release)
	if l, err := c.TryLock(); !errors.Is(err, ErrLocked) {
		l.Release()
		t.Errorf("TryLock while WaitLock's lock is held = %v, want ErrLocked", err)
	}
}
