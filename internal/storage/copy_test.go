package storage

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// deepTree makes a chain of depth directories named d under root, by
// descriptor (the path is far beyond PATH_MAX), with a file at the bottom.
func deepTree(t *testing.T, root string, depth int) {
	t.Helper()
	fd, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < depth; i++ {
		if err := unix.Mkdirat(fd, "d", 0o755); err != nil {
			t.Fatalf("mkdir level %d: %v", i, err)
		}
		next, err := unix.Openat(fd, "d", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		unix.Close(fd)
		if err != nil {
			t.Fatal(err)
		}
		fd = next
	}
	defer unix.Close(fd)
	f, err := unix.Openat(fd, "bottom", unix.O_CREAT|unix.O_WRONLY|unix.O_CLOEXEC, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	unix.Close(f)
}

// TestCopyTreeDepthCap: a tree MaxCopyDepth directories deep is copied
// whole; one level deeper is refused in one line naming the path.
func TestCopyTreeDepthCap(t *testing.T) {
	for _, tc := range []struct {
		depth int
		err   bool
	}{{MaxCopyDepth, false}, {MaxCopyDepth + 1, true}} {
		tmp := t.TempDir()
		src, dst := filepath.Join(tmp, "src"), filepath.Join(tmp, "dst")
		for _, d := range []string{src, dst} {
			if err := os.Mkdir(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		deepTree(t, src, tc.depth)
		err := CopyTree(src, dst)
		if !tc.err {
			if err != nil {
				t.Fatalf("copy of a %d-deep tree: %v", tc.depth, err)
			}
			// The bottom file made it: walk down by descriptor.
			fd, _ := unix.Open(dst, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
			for i := 0; i < tc.depth; i++ {
				next, err := unix.Openat(fd, "d", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
				unix.Close(fd)
				if err != nil {
					t.Fatalf("copy of a %d-deep tree: level %d missing: %v", tc.depth, i, err)
				}
				fd = next
			}
			var st unix.Stat_t
			if err := unix.Fstatat(fd, "bottom", &st, 0); err != nil {
				t.Errorf("copy of a %d-deep tree: the bottom file is missing: %v", tc.depth, err)
			}
			unix.Close(fd)
			continue
		}
		want := "deeper than 4096 directories: refused"
		if err == nil || !strings.Contains(err.Error(), want) || !strings.HasPrefix(err.Error(), "copy "+src+"/d/d/") || strings.Contains(err.Error(), "\n") {
			msg := "<nil>"
			if err != nil {
				msg = err.Error()[:min(len(err.Error()), 200)] + "..."
			}
			t.Errorf("copy of a %d-deep tree: %s; want one line naming the path and %q", tc.depth, msg, want)
		}
	}
}

// TestCopyTreeMergesLostFound: a fresh ext4 image's empty lost+found is
// where the source's goes; a non-empty one is refused.
func TestCopyTreeMergesLostFound(t *testing.T) {
	tmp := t.TempDir()
	src, dst := filepath.Join(tmp, "src"), filepath.Join(tmp, "dst")
	for _, d := range []string{src + "/lost+found", src + "/etc/lost+found", dst + "/lost+found"} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(src+"/lost+found/#123", []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := CopyTree(src, dst); err != nil {
		t.Fatalf("copy into a tree with an empty lost+found: %v", err)
	}
	for _, f := range []string{"lost+found/#123", "etc/lost+found"} {
		if _, err := os.Lstat(filepath.Join(dst, f)); err != nil {
			t.Errorf("copy: %s missing: %v", f, err)
		}
	}
	dst2 := filepath.Join(tmp, "dst2")
	if err := os.MkdirAll(dst2+"/lost+found", 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst2+"/lost+found/other", nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := CopyTree(src, dst2); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("copy into a tree whose lost+found is not empty: %v, want a refusal", err)
	}
}

// TestCopyAndRemoveSkipABindMount: a bind mount of a directory of the
// tree's own filesystem (same device number) is a mount point to both
// the copier and the remover: copied as an empty directory, left whole
// (and named) by the removal.
func TestCopyAndRemoveSkipABindMount(t *testing.T) {
	needRoot(t)
	base := t.TempDir()
	tree, host, dst := filepath.Join(base, "tree"), filepath.Join(base, "host"), filepath.Join(base, "copy")
	for _, d := range []string{filepath.Join(tree, "sub/bind"), host, dst} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{filepath.Join(tree, "sub/file"), filepath.Join(host, "keep")} {
		if err := os.WriteFile(f, []byte("data"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bind := filepath.Join(tree, "sub/bind")
	if err := unix.Mount(host, bind, "", unix.MS_BIND, ""); err != nil {
		t.Fatalf("bind %s on %s: %v", host, bind, err)
	}
	t.Cleanup(func() { _ = unix.Unmount(bind, unix.MNT_DETACH) })
	var a, b unix.Stat_t
	if unix.Stat(tree, &a) != nil || unix.Stat(bind, &b) != nil || a.Dev != b.Dev {
		t.Fatalf("the bind mount is not of the tree's filesystem (devices %d, %d)", a.Dev, b.Dev)
	}

	if err := CopyTree(tree, dst); err != nil {
		t.Fatalf("CopyTree: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dst, "sub/file")); err != nil {
		t.Errorf("the tree's own file was not copied: %v", err)
	}
	if names, err := os.ReadDir(filepath.Join(dst, "sub/bind")); err != nil || len(names) != 0 {
		t.Errorf("the bind mount's copy: %v, %v; want an empty directory", names, err)
	}

	err := RemoveTree(tree)
	var mp *MountPointError
	if !errors.As(err, &mp) || mp.Path != bind {
		t.Errorf("RemoveTree: %v; want a mount point error naming %s", err, bind)
	}
	if _, err := os.Stat(filepath.Join(host, "keep")); err != nil {
		t.Errorf("the bind mount's file: %v", err)
	}
	if _, err := os.Lstat(filepath.Join(tree, "sub/file")); err == nil {
		t.Error("the tree's own file was left")
	}
}
