package lxc

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReserveName: the name a create or a copy makes is taken by a
// config, by a directory without one, and by anything else there, a
// dangling symlink too, which is never followed; a refusal leaves no
// lock file behind but an existing container's.
func TestReserveName(t *testing.T) {
	outside := t.TempDir()
	for _, c := range []struct {
		what      string
		make      func(t *testing.T, dir string)
		want      string // "" for free
		keepsLock bool
	}{
		{"free", func(*testing.T, string) {}, "", true},
		{"a container", func(t *testing.T, dir string) { mkContainer(t, filepath.Dir(dir), filepath.Base(dir), true) }, "already exists", true},
		{"a directory without a config", func(t *testing.T, dir string) { mkContainer(t, filepath.Dir(dir), filepath.Base(dir), false) }, "a directory without a config", false},
		{"a dangling symlink", func(t *testing.T, dir string) { symlink(t, filepath.Join(outside, "target"), dir) }, "a directory without a config", false},
		{"a symlink to a directory", func(t *testing.T, dir string) { symlink(t, outside, dir) }, "a directory without a config", false},
		{"a file", func(t *testing.T, dir string) {
			if err := os.WriteFile(dir, nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}, "a directory without a config", false},
	} {
		t.Run(c.what, func(t *testing.T) {
			ct := lockedContainer(t, "c1")
			c.make(t, ct.Dir())
			lock, err := ct.reserveName()
			if c.want == "" {
				if err != nil {
					t.Fatalf("reserveName: %v", err)
				}
				lock.Release()
			} else if err == nil || !strings.Contains(err.Error(), c.want) {
				lock.Release()
				t.Fatalf("reserveName: %v; want an error saying %q", err, c.want)
			}
			if _, err := os.Stat(ct.lockPath()); (err == nil) != c.keepsLock {
				t.Errorf("lock file after reserveName: %v; kept: want %v", err, c.keepsLock)
			}
			if _, err := os.Lstat(filepath.Join(outside, "target")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the symlink's target was made: %v", err)
			}
		})
	}
	t.Run("locked", func(t *testing.T) {
		ct := lockedContainer(t, "c1")
		held, err := ct.TryLock()
		if err != nil {
			t.Fatal(err)
		}
		defer held.Release()
		other := &Container{Name: ct.Name, LXCPath: ct.LXCPath}
		if l, err := other.reserveName(); err == nil || !strings.Contains(err.Error(), "being created") {
			l.Release()
			t.Errorf("reserveName of a locked name: %v; want being created", err)
		}
	})
}

func symlink(t *testing.T, target, name string) {
	t.Helper()
	if err := os.Symlink(target, name); err != nil {
		t.Fatal(err)
	}
}
