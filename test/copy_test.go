package test

// lxc-copy (issue 13, "Clones, snapshots, ephemeral"): full copies keep
// what a rootfs holds (owners, modes, xattrs and ACLs, hardlinks, device
// nodes, holes), snapshot clones are overlays tied to their origin as LXC
// ties them, the stores dir, overlay, btrfs and loop copy into each other,
// and an ephemeral copy is gone however it stops.

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// aclAccess is a system.posix_acl_access value: owner rw, user 4242 r,
// group r, mask r, other none.
func aclAccess() []byte {
	var b bytes.Buffer
	le := binary.LittleEndian
	_ = binary.Write(&b, le, uint32(2))
	for _, e := range []struct {
		tag, perm uint16
		id        uint32
	}{{1, 6, 0xffffffff}, {2, 4, 4242}, {4, 4, 0xffffffff}, {0x10, 4, 0xffffffff}, {0x20, 0, 0xffffffff}} {
		_ = binary.Write(&b, le, e.tag)
		_ = binary.Write(&b, le, e.perm)
		_ = binary.Write(&b, le, e.id)
	}
	return b.Bytes()
}

// seedRootfs puts into rootfs what a copy must keep, and returns the
// names to check.
func seedRootfs(t *testing.T, rootfs string) {
	t.Helper()
	d := filepath.Join(rootfs, "data")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Mkdir(d, 0o755))
	must(os.WriteFile(filepath.Join(d, "owned"), []byte("owned\n"), 0o600))
	must(os.Chown(filepath.Join(d, "owned"), 1234, 5678))
	must(os.Chmod(filepath.Join(d, "owned"), 0o4750))
	must(unix.Setxattr(filepath.Join(d, "owned"), "user.golxc", []byte("kept"), 0))
	must(unix.Setxattr(filepath.Join(d, "owned"), "trusted.golxc", []byte("root's"), 0))
	must(unix.Setxattr(filepath.Join(d, "owned"), "system.posix_acl_access", aclAccess(), 0))
	must(os.WriteFile(filepath.Join(d, "link1"), []byte("one inode\n"), 0o644))
	must(os.Link(filepath.Join(d, "link1"), filepath.Join(d, "link2")))
	f, err := os.Create(filepath.Join(d, "sparse"))
	must(err)
	must(f.Truncate(64 << 20))
	_, err = f.WriteAt([]byte("end"), 64<<20-3)
	must(err)
	f.Close()
	must(unix.Mknod(filepath.Join(d, "null"), unix.S_IFCHR|0o620, int(unix.Mkdev(1, 3))))
	must(os.Chown(filepath.Join(d, "null"), 0, 5))
	must(unix.Chmod(filepath.Join(d, "null"), 0o620))
	must(unix.Mkfifo(filepath.Join(d, "fifo"), 0o640))
	must(os.Symlink("/etc/passwd", filepath.Join(d, "abslink")))
	must(os.Lchown(filepath.Join(d, "abslink"), 77, 88))
	must(unix.Lsetxattr(filepath.Join(d, "abslink"), "trusted.golxc", []byte("link's own"), 0))
	must(os.Mkdir(filepath.Join(d, "sub"), 0o1777))
	must(os.Chown(filepath.Join(d, "sub"), 100, 100))
	must(os.Chmod(filepath.Join(d, "sub"), 0o1777|os.ModeSticky))
}

// checkSeeded checks that rootfs holds what seedRootfs made in orig.
func checkSeeded(t *testing.T, orig, rootfs string) {
	t.Helper()
	var o unix.Stat_t
	if err := unix.Lstat(filepath.Join(orig, "data", "owned"), &o); err != nil {
		t.Fatal(err)
	}
	d := filepath.Join(rootfs, "data")
	st := func(n string) *unix.Stat_t {
		t.Helper()
		var s unix.Stat_t
		if err := unix.Lstat(filepath.Join(d, n), &s); err != nil {
			t.Fatalf("copy: %v", err)
		}
		return &s
	}
	if s := st("owned"); s.Uid != 1234 || s.Gid != 5678 || s.Mode != o.Mode {
		t.Errorf("copy of data/owned: uid %d gid %d mode %#o, want 1234 5678 %#o", s.Uid, s.Gid, s.Mode, o.Mode)
	}
	for attr, want := range map[string][]byte{"user.golxc": []byte("kept"), "trusted.golxc": []byte("root's"), "system.posix_acl_access": aclAccess()} {
		buf := make([]byte, 256)
		n, err := unix.Getxattr(filepath.Join(d, "owned"), attr, buf)
		if err != nil || !bytes.Equal(buf[:n], want) {
			t.Errorf("copy of data/owned: xattr %s = %q (%v), want %q", attr, buf[:max(n, 0)], err, want)
		}
	}
	if a, b := st("link1"), st("link2"); a.Ino != b.Ino || a.Nlink != 2 {
		t.Errorf("copy of data/link1 and link2: inodes %d and %d (nlink %d), want one inode with 2 links", a.Ino, b.Ino, a.Nlink)
	}
	if s := st("sparse"); s.Size != 64<<20 || s.Blocks*512 > 1<<20 {
		t.Errorf("copy of data/sparse: size %d, %d bytes allocated; want 64 MiB with its hole kept (under 1 MiB allocated)", s.Size, s.Blocks*512)
	} else if b, _ := os.ReadFile(filepath.Join(d, "sparse")); !bytes.HasSuffix(b, []byte("end")) {
		t.Errorf("copy of data/sparse: its last bytes are lost")
	}
	if s := st("null"); s.Mode&unix.S_IFMT != unix.S_IFCHR || s.Rdev != unix.Mkdev(1, 3) || s.Gid != 5 || s.Mode&0o777 != 0o620 {
		t.Errorf("copy of data/null: mode %#o rdev %#x gid %d, want a char device 1:3 0620 gid 5", s.Mode, s.Rdev, s.Gid)
	}
	if s := st("fifo"); s.Mode&unix.S_IFMT != unix.S_IFIFO {
		t.Errorf("copy of data/fifo: mode %#o, want a fifo", s.Mode)
	}
	if s := st("abslink"); s.Mode&unix.S_IFMT != unix.S_IFLNK || s.Uid != 77 || s.Gid != 88 {
		t.Errorf("copy of data/abslink: mode %#o owner %d:%d, want a symlink owned 77:88", s.Mode, s.Uid, s.Gid)
	} else if target, _ := os.Readlink(filepath.Join(d, "abslink")); target != "/etc/passwd" {
		t.Errorf("copy of data/abslink -> %q, want /etc/passwd", target)
	}
	buf := make([]byte, 64)
	if n, err := unix.Lgetxattr(filepath.Join(d, "abslink"), "trusted.golxc", buf); err != nil || string(buf[:n]) != "link's own" {
		t.Errorf("copy of data/abslink: its own xattr trusted.golxc = %q (%v), want \"link's own\"", buf[:max(n, 0)], err)
	}
	if s := st("sub"); s.Mode&0o7777 != 0o1777 || s.Uid != 100 {
		t.Errorf("copy of data/sub: mode %#o uid %d, want 01777 uid 100", s.Mode&0o7777, s.Uid)
	}
}

