package namespace

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// writableClone does what a privileged container's root (CAP_SYS_ADMIN
// in the host's user namespace) can with the file /proc/PID/exe gives
// it: mount_setattr takes only a mount's root, so it clones a mount of
// the file alone (open_tree), clears MOUNT_ATTR_RDONLY of the clone, and
// returns it.
func writableClone(fd int) (int, error) {
	clone, err := unix.OpenTree(fd, "", unix.AT_EMPTY_PATH|unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	if err != nil {
		return -1, fmt.Errorf("open_tree clone: %w", err)
	}
	if err := unix.MountSetattr(clone, "", unix.AT_EMPTY_PATH, &unix.MountAttr{Attr_clr: unix.MOUNT_ATTR_RDONLY}); err != nil {
		unix.Close(clone)
		return -1, fmt.Errorf("mount_setattr clearing read-only: %w", err)
	}
	return clone, nil
}

func TestProtectedSelfOverlay(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (an overlay mount)")
	}
	f, err := overlaySelf()
	if errors.Is(err, unix.ENODEV) {
		t.Skip("no overlayfs in this kernel")
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var sfs unix.Statfs_t
	if err := unix.Fstatfs(int(f.Fd()), &sfs); err != nil || sfs.Type != unix.OVERLAYFS_SUPER_MAGIC {
		t.Fatalf("the protected binary is on file system %#x (%v), want overlayfs", sfs.Type, err)
	}
	want, err := os.ReadFile("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(ExecPath(int(f.Fd())))
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("the protected binary differs from the running one (%d bytes, want %d): %v", len(got), len(want), err)
	}
	// What a container's root holding /proc/PID/exe can try: a reopen for
	// writing, and the same after clearing the mount's read-only flag.
	for _, flag := range []int{os.O_WRONLY, os.O_RDWR} {
		if w, err := os.OpenFile(ExecPath(int(f.Fd())), flag, 0); err == nil {
			w.Close()
			t.Errorf("reopen of the protected binary with flags %#x succeeded", flag)
		}
	}
	// The clone is refused (the overlay's mount is in an anonymous
	// namespace of golxc's); were it not, the overlay stays read-only.
	if clone, err := writableClone(int(f.Fd())); err != nil {
		t.Logf("writable clone of the protected binary's mount: %v", err)
	} else {
		defer unix.Close(clone)
		if w, err := os.OpenFile(ExecPath(clone), os.O_WRONLY, 0); err == nil {
			w.Close()
			t.Error("the protected binary opened for writing once its mount's read-only flag was cleared")
		} else if !errors.Is(err, unix.EROFS) {
			t.Errorf("open for writing after clearing read-only: %v, want EROFS", err)
		}
	}
	// A regular file's descriptor leads to no directory.
	if _, err := unix.Openat(int(f.Fd()), "..", unix.O_PATH, 0); err == nil {
		t.Error("openat(.., the protected binary) succeeded")
	}
	cmd := exec.Command(ExecPath(3), "-test.list", "TestProtectedSelfOverlay")
	cmd.ExtraFiles = []*os.File{f}
	out, err := cmd.CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("TestProtectedSelfOverlay")) {
		t.Fatalf("exec of the protected binary: %v: %s", err, out)
	}
}

// Why not a read-only bind mount: the read-only flag is the mount's, and
// root with CAP_SYS_ADMIN that can clone the mount (here its creator)
// clears it on the clone and writes the file underneath. A container's
// root is refused the clone of golxc's detached mount on the kernels
// tried (6.18), but the overlay does not rest on that: its superblock has
// nowhere to write.
func TestReadOnlyBindMountIsNotEnough(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (a bind mount)")
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "bin")
	if err := os.WriteFile(file, []byte("original"), 0o755); err != nil {
		t.Fatal(err)
	}
	tree, err := unix.OpenTree(unix.AT_FDCWD, dir, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(tree)
	if err := unix.MountSetattr(tree, "", unix.AT_EMPTY_PATH, &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}); err != nil {
		t.Fatal(err)
	}
	fd, err := unix.Openat(tree, "bin", unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if _, err := os.OpenFile(ExecPath(fd), os.O_WRONLY, 0); !errors.Is(err, unix.EROFS) {
		t.Fatalf("open for writing on the read-only bind mount: %v, want EROFS", err)
	}
	clone, err := writableClone(fd)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(clone)
	w, err := os.OpenFile(ExecPath(clone), os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		t.Fatalf("open for writing once read-only was cleared: %v (the bind mount would be enough)", err)
	}
	w.WriteString("rewritten")
	w.Close()
	if b, _ := os.ReadFile(file); string(b) != "rewritten" {
		t.Fatalf("the file reads %q after the write through the cleared bind mount", b)
	}
}

// What each protection costs an attach: the overlay against the copy.
func BenchmarkProtectedSelf(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root (an overlay mount)")
	}
	for b.Loop() {
		f, err := overlaySelf()
		if err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
}

func BenchmarkSealedSelf(b *testing.B) {
	for b.Loop() {
		f, err := SealedSelf()
		if err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
}
