package storage

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		want Rootfs
		err  string
	}{
		{raw: "/var/lib/lxc/c1/rootfs", want: Rootfs{Kind: Dir, Path: "/var/lib/lxc/c1/rootfs"}},
		{raw: "dir:/srv/r/", want: Rootfs{Kind: Dir, Path: "/srv/r"}},
		{raw: "overlay:/l/a/rootfs:/l/b/overlay/delta", want: Rootfs{Kind: Overlay, Lower: "/l/a/rootfs", Path: "/l/b/overlay/delta"}},
		{raw: "overlayfs:/x:/y", want: Rootfs{Kind: Overlay, Lower: "/x", Path: "/y"}},
		{raw: "btrfs:/b/rootfs", want: Rootfs{Kind: Btrfs, Path: "/b/rootfs"}},
		{raw: "loop:/l/c/rootdev", want: Rootfs{Kind: Loop, Path: "/l/c/rootdev"}},
		{raw: "lvm:/dev/lxc/c1", err: "backing store lvm is not supported"},
		{raw: "zfs:lxc/c1", err: "backing store zfs is not supported"},
		{raw: "rbd:pool/c1", err: "backing store rbd is not supported"},
		{raw: "nbd:/x", err: "backing store nbd is not supported"},
		{raw: "overlay:/x", err: "want overlay:LOWER:UPPER"},
		{raw: "dir:relative", err: "not an absolute path"},
		{raw: "weird:/x", err: "unknown backing store"},
		{raw: "", err: "not set"},
	} {
		got, err := Parse(tc.raw)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Parse(%q) = %v, %v; want an error with %q", tc.raw, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", tc.raw, got, err, tc.want)
		}
		if again, err := Parse(got.String()); err != nil || again != got {
			t.Errorf("Parse(%q.String() = %q) = %+v, %v: does not round-trip", tc.raw, got.String(), again, err)
		}
	}
}

func TestParseKind(t *testing.T) {
	for _, ok := range []string{"dir", "overlay", "overlayfs", "btrfs", "loop"} {
		if _, err := ParseKind(ok); err != nil {
			t.Errorf("ParseKind(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"lvm", "zfs", "rbd", "nbd", "best"} {
		if _, err := ParseKind(bad); err == nil || strings.Count(err.Error(), "\n") > 0 || !strings.Contains(err.Error(), bad) {
			t.Errorf("ParseKind(%q) = %v, want a one-line refusal naming it", bad, err)
		}
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"1G": 1 << 30, "512M": 512 << 20, "64MB": 64 << 20, "4096": 4096, "2k": 2048, "1GiB": 1 << 30} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "G", "-1G", "1X", "99999999999T"} {
		if _, err := ParseSize(bad); err == nil {
			t.Errorf("ParseSize(%q): no error", bad)
		}
	}
}

// TestCopyTreeHolesLinks: holes and hardlinks survive a copy, and a
// symlink at the top is refused (as any uid can run it on its own files).
func TestCopyTreeHolesLinks(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	f, err := os.Create(filepath.Join(src, "sparse"))
	if err != nil {
		t.Fatal(err)
	}
	f.Truncate(32 << 20)
	f.WriteAt([]byte("x"), 16<<20)
	f.Close()
	os.WriteFile(filepath.Join(src, "a"), []byte("a"), 0o640)
	os.Link(filepath.Join(src, "a"), filepath.Join(src, "b"))
	os.Symlink("/etc", filepath.Join(src, "etc"))
	if err := CopyTree(src, dst); err != nil {
		t.Fatal(err)
	}
	var s, a, b syscall.Stat_t
	syscall.Stat(filepath.Join(dst, "sparse"), &s)
	if s.Size != 32<<20 || s.Blocks*512 > 1<<20 {
		t.Errorf("sparse copy: size %d, %d bytes allocated", s.Size, s.Blocks*512)
	}
	syscall.Stat(filepath.Join(dst, "a"), &a)
	syscall.Stat(filepath.Join(dst, "b"), &b)
	if a.Ino != b.Ino || a.Mode&0o777 != 0o640 {
		t.Errorf("hardlinks a and b: inodes %d %d mode %#o", a.Ino, b.Ino, a.Mode&0o777)
	}
	if l, err := os.Readlink(filepath.Join(dst, "etc")); err != nil || l != "/etc" {
		t.Errorf("symlink copy: %q %v", l, err)
	}
	if err := CopyTree(filepath.Join(src, "etc"), t.TempDir()); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("CopyTree of a link to /etc: %v, want a refusal", err)
	}
}