func configValue(t *testing.T, path, key string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, "=")
		if ok && strings.TrimSpace(k) == key {
			out = append(out, strings.TrimSpace(v))
		}
	}
	return out
}

// TestCopyFull: a dir copy keeps the rootfs's data; the copy gets its
// own name, new hwaddrs and paths into its own directory; -K and -M keep
// name and hwaddrs.
func TestCopyFull(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	src := l.newContainer()
	conf := l.conf("lxc.net.0.hwaddr = 00:16:3e:11:22:33", "lxc.console.logfile = "+filepath.Join(l.path, src, "console.log"),
		"lxc.mount.fstab = "+filepath.Join(l.path, src, "fstab"))
	l.mustRun("lxc-create", "-n", src, "-t", "busybox", "-f", conf)
	os.WriteFile(filepath.Join(l.path, src, "fstab"), []byte("# the container's own\n"), 0o644)
	seedRootfs(t, filepath.Join(l.path, src, "rootfs"))
	dst := l.newContainer()
	l.mustRun("lxc-copy", "-n", src, "-N", dst)
	checkSeeded(t, filepath.Join(l.path, src, "rootfs"), filepath.Join(l.path, dst, "rootfs"))
	cfg := filepath.Join(l.path, dst, "config")
	if got := configValue(t, cfg, "lxc.rootfs.path"); len(got) != 1 || got[0] != "dir:"+filepath.Join(l.path, dst, "rootfs") {
		t.Errorf("copy's lxc.rootfs.path = %v, want dir:%s", got, filepath.Join(l.path, dst, "rootfs"))
	}
	if got := configValue(t, cfg, "lxc.uts.name"); len(got) != 1 || got[0] != dst {
		t.Errorf("copy's lxc.uts.name = %v, want %s", got, dst)
	}
	if got := configValue(t, cfg, "lxc.console.logfile"); len(got) != 1 || got[0] != filepath.Join(l.path, dst, "console.log") {
		t.Errorf("copy's lxc.console.logfile = %v, want it in the copy's directory", got)
	}
	if got := configValue(t, cfg, "lxc.mount.fstab"); len(got) != 1 || got[0] != filepath.Join(l.path, dst, "fstab") {
		t.Errorf("copy's lxc.mount.fstab = %v, want it in the copy's directory", got)
	} else if b, err := os.ReadFile(got[0]); err != nil || string(b) != "# the container's own\n" {
		t.Errorf("the container's fstab was not copied with it: %q %v", b, err)
	}
	if got := configValue(t, cfg, "lxc.net.0.hwaddr"); len(got) != 1 || got[0] == "00:16:3e:11:22:33" || !strings.HasPrefix(got[0], "00:16:3e:") {
		t.Errorf("copy's lxc.net.0.hwaddr = %v, want a new 00:16:3e: address", got)
	}
	keep := l.newContainer()
	l.mustRun("lxc-copy", "-n", src, "-N", keep, "-K", "-M")
	cfg = filepath.Join(l.path, keep, "config")
	if got := configValue(t, cfg, "lxc.uts.name"); len(got) != 1 || got[0] != src {
		t.Errorf("lxc-copy -K: lxc.uts.name = %v, want %s", got, src)
	}
	if got := configValue(t, cfg, "lxc.net.0.hwaddr"); len(got) != 1 || got[0] != "00:16:3e:11:22:33" {
		t.Errorf("lxc-copy -M: lxc.net.0.hwaddr = %v, want 00:16:3e:11:22:33", got)
	}
	// The copy runs (without the fstab, which golxc does not mount yet).
	b, _ := os.ReadFile(filepath.Join(l.path, dst, "config"))
	var keepLines []string
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, "lxc.mount.fstab") {
			keepLines = append(keepLines, line)
		}
	}
	os.WriteFile(filepath.Join(l.path, dst, "config"), []byte(strings.Join(keepLines, "\n")), 0o640)
	l.mustRun("lxc-start", "-n", dst)
	if out := l.attach(dst, "cat", "/data/link2"); out != "one inode\n" {
		t.Errorf("in the copy: cat /data/link2 = %q", out)
	}
	l.mustRun("lxc-stop", "-n", dst, "-k")
	// Exists already: exit 1, nothing changed.
	if _, errs, code := l.run("lxc-copy", "-n", src, "-N", dst); code != 1 || !strings.Contains(errs, "exists") {
		t.Errorf("lxc-copy onto an existing name: exit %d, stderr %q; want 1 and \"exists\"", code, errs)
	}
	if _, errs, code := l.run("lxc-copy", "-n", "nosuch"+src, "-N", newName(t)); code != 1 || !strings.Contains(errs, "is not defined") {
		t.Errorf("lxc-copy of a missing container: exit %d, stderr %q; want 1 and LXC's \"is not defined\"", code, errs)
	}
}

