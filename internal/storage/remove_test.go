package storage

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (mounts)")
	}
}

// mountTmpfs mounts a tmpfs holding the file keep at dir, unmounted at
// the test's end.
func mountTmpfs(t *testing.T, dir string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=1m"); err != nil {
		t.Fatalf("mount tmpfs on %s: %v", dir, err)
	}
	t.Cleanup(func() { _ = unix.Unmount(dir, unix.MNT_DETACH) })
	keep := filepath.Join(dir, "keep")
	if err := os.WriteFile(keep, []byte("data"), 0o644); err != nil {
		t.Fatal(err)
	}
	return keep
}

// TestRemoveTreeStaysOnItsMount: a tmpfs mounted deep in the tree keeps
// its file; the rest goes, a symlink to outside is removed, not followed,
// and the error names the mount point.
func TestRemoveTreeStaysOnItsMount(t *testing.T) {
	needRoot(t)
	tmp := t.TempDir()
	top := filepath.Join(tmp, "c1")
	outside := filepath.Join(tmp, "outside")
	if err := os.MkdirAll(filepath.Join(top, "rootfs", "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(outside, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(outside, "f"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(top, "rootfs", "etc", "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(top, "rootfs", "etc", "passwd"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	mnt := filepath.Join(top, "rootfs", "mnt")
	keep := mountTmpfs(t, mnt)

	err := RemoveTree(top)
	var mp *MountPointError
	if !errors.As(err, &mp) || mp.Path != mnt {
		t.Fatalf("RemoveTree = %v, want a mount point error naming %s", err, mnt)
	}
	if b, err := os.ReadFile(keep); err != nil || string(b) != "data" {
		t.Errorf("the tmpfs's file after RemoveTree: %q, %v; want it kept", b, err)
	}
	if _, err := os.Lstat(filepath.Join(top, "rootfs", "etc")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("rootfs/etc is still there (%v): the rest of the tree must go", err)
	}
	if _, err := os.Stat(filepath.Join(outside, "f")); err != nil {
		t.Errorf("the symlink's target was touched: %v", err)
	}
	// Unmounted, the rest goes.
	if err := unix.Unmount(mnt, 0); err != nil {
		t.Fatal(err)
	}
	if err := RemoveTree(top); err != nil {
		t.Fatalf("RemoveTree after the unmount: %v", err)
	}
	if _, err := os.Lstat(top); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s still there: %v", top, err)
	}
	if err := RemoveTree(top); err != nil {
		t.Errorf("RemoveTree of nothing: %v", err)
	}
}

// TestRemoveTreeRefusesAMountPoint: the top itself being a mount point is
// refused, its contents kept.
func TestRemoveTreeRefusesAMountPoint(t *testing.T) {
	needRoot(t)
	top := filepath.Join(t.TempDir(), "m")
	keep := mountTmpfs(t, top)
	var mp *MountPointError
	if err := RemoveTree(top); !errors.As(err, &mp) || mp.Path != top {
		t.Fatalf("RemoveTree(mount point) = %v, want a mount point error", err)
	}
	if _, err := os.Stat(keep); err != nil {
		t.Errorf("the mount's file: %v", err)
	}
}

func TestMountsUnder(t *testing.T) {
	needRoot(t)
	tmp := t.TempDir()
	a := filepath.Join(tmp, "c", "rootfs", "a b")
	mountTmpfs(t, a)
	mountTmpfs(t, filepath.Join(tmp, "other"))
	got, err := MountsUnder(filepath.Join(tmp, "c"))
	if err != nil || len(got) != 1 || got[0] != a {
		t.Fatalf("MountsUnder = %q, %v; want [%s]", got, err, a)
	}
	if got, err := MountsUnder(filepath.Join(tmp, "c", "rootfs", "a")); err == nil && len(got) != 0 {
		t.Errorf("MountsUnder of a sibling prefix = %q, want none", got)
	}
}

// TestRemoveTreeBtrfsSubvolume: a subvolume (same mount, another st_dev)
// is removed with the rest.
func TestRemoveTreeBtrfsSubvolume(t *testing.T) {
	needRoot(t)
	if _, err := exec.LookPath("mkfs.btrfs"); err != nil {
		t.Skip("mkfs.btrfs (btrfs-progs) is not installed")
	}
	tmp := t.TempDir()
	img := filepath.Join(tmp, "img")
	if err := os.WriteFile(img, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(img, 128<<20); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mkfs.btrfs", "-q", img).CombinedOutput(); err != nil {
		t.Fatalf("mkfs.btrfs: %v: %s", err, out)
	}
	m, err := MountDetached(Rootfs{Kind: Loop, Path: img})
	if err != nil {
		t.Skipf("the kernel cannot mount the btrfs image: %v", err)
	}
	mnt := filepath.Join(tmp, "mnt")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.MoveMount(m, "", unix.AT_FDCWD, mnt, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		unix.Close(m)
		t.Fatalf("attach the btrfs mount: %v", err)
	}
	unix.Close(m)
	t.Cleanup(func() { _ = unix.Unmount(mnt, unix.MNT_DETACH) })
	c := filepath.Join(mnt, "c")
	if err := os.Mkdir(c, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := CreateSubvolume(filepath.Join(c, "rootfs")); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(c, "rootfs", "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(c, "rootfs", "etc", "x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := RemoveTree(c); err != nil {
		t.Fatalf("RemoveTree of a tree with a subvolume: %v", err)
	}
	if _, err := os.Lstat(c); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s still there: %v", c, err)
	}
}

// TestRemoveTreeDeep: a tree deeper than the process may hold descriptors
// (here 5000 levels under a limit of 1024 open files) is removed whole.
func TestRemoveTreeDeep(t *testing.T) {
	tmp := t.TempDir() // removed after the limit is back
	var old unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
	low := old
	low.Cur = 1024
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &low); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = unix.Setrlimit(unix.RLIMIT_NOFILE, &old) })
	top := filepath.Join(tmp, "c")
	if err := os.Mkdir(top, 0o755); err != nil {
		t.Fatal(err)
	}
	deepTree(t, top, 5000)
	if err := RemoveTree(top); err != nil {
		msg := err.Error()
		t.Fatalf("RemoveTree of a 5000-deep tree: %s...%s", msg[:100], msg[len(msg)-100:])
	}
	if _, err := os.Lstat(top); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s still there: %v", top, err)
	}
}

