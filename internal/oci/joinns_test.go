package oci

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestOpenNamespaceFile: a namespace file opens; a regular file, a
// directory and a FIFO (whose open would block) are refused without
// being opened.
func TestOpenNamespaceFile(t *testing.T) {
	f, err := openNamespaceFile("/proc/self/ns/net")
	if err != nil {
		t.Fatalf("open /proc/self/ns/net: %v", err)
	}
	typ, err := unix.IoctlRetInt(int(f.Fd()), unix.NS_GET_NSTYPE)
	f.Close()
	if err != nil || typ != unix.CLONE_NEWNET {
		t.Errorf("NS_GET_NSTYPE of the opened file: %#x, %v; want CLONE_NEWNET", typ, err)
	}
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	plain := filepath.Join(dir, "plain")
	if err := os.WriteFile(plain, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{fifo, plain, dir} {
		if f, err := openNamespaceFile(p); err == nil || !strings.Contains(err.Error(), "not a namespace file") {
			if f != nil {
				f.Close()
			}
			t.Errorf("openNamespaceFile(%s) = %v; want not a namespace file", p, err)
		}
	}
}

// TestCheckJoinedUserOwn: the caller's own user namespace is refused.
func TestCheckJoinedUserOwn(t *testing.T) {
	f, err := openNamespaceFile("/proc/self/ns/user")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := checkJoinedUser(f, "/proc/self/ns/user"); err == nil || !strings.Contains(err.Error(), "golxc-runc's own") {
		t.Errorf("checkJoinedUser of its own namespace: %v", err)
	}
}