// TestCopySnapshotOverlay: -s of a dir container is an overlay on its
// rootfs, recorded in lxc_snapshots/lxc_rdepends as LXC records it; the
// origin cannot be destroyed while the clone lives.
func TestCopySnapshotOverlay(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	src := l.createBusybox()
	dst := l.newContainer()
	l.mustRun("lxc-copy", "-n", src, "-N", dst, "-s")
	want := "overlay:" + filepath.Join(l.path, src, "rootfs") + ":" + filepath.Join(l.path, dst, "overlay", "delta")
	if got := configValue(t, filepath.Join(l.path, dst, "config"), "lxc.rootfs.path"); len(got) != 1 || got[0] != want {
		t.Errorf("snapshot clone's lxc.rootfs.path = %v, want %s", got, want)
	}
	if got := readTrim(t, filepath.Join(l.path, src, "lxc_snapshots")); got != l.path+"\n"+dst {
		t.Errorf("origin's lxc_snapshots = %q, want %q", got, l.path+"\n"+dst)
	}
	if got := readTrim(t, filepath.Join(l.path, dst, "lxc_rdepends")); got != l.path+"\n"+src {
		t.Errorf("clone's lxc_rdepends = %q, want %q", got, l.path+"\n"+src)
	}
	// LXC's older spelling, overlayfs:, names the same store.
	cfgPath := filepath.Join(l.path, dst, "config")
	b, _ := os.ReadFile(cfgPath)
	os.WriteFile(cfgPath, []byte(strings.Replace(string(b), "= overlay:", "= overlayfs:", 1)), 0o640)
	l.mustRun("lxc-start", "-n", dst)
	l.attach(dst, "sh", "-c", "echo clone > /written; rm /bin/ls")
	l.mustRun("lxc-stop", "-n", dst, "-k")
	if _, err := os.Stat(filepath.Join(l.path, src, "rootfs", "written")); err == nil {
		t.Errorf("a write in the overlay clone reached the origin's rootfs")
	}
	if _, err := os.Lstat(filepath.Join(l.path, src, "rootfs", "bin", "ls")); err != nil {
		t.Errorf("a removal in the overlay clone reached the origin's rootfs: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(l.path, dst, "overlay", "delta", "written")); err != nil || string(b) != "clone\n" {
		t.Errorf("the clone's write is not in its delta: %q %v", b, err)
	}
	if _, errs, code := l.run("lxc-destroy", "-n", src); code != 1 || !strings.Contains(errs, "has clones") {
		t.Errorf("lxc-destroy of an origin with a clone: exit %d, stderr %q; want 1, LXC's \"has clones\"", code, errs)
	}
	if _, err := os.Stat(filepath.Join(l.path, src, "rootfs", "bin")); err != nil {
		t.Fatalf("refused destroy touched the origin: %v", err)
	}
	// A snapshot of the clone shares its lower layer.
	dst2 := l.newContainer()
	l.mustRun("lxc-copy", "-n", dst, "-N", dst2, "-s")
	if got := configValue(t, filepath.Join(l.path, dst2, "config"), "lxc.rootfs.path"); len(got) != 1 || !strings.HasPrefix(got[0], "overlay:"+filepath.Join(l.path, src, "rootfs")+":") {
		t.Errorf("snapshot of a snapshot: lxc.rootfs.path = %v, want the origin's rootfs as lower", got)
	}
	if _, err := os.Stat(filepath.Join(l.path, dst2, "overlay", "delta", "written")); err != nil {
		t.Errorf("snapshot of a snapshot lacks the first clone's delta: %v", err)
	}
	l.mustRun("lxc-destroy", "-n", dst2)
	// A clone renamed stays on its origin's list under its new name.
	renamed := l.newContainer()
	l.mustRun("lxc-copy", "-n", dst, "-N", renamed, "-R")
	if got := readTrim(t, filepath.Join(l.path, src, "lxc_snapshots")); got != l.path+"\n"+renamed {
		t.Errorf("after renaming the clone: origin's lxc_snapshots = %q, want %q", got, l.path+"\n"+renamed)
	}
	if got := configValue(t, filepath.Join(l.path, renamed, "config"), "lxc.rootfs.path"); len(got) != 1 || got[0] != "overlay:"+filepath.Join(l.path, src, "rootfs")+":"+filepath.Join(l.path, renamed, "overlay", "delta") {
		t.Errorf("renamed clone's lxc.rootfs.path = %v", got)
	}
	dst = renamed
	l.mustRun("lxc-destroy", "-n", dst)
	if _, err := os.Stat(filepath.Join(l.path, src, "lxc_snapshots")); err == nil {
		t.Errorf("lxc_snapshots still there after every clone is destroyed")
	}
	l.mustRun("lxc-destroy", "-n", src)
	l.assertEmptyLXCPath("destroy of clones and origin")
}

// TestCopyRename: -R renames a stopped container with its paths; a
// running one, one with clones and a taken name are refused.
func TestCopyRename(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	src := l.createBusybox()
	dst := l.newContainer()
	l.mustRun("lxc-start", "-n", src)
	if _, errs, code := l.run("lxc-copy", "-n", src, "-N", dst, "-R"); code != 1 || errs == "" {
		t.Errorf("lxc-copy -R of a running container: exit %d stderr %q, want 1", code, errs)
	}
	l.mustRun("lxc-stop", "-n", src, "-k")
	l.mustRun("lxc-copy", "-n", src, "-N", dst, "-R")
	if _, err := os.Lstat(filepath.Join(l.path, src)); err == nil {
		t.Errorf("the old name's directory is still there after -R")
	}
	cfg := filepath.Join(l.path, dst, "config")
	if got := configValue(t, cfg, "lxc.rootfs.path"); len(got) != 1 || got[0] != "dir:"+filepath.Join(l.path, dst, "rootfs") {
		t.Errorf("renamed lxc.rootfs.path = %v", got)
	}
	if got := configValue(t, cfg, "lxc.uts.name"); len(got) != 1 || got[0] != dst {
		t.Errorf("renamed lxc.uts.name = %v, want %s", got, dst)
	}
	l.mustRun("lxc-start", "-n", dst)
	l.mustRun("lxc-stop", "-n", dst, "-k")
	if _, errs, code := l.run("lxc-copy", "-n", dst, "-N", "../x", "-R"); code != 1 || errs == "" {
		t.Errorf("lxc-copy -R -N ../x: exit %d, want 1", code)
	}
}

// TestCopyRunning: a running container is copied only with -a, as LXC.
func TestCopyRunning(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	src := l.startBusybox()
	dst := l.newContainer()
	for _, args := range [][]string{{}, {"-s"}} {
		_, errs, code := l.run("lxc-copy", append([]string{"-n", src, "-N", dst}, args...)...)
		if code != 1 || !strings.Contains(errs, "is running. Use --allowrunning") {
			t.Errorf("lxc-copy %v of a running container: exit %d, stderr %q; want 1 and LXC's message", args, code, errs)
		}
	}
	if _, err := os.Lstat(filepath.Join(l.path, dst)); err == nil {
		t.Errorf("a refused copy made %s", dst)
	}
	l.mustRun("lxc-copy", "-n", src, "-N", dst, "-a")
}

// TestCopyCloneHooks: lxc.hook.clone runs once the copy is made, with
// LXC's environment and the new rootfs at LXC_ROOTFS_MOUNT (an overlay
// snapshot's mounted in a namespace of the hook's own, nothing left
// mounted on the host); a failing hook fails the copy, which is removed.
func TestCopyCloneHooks(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	hook := l.writeFile("clone-hook.sh", `#!/bin/sh
echo "$LXC_NAME $LXC_SRC_NAME $LXC_CONFIG_FILE $LXC_ROOTFS_MOUNT $*" > "$LXC_ROOTFS_MOUNT/cloned"
`, 0o755)
	src := l.createBusybox("lxc.hook.clone = " + hook + " extra")
	for _, snap := range []bool{false, true} {
		dst := l.newContainer()
		args := []string{"-n", src, "-N", dst}
		if snap {
			args = append(args, "-s", "-B", "overlay")
		}
		l.mustRun("lxc-copy", args...)
		cfg := filepath.Join(l.path, dst, "config")
		var cloned string
		if snap {
			cloned = filepath.Join(l.path, dst, "overlay", "delta", "cloned")
		} else {
			cloned = filepath.Join(l.path, dst, "rootfs", "cloned")
		}
		b, err := os.ReadFile(cloned)
		if err != nil {
			t.Errorf("snapshot %v: the clone hook wrote nothing in the new rootfs: %v", snap, err)
			continue
		}
		f := strings.Fields(string(b))
		if len(f) != 8 || f[0] != dst || f[1] != src || f[2] != cfg || f[4] != "extra" || f[5] != dst || f[6] != "lxc" || f[7] != "clone" {
			t.Errorf("snapshot %v: the clone hook recorded %q; want %s %s %s MOUNT extra %s lxc clone", snap, b, dst, src, cfg, dst)
		}
		if mi, _ := os.ReadFile("/proc/self/mountinfo"); strings.Contains(string(mi), filepath.Join(l.path, dst)) {
			t.Errorf("snapshot %v: a mount of the clone is left on the host:\n%s", snap, mi)
		}
	}
	bad := l.createBusybox("lxc.hook.clone = /bin/sh -c 'echo no good >&2; exit 3'")
	dst := l.newContainer()
	_, errs, code := l.run("lxc-copy", "-n", bad, "-N", dst)
	if code == 0 || !strings.Contains(errs, "no good") || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
		t.Errorf("lxc-copy with a failing clone hook: exit %d, stderr %q; want a failure in one line with its words", code, errs)
	}
	if _, err := os.Lstat(filepath.Join(l.path, dst)); err == nil {
		t.Errorf("a copy whose clone hook failed left %s", dst)
	}
}