func TestMountsUnderMissing(t *testing.T) {
	if got, err := MountsUnder(filepath.Join(t.TempDir(), "gone")); err != nil || len(got) != 0 {
		t.Errorf("MountsUnder(missing) = %q, %v; want nothing", got, err)
	}
}

// TestRemoveAtOneName: RemoveAt removes a tree by its name in an O_PATH
// directory descriptor, and refuses a path (whose lstat would follow
// the links on its way) rather than one name.
func TestRemoveAtOneName(t *testing.T) {
	dir := t.TempDir()
	outside := t.TempDir()
	keep := filepath.Join(outside, "keep")
	if err := os.WriteFile(keep, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "tree/sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	for _, bad := range []string{"link/keep", "..", ".", "", "tree/sub"} {
		if err := RemoveAt(fd, bad, dir); err == nil {
			t.Errorf("RemoveAt(%q) succeeded; want refused", bad)
		}
	}
	if _, err := os.Stat(keep); err != nil {
		t.Errorf("the file behind the link: %v", err)
	}
	for _, n := range []string{"tree", "link", "missing"} {
		if err := RemoveAt(fd, n, dir); err != nil {
			t.Errorf("RemoveAt(%q): %v", n, err)
		}
	}
	if names, _ := os.ReadDir(dir); len(names) != 0 {
		t.Errorf("left in %s: %v", dir, names)
	}
	if _, err := os.Stat(keep); err != nil {
		t.Errorf("the link's target: %v", err)
	}
}
