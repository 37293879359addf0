package image

import (
	"archive/tar"
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/golxc/golxc/internal/image/imagetest"
)

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("needs root (CI=true: refusing to skip)")
		}
		t.Skip("needs root (chown, mknod)")
	}
}

func mustTar(t *testing.T, e ...imagetest.Entry) []byte {
	t.Helper()
	b, err := imagetest.Tar(e)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func unpackAll(t *testing.T, root string, shift IDShift, layers ...[]byte) error {
	t.Helper()
	u, err := NewUnpacker(root, shift)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	for _, l := range layers {
		if err := u.Apply(bytes.NewReader(l)); err != nil {
			return err
		}
	}
	return nil
}

func lstat(t *testing.T, p string) unix.Stat_t {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		t.Fatalf("lstat %s: %v", p, err)
	}
	return st
}

func TestApplyLayers(t *testing.T) {
	needRoot(t)
	root := t.TempDir()
	mt := time.Date(2019, 5, 6, 7, 8, 9, 0, time.UTC)
	l1 := mustTar(t,
		imagetest.Entry{Name: "./", Type: tar.TypeDir, Mode: 0o755},
		imagetest.Entry{Name: "etc/", Type: tar.TypeDir, Mode: 0o755},
		imagetest.Entry{Name: "etc/gone", Data: []byte("old"), Mode: 0o644},
		imagetest.Entry{Name: "opq/", Type: tar.TypeDir, Mode: 0o750, UID: 7, GID: 8},
		imagetest.Entry{Name: "opq/old", Data: []byte("old"), Mode: 0o644},
		imagetest.Entry{Name: "opq/olddir/", Type: tar.TypeDir, Mode: 0o755},
		imagetest.Entry{Name: "opq/olddir/f", Data: []byte("x"), Mode: 0o644},
		imagetest.Entry{Name: "deep/a/b/", Type: tar.TypeDir, Mode: 0o711},
		imagetest.Entry{Name: "keep/", Type: tar.TypeDir, Mode: 0o755, ModTime: mt},
		imagetest.Entry{Name: "keep/f", Data: []byte("f"), Mode: 0o644},
		imagetest.Entry{Name: "replaced", Type: tar.TypeDir, Mode: 0o755},
		imagetest.Entry{Name: "replaced/x", Data: []byte("x"), Mode: 0o644},
	)
	l2 := mustTar(t,
		imagetest.Entry{Name: "etc/.wh.gone"},
		imagetest.Entry{Name: "opq/new", Data: []byte("new"), Mode: 0o600},
		imagetest.Entry{Name: "opq/.wh..wh..opq"},
		imagetest.Entry{Name: "bin/suid", Data: []byte("#!/bin/sh\n"), Mode: 0o4755, UID: 1000, GID: 1000},
		imagetest.Entry{Name: "bin/hard", Type: tar.TypeLink, Linkname: "bin/suid"},
		imagetest.Entry{Name: "bin/sym", Type: tar.TypeSymlink, Linkname: "/bin/suid", UID: 5, GID: 6},
		imagetest.Entry{Name: "x/attr", Data: []byte("a"), Mode: 0o640, Xattrs: map[string]string{"user.golxc": "v1", "trusted.overlay.opaque": "y"}, ModTime: mt},
		imagetest.Entry{Name: "dev/null2", Type: tar.TypeChar, Mode: 0o666, Major: 1, Minor: 3},
		imagetest.Entry{Name: "dev/fifo", Type: tar.TypeFifo, Mode: 0o620},
		imagetest.Entry{Name: "replaced", Data: []byte("now a file"), Mode: 0o644},
		imagetest.Entry{Name: "deep/a/b/f", Data: []byte("f"), Mode: 0o644},
		imagetest.Entry{Name: "same", Data: []byte("same layer"), Mode: 0o644},
		imagetest.Entry{Name: ".wh.same"},
	)
	u, err := NewUnpacker(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	for i, l := range [][]byte{l1, l2} {
		if err := u.Apply(bytes.NewReader(l)); err != nil {
			t.Fatalf("layer %d: %v", i+1, err)
		}
	}
	for _, gone := range []string{"etc/gone", "opq/old", "opq/olddir"} {
		if _, err := os.Lstat(filepath.Join(root, gone)); !os.IsNotExist(err) {
			t.Errorf("%s after its whiteout: %v, want it gone", gone, err)
		}
	}
	if b, err := os.ReadFile(filepath.Join(root, "same")); err != nil || string(b) != "same layer" {
		t.Errorf("same (whited out by its own layer, which the spec says hides only lower layers): %q %v", b, err)
	}
	if b, err := os.ReadFile(filepath.Join(root, "opq/new")); err != nil || string(b) != "new" {
		t.Errorf("opq/new (same layer as the opaque marker): %q %v", b, err)
	}
	if st := lstat(t, filepath.Join(root, "opq")); st.Mode&0o7777 != 0o750 || st.Uid != 7 || st.Gid != 8 {
		t.Errorf("opq: mode %o owner %d:%d, want 750 7:8", st.Mode&0o7777, st.Uid, st.Gid)
	}
	st := lstat(t, filepath.Join(root, "bin/suid"))
	if st.Mode&0o7777 != 0o4755 || st.Uid != 1000 || st.Gid != 1000 || st.Nlink != 2 {
		t.Errorf("bin/suid: mode %o owner %d:%d links %d, want 4755 1000:1000 2", st.Mode&0o7777, st.Uid, st.Gid, st.Nlink)
	}
	if h := lstat(t, filepath.Join(root, "bin/hard")); h.Ino != st.Ino {
		t.Errorf("bin/hard is not a hard link of bin/suid")
	}
	if l, err := os.Readlink(filepath.Join(root, "bin/sym")); err != nil || l != "/bin/suid" {
		t.Errorf("bin/sym: %q %v", l, err)
	}
	if s := lstat(t, filepath.Join(root, "bin/sym")); s.Uid != 5 || s.Gid != 6 {
		t.Errorf("bin/sym owner %d:%d, want 5:6 (the link's own)", s.Uid, s.Gid)
	}
	buf := make([]byte, 64)
	if n, err := unix.Lgetxattr(filepath.Join(root, "x/attr"), "user.golxc", buf); err != nil || string(buf[:n]) != "v1" {
		t.Errorf("x/attr user.golxc: %q %v", buf[:n], err)
	}
	if _, err := unix.Lgetxattr(filepath.Join(root, "x/attr"), "trusted.overlay.opaque", buf); err == nil {
		t.Errorf("x/attr has trusted.overlay.opaque: an image must not set trusted.*")
	}
	if u.Skipped != 1 || !strings.Contains(u.FirstSkipped, "trusted.overlay.opaque") {
		t.Errorf("skipped %d (%q), want 1 trusted.overlay.opaque", u.Skipped, u.FirstSkipped)
	}
	if s := lstat(t, filepath.Join(root, "x/attr")); s.Mtim.Sec != mt.Unix() {
		t.Errorf("x/attr mtime %d, want %d", s.Mtim.Sec, mt.Unix())
	}
	if s := lstat(t, filepath.Join(root, "keep")); s.Mtim.Sec != mt.Unix() {
		t.Errorf("keep: mtime %d, want %d (the directory's, set after its file was written)", s.Mtim.Sec, mt.Unix())
	}
	// Changed below by layer 2 (a whiteout, an opaque marker and a new
	// file, a new file): still layer 1's times.
	for _, d := range []string{"etc", "opq", "deep/a/b"} {
		if s := lstat(t, filepath.Join(root, d)); s.Mtim.Sec != imagetest.Epoch.Unix() {
			t.Errorf("%s: mtime %s, want layer 1's %s", d, time.Unix(s.Mtim.Sec, 0).UTC(), imagetest.Epoch)
		}
	}
	if s := lstat(t, filepath.Join(root, "deep/a/b")); s.Mode&0o7777 != 0o711 {
		t.Errorf("deep/a/b: mode %o, want 711", s.Mode&0o7777)
	}
	if s := lstat(t, filepath.Join(root, "dev/null2")); s.Mode&unix.S_IFMT != unix.S_IFCHR || s.Rdev != unix.Mkdev(1, 3) || s.Mode&0o7777 != 0o666 {
		t.Errorf("dev/null2: mode %o rdev %d", s.Mode, s.Rdev)
	}
	if s := lstat(t, filepath.Join(root, "dev/fifo")); s.Mode&unix.S_IFMT != unix.S_IFIFO || s.Mode&0o7777 != 0o620 {
		t.Errorf("dev/fifo: mode %o", s.Mode)
	}
	if b, err := os.ReadFile(filepath.Join(root, "replaced")); err != nil || string(b) != "now a file" {
		t.Errorf("replaced (a directory, then a file): %q %v", b, err)
	}
}

// TestApplyHostile: every entry of a hostile layer is refused or stays in
// the root; the directory beside it is untouched.
func TestApplyHostile(t *testing.T) {
	needRoot(t)
	cases := []struct {
		name    string
		layers  [][]imagetest.Entry
		refused string // the error says this; "" when contained (an error allowed)
		inside  string // with refused "", a file that must then be in the root
	}{
		{"dotdot file", [][]imagetest.Entry{{{Name: "../outside/pwned", Data: []byte("x")}}}, "climbs out", ""},
		{"dotdot inside", [][]imagetest.Entry{{{Name: "a/../../outside/pwned", Data: []byte("x")}}}, "climbs out", ""},
		{"absolute", [][]imagetest.Entry{{{Name: "/OUTSIDE/pwned", Data: []byte("x")}}}, "", "OUTSIDE/pwned"},
		{"symlink in root then file", [][]imagetest.Entry{{{Name: "l", Type: tar.TypeSymlink, Linkname: "/x"}, {Name: "x/", Type: tar.TypeDir, Mode: 0o755}, {Name: "l/f", Data: []byte("x")}}}, "", "x/f"},
		{"symlink then file", [][]imagetest.Entry{{{Name: "l", Type: tar.TypeSymlink, Linkname: "OUTSIDE"}, {Name: "l/pwned", Data: []byte("x")}}}, "", ""},
		{"symlink up then file", [][]imagetest.Entry{{{Name: "l", Type: tar.TypeSymlink, Linkname: "../../../../OUTSIDE"}, {Name: "l/pwned", Data: []byte("x")}}}, "", ""},
		{"symlink across layers", [][]imagetest.Entry{{{Name: "l", Type: tar.TypeSymlink, Linkname: "OUTSIDE"}}, {{Name: "l/pwned", Data: []byte("x")}}}, "", ""},
		{"file over symlink", [][]imagetest.Entry{{{Name: "l", Type: tar.TypeSymlink, Linkname: "OUTSIDE/victim"}}, {{Name: "l", Data: []byte("x")}}}, "", ""},
		{"hardlink dotdot", [][]imagetest.Entry{{{Name: "h", Type: tar.TypeLink, Linkname: "../outside/victim"}}}, "climbs out", ""},
		{"hardlink absolute", [][]imagetest.Entry{{{Name: "h", Type: tar.TypeLink, Linkname: "OUTSIDE/victim"}}}, "no such file", ""},
		{"hardlink through symlink", [][]imagetest.Entry{{{Name: "l", Type: tar.TypeSymlink, Linkname: "OUTSIDE"}, {Name: "h", Type: tar.TypeLink, Linkname: "l/victim"}}}, "no such file", ""},
		{"whiteout dotdot", [][]imagetest.Entry{{{Name: "../outside/.wh.victim"}}}, "climbs out", ""},
		{"whiteout of dotdot", [][]imagetest.Entry{{{Name: "a/.wh.."}}}, "", ""},
		{"whiteout through symlink", [][]imagetest.Entry{{{Name: "l", Type: tar.TypeSymlink, Linkname: "OUTSIDE"}, {Name: "l/.wh.victim"}}}, "", ""},
		{"opaque through symlink", [][]imagetest.Entry{{{Name: "l", Type: tar.TypeSymlink, Linkname: "OUTSIDE"}}, {{Name: "l/.wh..wh..opq"}}}, "", ""},
		{"symlink dir replaced by dir", [][]imagetest.Entry{{{Name: "l", Type: tar.TypeSymlink, Linkname: "OUTSIDE"}}, {{Name: "l/", Type: tar.TypeDir, Mode: 0o777}}}, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			base := t.TempDir()
			outside := filepath.Join(base, "outside")
			root := filepath.Join(base, "root")
			for _, d := range []string{outside, root} {
				if err := os.Mkdir(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(filepath.Join(outside, "victim"), []byte("victim"), 0o644); err != nil {
				t.Fatal(err)
			}
			var layers [][]byte
			for _, l := range c.layers {
				for i := range l {
					l[i].Name = strings.ReplaceAll(l[i].Name, "OUTSIDE", outside)
					l[i].Linkname = strings.ReplaceAll(l[i].Linkname, "OUTSIDE", outside)
					if l[i].Mode == 0 {
						l[i].Mode = 0o644
					}
				}
				layers = append(layers, mustTar(t, l...))
			}
			err := unpackAll(t, root, nil, layers...)
			switch {
			case c.refused != "" && (err == nil || !strings.Contains(err.Error(), c.refused)):
				t.Errorf("error %v, want one saying %q", err, c.refused)
			case c.inside != "":
				if _, serr := os.Lstat(filepath.Join(root, strings.ReplaceAll(c.inside, "OUTSIDE", outside))); err != nil || serr != nil {
					t.Errorf("error %v, %s in the root: %v; want it made there", err, c.inside, serr)
				}
			}
			ents, _ := os.ReadDir(outside)
			if len(ents) != 1 || ents[0].Name() != "victim" {
				t.Errorf("outside now holds %v, want only victim", ents)
			}
			st := lstat(t, filepath.Join(outside, "victim"))
			if b, _ := os.ReadFile(filepath.Join(outside, "victim")); string(b) != "victim" || st.Nlink != 1 || st.Mode&0o7777 != 0o644 {
				t.Errorf("outside/victim changed: %q links %d mode %o", b, st.Nlink, st.Mode&0o7777)
			}
			if st := lstat(t, outside); st.Mode&0o7777 != 0o755 {
				t.Errorf("outside's mode changed to %o", st.Mode&0o7777)
			}
			if _, err := os.Lstat(filepath.Join(base, "pwned")); err == nil {
				t.Errorf("a file landed beside the root")
			}
		})
	}
}

func TestApplyShiftAndCaps(t *testing.T) {
	needRoot(t)
	root := t.TempDir()
	caps := make([]byte, capV2Len)
	binary.LittleEndian.PutUint32(caps, capRev2|1)
	binary.LittleEndian.PutUint32(caps[4:], 1<<10) // cap_net_bind_service permitted
	l := mustTar(t,
		imagetest.Entry{Name: "f", Data: []byte("x"), Mode: 0o755, UID: 1, GID: 2, Xattrs: map[string]string{"security.capability": string(caps)}},
		imagetest.Entry{Name: "sda", Type: tar.TypeBlock, Mode: 0o666, Major: 8},
		imagetest.Entry{Name: "fifo", Type: tar.TypeFifo, Mode: 0o600},
		imagetest.Entry{Name: "far", Data: []byte("x"), Mode: 0o644, UID: 70000},
	)
	shift := func(uid, gid int) (int, int, error) {
		if uid >= 65536 || gid >= 65536 {
			return 0, 0, os.ErrInvalid
		}
		return uid + 100000, gid + 100000, nil
	}
	err := unpackAll(t, root, shift, l)
	if err == nil || !strings.Contains(err.Error(), "far") {
		t.Errorf("a uid outside the map: error %v, want one naming the entry", err)
	}
	if _, err := os.Lstat(filepath.Join(root, "sda")); !os.IsNotExist(err) {
		t.Errorf("block device made for a mapped root: %v", err)
	}
	if _, err := os.Lstat(filepath.Join(root, "fifo")); err != nil {
		t.Errorf("fifo: %v", err)
	}
	st := lstat(t, filepath.Join(root, "f"))
	if st.Uid != 100001 || st.Gid != 100002 {
		t.Errorf("f owned %d:%d, want 100001:100002", st.Uid, st.Gid)
	}
	buf := make([]byte, 64)
	n, err := unix.Lgetxattr(filepath.Join(root, "f"), "security.capability", buf)
	if err != nil || n != capV3Len || binary.LittleEndian.Uint32(buf)&capRevMask != capRev3 || binary.LittleEndian.Uint32(buf[capV2Len:]) != 100000 {
		t.Errorf("f's capability: %x %v, want version 3 with root 100000", buf[:n], err)
	}
}

func TestResolveUser(t *testing.T) {
	needRoot(t)
	root := t.TempDir()
	l := mustTar(t,
		imagetest.Entry{Name: "etc/passwd", Data: []byte("root:x:0:0::/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n"), Mode: 0o644},
		imagetest.Entry{Name: "etc/group", Data: []byte("root:x:0:\nstaff:x:50:\n"), Mode: 0o644},
	)
	if err := unpackAll(t, root, nil, l); err != nil {
		t.Fatal(err)
	}
	u, err := NewUnpacker(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	for _, c := range []struct {
		spec     string
		uid, gid int
		err      string
	}{
		{"", 0, 0, ""}, {"app", 1000, 1001, ""}, {"app:staff", 1000, 50, ""}, {"1000", 1000, 1001, ""},
		{"1234", 1234, 0, ""}, {"1234:5", 1234, 5, ""}, {"app:77", 1000, 77, ""},
		{"nobody", 0, 0, "no user"}, {"app:nogroup", 0, 0, "no group"},
	} {
		uid, gid, err := u.ResolveUser(c.spec)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: %d:%d %v, want an error saying %q", c.spec, uid, gid, err, c.err)
			}
			continue
		}
		if err != nil || uid != c.uid || gid != c.gid {
			t.Errorf("%q: %d:%d %v, want %d:%d", c.spec, uid, gid, err, c.uid, c.gid)
		}
	}
	// /etc/passwd a link to a host file: read inside the root (missing).
	os.Remove(filepath.Join(root, "etc/passwd"))
	os.Symlink("/etc/passwd", filepath.Join(root, "etc/passwd"))
	if _, _, err := u.ResolveUser("root"); err == nil {
		t.Errorf("user root with /etc/passwd a link to /etc/passwd: resolved through the host's file")
	}
}