// loopsOf lists the loop devices whose backing file is under dir.
func loopsOf(dir string) []string {
	var out []string
	files, _ := filepath.Glob("/sys/block/loop*/loop/backing_file")
	for _, f := range files {
		if b, err := os.ReadFile(f); err == nil && strings.HasPrefix(strings.TrimSpace(string(b)), dir+"/") {
			out = append(out, f)
		}
	}
	return out
}

// TestCopyLoop: -B loop makes an image on a loop device for the copy; it
// is attached only while the container runs (not after kill -9 of its
// init either), and a copy back to dir has the data.
func TestCopyLoop(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("mkfs.ext4"); err != nil {
		t.Skip("mkfs.ext4 (e2fsprogs) is not installed")
	}
	l := newLab(t)
	t.Cleanup(func() {
		if left := loopsOf(l.path); len(left) > 0 {
			t.Errorf("loop devices left: %v", left)
		}
	})
	src := l.createBusybox()
	seedRootfs(t, filepath.Join(l.path, src, "rootfs"))
	lp := l.newContainer()
	l.mustRun("lxc-copy", "-n", src, "-N", lp, "-B", "loop", "-L", "128M")
	if got := configValue(t, filepath.Join(l.path, lp, "config"), "lxc.rootfs.path"); len(got) != 1 || got[0] != "loop:"+filepath.Join(l.path, lp, "rootdev") {
		t.Errorf("loop copy's lxc.rootfs.path = %v", got)
	}
	if left := loopsOf(l.path); len(left) > 0 {
		t.Errorf("loop devices attached after the copy: %v", left)
	}
	l.mustRun("lxc-start", "-n", lp)
	if out := l.attach(lp, "sh", "-c", "echo inside > /inloop; head -1 /proc/mounts"); !strings.Contains(out, "/dev/loop") {
		t.Errorf("loop container's root is %q, want a /dev/loop mount", out)
	}
	if len(loopsOf(l.path)) != 1 {
		t.Errorf("running loop container: loop devices %v, want one", loopsOf(l.path))
	}
	l.mustRun("lxc-stop", "-n", lp)
	if !waitFor(5*time.Second, func() bool { return len(loopsOf(l.path)) == 0 }) {
		t.Errorf("loop device still attached after lxc-stop: %v", loopsOf(l.path))
	}
	l.mustRun("lxc-start", "-n", lp)
	pid := l.initPID(lp)
	_ = syscall.Kill(pid, syscall.SIGKILL)
	l.waitState(lp, "STOPPED", 10*time.Second)
	if !waitFor(5*time.Second, func() bool { return len(loopsOf(l.path)) == 0 }) {
		t.Errorf("loop device still attached after kill -9 of init: %v", loopsOf(l.path))
	}
	// lxc-create -B loop: the template's tree in an image of --fssize.
	made := l.newContainer()
	l.mustRun("lxc-create", "-n", made, "-t", "busybox", "-f", l.conf(), "-B", "loop", "--fssize", "48M")
	img := filepath.Join(l.path, made, "rootdev")
	if fi, err := os.Stat(img); err != nil || fi.Size() != 48<<20 {
		t.Errorf("lxc-create -B loop --fssize 48M: %s is %v (%v), want 48 MiB", img, fi, err)
	}
	l.mustRun("lxc-start", "-n", made)
	if out := l.attach(made, "ls", "/bin/busybox"); strings.TrimSpace(out) != "/bin/busybox" {
		t.Errorf("lxc-create -B loop: the rootfs lacks the template's files: %q", out)
	}
	l.mustRun("lxc-stop", "-n", made, "-k")
	back := l.newContainer()
	l.mustRun("lxc-copy", "-n", lp, "-N", back, "-B", "dir")
	checkSeeded(t, filepath.Join(l.path, src, "rootfs"), filepath.Join(l.path, back, "rootfs"))
	if b, err := os.ReadFile(filepath.Join(l.path, back, "rootfs", "inloop")); err != nil || string(b) != "inside\n" {
		t.Errorf("copy of the loop container lacks what was written in it: %q %v", b, err)
	}
}

// btrfsLab is a lab whose lxcpath is on a fresh btrfs (an image on a loop
// device, made with mkfs.btrfs from btrfs-progs).
func btrfsLab(t *testing.T) *lab {
	t.Helper()
	if _, err := exec.LookPath("mkfs.btrfs"); err != nil {
		t.Skip("mkfs.btrfs (btrfs-progs) is not installed")
	}
	l := newLab(t)
	img := filepath.Join(l.aux, "btrfs.img")
	f, err := os.Create(img)
	if err != nil {
		t.Fatal(err)
	}
	f.Truncate(256 << 20)
	f.Close()
	if out, err := exec.Command("mkfs.btrfs", "-q", img).CombinedOutput(); err != nil {
		t.Fatalf("mkfs.btrfs: %v: %s", err, out)
	}
	mnt := filepath.Join(l.aux, "btrfs")
	os.Mkdir(mnt, 0o755)
	if out, err := exec.Command("mount", "-o", "loop", img, mnt).CombinedOutput(); err != nil {
		if strings.Contains(string(out), "unknown filesystem type") {
			t.Skip("the kernel has no btrfs")
		}
		t.Fatalf("mount btrfs: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", mnt, err, out)
		}
	})
	b := *l
	b.path = filepath.Join(mnt, "lxc")
	os.Mkdir(b.path, 0o700)
	return &b
}

func isSubvolume(p string) bool {
	var st unix.Stat_t
	var fs unix.Statfs_t
	return unix.Lstat(p, &st) == nil && st.Ino == 256 && unix.Statfs(p, &fs) == nil && fs.Type == unix.BTRFS_SUPER_MAGIC
}

// TestCopyBtrfs: lxc-create -B btrfs makes a subvolume; -s is a btrfs
// snapshot, a full copy a subvolume of its own; data kept either way.
func TestCopyBtrfs(t *testing.T) {
	t.Parallel()
	l := btrfsLab(t)
	src := l.newContainer()
	l.mustRun("lxc-create", "-n", src, "-t", "busybox", "-f", l.conf(), "-B", "btrfs")
	root := filepath.Join(l.path, src, "rootfs")
	if !isSubvolume(root) {
		t.Fatalf("lxc-create -B btrfs: %s is not a subvolume", root)
	}
	if got := configValue(t, filepath.Join(l.path, src, "config"), "lxc.rootfs.path"); len(got) != 1 || got[0] != "btrfs:"+root {
		t.Errorf("lxc.rootfs.path = %v, want btrfs:%s", got, root)
	}
	seedRootfs(t, root)
	for _, args := range [][]string{{"-s"}, {}} {
		dst := l.newContainer()
		l.mustRun("lxc-copy", append([]string{"-n", src, "-N", dst}, args...)...)
		droot := filepath.Join(l.path, dst, "rootfs")
		if !isSubvolume(droot) {
			t.Errorf("lxc-copy %v on btrfs: %s is not a subvolume", args, droot)
		}
		checkSeeded(t, root, droot)
		if _, err := os.Stat(filepath.Join(l.path, src, "lxc_snapshots")); err == nil {
			t.Errorf("a btrfs snapshot does not depend on its origin, yet lxc_snapshots was written")
		}
		l.mustRun("lxc-start", "-n", dst)
		l.mustRun("lxc-stop", "-n", dst, "-k")
	}
	// A dir copy elsewhere: -B dir off btrfs.
	if _, errs, code := l.run("lxc-copy", "-n", src, "-N", newName(t), "-B", "lvm"); code != 1 || !strings.Contains(errs, "lvm is not supported") {
		t.Errorf("lxc-copy -B lvm: exit %d stderr %q, want one line refusing lvm", code, errs)
	}
}

// TestEphemeral: lxc-copy -e starts an overlay copy that is destroyed when
// it stops: by lxc-stop, by kill -9 of its init, and, after kill -9 of
// its monitor, by the next tool that looks at it; -m bind mounts a host
// TestEphemeralTmpfs: lxc-copy -e -t puts the overlay's upper layer on a
// tmpfs in the container's own mount namespace: what the container writes
// is there, not in the copy's directory on the host, and goes with it;
// an overlay clone (whose changes are in its upper layer) is refused.
func TestEphemeralTmpfs(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	src := l.createBusybox()
	e := l.newContainer()
	l.mustRun("lxc-copy", "-n", src, "-N", e, "-e", "-t")
	l.waitState(e, "RUNNING", 10*time.Second)
	if _, _, code := l.run("lxc-attach", "-n", e, "--", "/bin/sh", "-c", "echo inside > /written"); code != 0 {
		t.Fatalf("write in the tmpfs-backed ephemeral container: exit %d", code)
	}
	if out := l.attach(e, "cat", "/written"); out != "inside\n" {
		t.Errorf("cat /written inside = %q", out)
	}
	if _, err := os.Lstat(filepath.Join(l.path, e, "overlay", "delta", "written")); err == nil {
		t.Errorf("-t: what the container wrote is in the copy's directory on the host")
	}
	if mi, _ := os.ReadFile("/proc/self/mountinfo"); strings.Contains(string(mi), filepath.Join(l.path, e)) {
		t.Errorf("-t: a mount of the copy is on the host:\n%s", mi)
	}
	l.mustRun("lxc-stop", "-n", e)
	if _, err := os.Lstat(filepath.Join(l.path, e)); err == nil {
		t.Errorf("ephemeral %s still there after lxc-stop", e)
	}
	clone := l.newContainer()
	l.mustRun("lxc-copy", "-n", src, "-N", clone, "-s")
	_, errs, code := l.run("lxc-copy", "-n", clone, "-N", l.newContainer(), "-e", "-t")
	if code == 0 || !strings.Contains(errs, "-t:") {
		t.Errorf("lxc-copy -e -t of an overlay clone: exit %d, stderr %q; want a refusal", code, errs)
	}
}

// directory in it.
func TestEphemeral(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	src := l.createBusybox()
	hostDir := filepath.Join(l.aux, "shared")
	os.Mkdir(hostDir, 0o755)
	os.WriteFile(filepath.Join(hostDir, "hello"), []byte("from host\n"), 0o644)
	gone := func(n, how string) {
		t.Helper()
		if !waitFor(10*time.Second, func() bool { _, err := os.Lstat(filepath.Join(l.path, n)); return err != nil }) {
			t.Errorf("ephemeral %s still there after %s", n, how)
		}
		// Its monitor destroys it and exits: nothing of it left then.
		if !waitFor(10*time.Second, func() bool { return len(monitorPIDs(l.path, n)) == 0 }) {
			t.Errorf("monitor of ephemeral %s still there after %s", n, how)
		}
		if left := waitNoCgroups(n, 5*time.Second); len(left) > 0 {
			t.Errorf("ephemeral %s: cgroups left after %s: %v", n, how, left)
		}
	}
	e1 := l.newContainer()
	l.mustRun("lxc-copy", "-n", src, "-N", e1, "-e", "-m", "bind="+hostDir+":/mnt/shared:ro")
	l.waitState(e1, "RUNNING", 10*time.Second)
	if out := l.attach(e1, "cat", "/mnt/shared/hello"); out != "from host\n" {
		t.Errorf("-m bind: cat /mnt/shared/hello = %q", out)
	}
	if _, _, code := l.run("lxc-attach", "-n", e1, "--", "touch", "/mnt/shared/x"); code == 0 {
		t.Errorf("-m bind=...:ro: the mount is writable")
	}
	l.mustRun("lxc-stop", "-n", e1)
	// Gone before lxc-stop returns (the monitor destroys it before it
	// records STOPPED), so a script may reuse the name at once.
	if _, err := os.Lstat(filepath.Join(l.path, e1)); err == nil {
		t.Errorf("ephemeral %s still there when lxc-stop returned", e1)
	}
	gone(e1, "lxc-stop")

	// -m overlay=: the container writes on an overlay of a host
	// directory; the host's stays as it was.
	eo := l.newContainer()
	l.mustRun("lxc-copy", "-n", src, "-N", eo, "-e", "-m", "overlay="+hostDir+":/mnt/ov")
	if out := l.attach(eo, "sh", "-c", "cat /mnt/ov/hello; echo new > /mnt/ov/new"); out != "from host\n" {
		t.Errorf("-m overlay: cat /mnt/ov/hello = %q", out)
	}
	if _, err := os.Stat(filepath.Join(hostDir, "new")); err == nil {
		t.Errorf("-m overlay: a write in the container reached the host directory")
	}
	l.mustRun("lxc-stop", "-n", eo)
	gone(eo, "lxc-stop (with an overlay mount)")

	e2 := l.newContainer()
	l.mustRun("lxc-copy", "-n", src, "-N", e2, "-e")
	_ = syscall.Kill(l.initPID(e2), syscall.SIGKILL)
	gone(e2, "kill -9 of its init")

	e3 := l.newContainer()
	l.mustRun("lxc-copy", "-n", src, "-N", e3, "-e")
	l.waitState(e3, "RUNNING", 10*time.Second)
	// Its monitor killed: it runs on, adopted by the next tool.
	for _, pid := range monitorPIDs(l.path, e3) {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	if !waitFor(10*time.Second, func() bool { return len(monitorPIDs(l.path, e3)) == 0 }) {
		t.Fatalf("monitor of %s survived kill -9", e3)
	}
	if out := l.mustRun("lxc-ls", "--running"); !strings.Contains(out, e3) {
		t.Errorf("lxc-ls --running does not list %s, an ephemeral container whose monitor was killed: %q", e3, out)
	}
	// Its monitor and its init killed: the next tool does what its stop
	// would have done, the destroy included.
	killMonitorAndInit(t, l, e3)
	out := l.mustRun("lxc-ls")
	if strings.Contains(out, e3) {
		t.Errorf("lxc-ls lists %s, an ephemeral container whose monitor and init were killed", e3)
	}
	gone(e3, "kill -9 of its monitor and init, and an lxc-ls")

	// lxc-destroy -f of a running ephemeral container: its stop destroys
	// it, and the destroy succeeds, as LXC's.
	e5 := l.newContainer()
	l.mustRun("lxc-copy", "-n", src, "-N", e5, "-e")
	l.mustRun("lxc-destroy", "-n", e5, "-f")
	gone(e5, "lxc-destroy -f")

	// lxc.ephemeral = 1 in a config: lxc-start, then gone at its stop.
	e4 := l.createBusybox("lxc.ephemeral = 1")
	l.mustRun("lxc-start", "-n", e4)
	l.mustRun("lxc-stop", "-n", e4)
	gone(e4, "lxc-stop of an lxc.ephemeral = 1 container")
	if _, err := os.Stat(filepath.Join(l.path, src, "lxc_snapshots")); err == nil {
		t.Errorf("origin's lxc_snapshots still lists destroyed ephemeral copies")
	}
	l.mustRun("lxc-destroy", "-n", src)
	l.assertEmptyLXCPath("ephemeral copies and their origin destroyed")
}

// TestCopyOneFilesystem: what is mounted inside a rootfs on the host is
// not the container's: copied as an empty directory, as LXC's copy
// (rsync --one-file-system) leaves it.
func TestCopyOneFilesystem(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	src := l.createBusybox()
	mnt := filepath.Join(l.path, src, "rootfs", "mnt", "host")
	if err := os.MkdirAll(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", mnt, "tmpfs", 0, "size=1m"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Unmount(mnt, unix.MNT_DETACH) })
	os.WriteFile(filepath.Join(mnt, "hosts-file"), []byte("x"), 0o644)
	dst := l.newContainer()
	l.mustRun("lxc-copy", "-n", src, "-N", dst)
	copied := filepath.Join(l.path, dst, "rootfs", "mnt", "host")
	if ents, err := os.ReadDir(copied); err != nil || len(ents) != 0 {
		t.Errorf("the mount point's copy: %v %v, want an empty directory", ents, err)
	}
	unix.Unmount(mnt, unix.MNT_DETACH)
}

// TestCopyFailuresLeaveNothing: a loop image too small, and an lxc-copy
// killed (kill -9) while it fills a loop image, leave no directory, no
// mount and no loop device; the next copy of the name works.
func TestCopyFailuresLeaveNothing(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("mkfs.ext4"); err != nil {
		t.Skip("mkfs.ext4 (e2fsprogs) is not installed")
	}
	l := newLab(t)
	src := l.createBusybox()
	big := make([]byte, 48<<20)
	for i := range big {
		big[i] = byte(i*7 + i>>9)
	}
	if err := os.WriteFile(filepath.Join(l.path, src, "rootfs", "big"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	leftovers := func(what string) {
		t.Helper()
		ents, _ := os.ReadDir(l.path)
		for _, e := range ents {
			if e.Name() != src && !strings.HasPrefix(e.Name(), ".") {
				t.Errorf("%s left %s in the lxcpath", what, e.Name())
			}
		}
		if !waitFor(5*time.Second, func() bool { return len(loopsOf(l.path)) == 0 }) {
			t.Errorf("%s left loop devices: %v", what, loopsOf(l.path))
		}
		if b, _ := os.ReadFile("/proc/self/mountinfo"); strings.Contains(string(b), l.path) {
			t.Errorf("%s left a mount under %s", what, l.path)
		}
	}
	dst := l.newContainer()
	_, errs, code := l.run("lxc-copy", "-n", src, "-N", dst, "-B", "loop", "-L", "16M")
	if code != 1 || !strings.Contains(errs, "loop image") || strings.Count(strings.TrimSpace(errs), "\n") > 0 {
		t.Errorf("lxc-copy -B loop -L 16M of 48 MiB: exit %d stderr %q, want 1 and one line about the image", code, errs)
	}
	leftovers("a copy into a too small image")

	cmd := exec.Command(filepath.Join(binDir(t), "lxc-copy"), "-P", l.path, "-n", src, "-N", dst, "-B", "loop", "-L", "256M")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := waitFor(20*time.Second, func() bool { return len(loopsOf(l.path)) > 0 })
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	if !killed {
		t.Log("the copy finished before a loop device was seen: nothing to kill mid-way")
	}
	if killed {
		if _, err := os.Lstat(filepath.Join(l.path, dst)); err == nil {
			t.Errorf("a copy killed mid-way left %s", dst)
		}
		leftovers("a copy killed mid-way")
	}
	l.run("lxc-destroy", "-n", dst)
	l.mustRun("lxc-copy", "-n", src, "-N", dst)
	ents, _ := os.ReadDir(l.path)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("the next copy did not sweep %s", e.Name())
		}
	}
}

// TestCopyRunningOverlay: -a of a running overlay container is refused
// in one line: reading its tree would mount a second overlay on the
// upper and work directories the running one uses, which breaks the
// running container's writes.
func TestCopyRunningOverlay(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	origin := l.createBusybox()
	ov := l.newContainer()
	l.mustRun("lxc-copy", "-n", origin, "-N", ov, "-s")
	l.mustRun("lxc-start", "-n", ov)
	l.waitState(ov, "RUNNING", 10*time.Second)
	dst := l.newContainer()
	_, errs, code := l.run("lxc-copy", "-n", ov, "-N", dst, "-a")
	if code != 1 || strings.Count(strings.TrimSpace(errs), "\n") != 0 || !strings.Contains(errs, "overlay") {
		t.Errorf("lxc-copy -a of a running overlay container: exit %d stderr %q, want 1 and one line naming the overlay", code, errs)
	}
	if _, err := os.Lstat(filepath.Join(l.path, dst)); err == nil {
		t.Errorf("a refused copy made %s", dst)
	}
	if out := l.attach(ov, "/bin/sh", "-c", "echo written > /after-copy && cat /after-copy"); strings.TrimSpace(out) != "written" {
		t.Errorf("the running overlay container cannot write after the copy attempt: %q", out)
	}
}

// TestCopyDestroyRace: a snapshot copy of a stopped container racing its
// destroy never leaves a clone whose lower layer is gone: the copy holds
// the source's lock, so the destroy waits and then refuses (the source
// has a clone), or wins and the copy finds no source. The source's
// destroy hook sleeps, which holds the destroy between its check for
// clones and the removal: a copy made meanwhile must wait for it.
func TestCopyDestroyRace(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	hook := l.writeFile("slow-destroy", "#!/bin/sh\nsleep 0.2\n", 0o755)
	tmpl := l.createBusybox("lxc.hook.destroy = " + hook)
	const runs = 16
	orphans, copied, destroyed := 0, 0, 0
	for i := range runs {
		e1, e2 := l.newContainer(), l.newContainer()
		l.mustRun("lxc-copy", "-n", tmpl, "-N", e1)
		copyDone, destroyDone := make(chan int), make(chan int)
		cp := func() {
			_, _, code := runWith(t, runOpts{}, "lxc-copy", "-P", l.path, "-n", e1, "-N", e2, "-s")
			copyDone <- code
		}
		destroy := func() {
			_, _, code := runWith(t, runOpts{}, "lxc-destroy", "-P", l.path, "-n", e1)
			destroyDone <- code
		}
		// Even runs: the copy lands in the destroy's hook; odd: the
		// destroy lands before, during or after the copy's steps.
		first, second, delay := destroy, cp, 50*time.Millisecond
		if i%2 == 1 {
			first, second, delay = cp, destroy, time.Duration(i%8)*3*time.Millisecond
		}
		go first()
		time.Sleep(delay)
		go second()
		ccode, dcode := <-copyDone, <-destroyDone
		if ccode == 0 {
			copied++
		}
		if dcode == 0 {
			destroyed++
		}
		if _, err := os.Stat(filepath.Join(l.path, e2, "config")); err == nil {
			if _, err := os.Stat(filepath.Join(l.path, e1, "rootfs")); err != nil {
				orphans++
				t.Errorf("run %d: clone %s was made but its lower layer (%s's rootfs) is gone (copy exit %d, destroy exit %d)", i, e2, e1, ccode, dcode)
			}
		}
		l.run("lxc-destroy", "-n", e2)
		l.run("lxc-destroy", "-n", e1)
	}
	t.Logf("%d races: %d copies made, %d destroys done, %d orphaned clones", runs, copied, destroyed, orphans)
}
