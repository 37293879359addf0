package test

// lxc-snapshot (issue 13): snapshots laid out as LXC lays them out
// (LXCPATH/NAME/snaps/snapN with config, rootfs, ts, comment), listed,
// restored in place or as a new container, destroyed one or ALL, and
// gone with lxc-destroy -s.

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestSnapshotDir: a dir container's snapshots are copies; restore in
// place puts the rootfs back as it was and keeps the snapshots.
func TestSnapshotDir(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	c := l.createBusybox()
	root := filepath.Join(l.path, c, "rootfs")
	seedRootfs(t, root)
	comment := l.writeFile("comment", "before the upgrade\n", 0o644)
	l.mustRun("lxc-snapshot", "-n", c, "-c", comment)
	snap := filepath.Join(l.path, c, "snaps", "snap0")
	for _, f := range []string{"config", "rootfs", "ts", "comment"} {
		if _, err := os.Lstat(filepath.Join(snap, f)); err != nil {
			t.Errorf("snapshot lacks %s: %v", f, err)
		}
	}
	if ts := readTrim(t, filepath.Join(snap, "ts")); !regexp.MustCompile(`^\d{4}:\d\d:\d\d \d\d:\d\d:\d\d$`).MatchString(ts) {
		t.Errorf("snapshot ts = %q, want LXC's YYYY:MM:DD HH:MM:SS", ts)
	}
	if got := configValue(t, filepath.Join(snap, "config"), "lxc.rootfs.path"); len(got) != 1 || got[0] != "dir:"+filepath.Join(snap, "rootfs") {
		t.Errorf("snapshot's lxc.rootfs.path = %v, want dir:%s/rootfs (a copy)", got, snap)
	}
	if got := configValue(t, filepath.Join(snap, "config"), "lxc.uts.name"); len(got) != 1 || got[0] != c {
		t.Errorf("snapshot's lxc.uts.name = %v, want the container's, %s", got, c)
	}
	checkSeeded(t, root, filepath.Join(snap, "rootfs"))
	l.mustRun("lxc-snapshot", "-n", c)
	out := l.mustRun("lxc-snapshot", "-n", c, "-L")
	lines := nonEmptyLines(out)
	want := regexp.MustCompile(`^snap[01] \(` + regexp.QuoteMeta(filepath.Join(l.path, c, "snaps")) + `\) \d{4}:\d\d:\d\d \d\d:\d\d:\d\d$`)
	if len(lines) != 2 || !want.MatchString(lines[0]) || !want.MatchString(lines[1]) || !strings.HasPrefix(lines[0], "snap0") {
		t.Errorf("lxc-snapshot -L = %q, want two lines \"snapN (LXCPATH/NAME/snaps) TIME\"", out)
	}
	if out := l.mustRun("lxc-snapshot", "-n", c, "-L", "-C"); !strings.Contains(out, "\nbefore the upgrade\n") {
		t.Errorf("lxc-snapshot -L -C = %q, want the comment after snap0's line", out)
	}

	// Restore in place: what changed since goes, the snapshots stay.
	os.WriteFile(filepath.Join(root, "after"), []byte("x"), 0o644)
	os.Remove(filepath.Join(root, "data", "link2"))
	l.mustRun("lxc-snapshot", "-n", c, "-r", "snap0")
	if _, err := os.Stat(filepath.Join(l.path, c, "rootfs", "after")); err == nil {
		t.Errorf("restore in place kept a file made after the snapshot")
	}
	checkSeeded(t, filepath.Join(snap, "rootfs"), filepath.Join(l.path, c, "rootfs"))
	if got := configValue(t, filepath.Join(l.path, c, "config"), "lxc.rootfs.path"); len(got) != 1 || got[0] != "dir:"+filepath.Join(l.path, c, "rootfs") {
		t.Errorf("restored lxc.rootfs.path = %v", got)
	}
	if _, err := os.Stat(filepath.Join(snap, "rootfs", "data")); err != nil {
		t.Errorf("restore in place lost the snapshot: %v", err)
	}
	l.mustRun("lxc-start", "-n", c)
	l.mustRun("lxc-stop", "-n", c, "-k")

	// Restore as a new container.
	n := l.newContainer()
	l.mustRun("lxc-snapshot", "-n", c, "-r", "snap1", "-N", n)
	if got := configValue(t, filepath.Join(l.path, n, "config"), "lxc.rootfs.path"); len(got) != 1 || got[0] != "dir:"+filepath.Join(l.path, n, "rootfs") {
		t.Errorf("restored-as-new lxc.rootfs.path = %v", got)
	}
	if got := configValue(t, filepath.Join(l.path, n, "config"), "lxc.uts.name"); len(got) != 1 || got[0] != n {
		t.Errorf("restored-as-new lxc.uts.name = %v, want %s", got, n)
	}

	// Running: a dir rootfs is not snapshotted, said why.
	l.mustRun("lxc-start", "-n", c)
	if _, errs, code := l.run("lxc-snapshot", "-n", c); code != 1 || !strings.Contains(errs, "dir rootfs is snapshotted only when stopped") {
		t.Errorf("lxc-snapshot of a running dir container: exit %d stderr %q, want 1 naming the store", code, errs)
	}
	l.mustRun("lxc-stop", "-n", c, "-k")

	// Destroy one, then with the container.
	l.mustRun("lxc-snapshot", "-n", c, "-d", "snap1")
	if _, err := os.Lstat(filepath.Join(l.path, c, "snaps", "snap1")); err == nil {
		t.Errorf("lxc-snapshot -d snap1 left it")
	}
	if _, _, code := l.run("lxc-snapshot", "-n", c, "-d", "snap7"); code != 1 {
		t.Errorf("lxc-snapshot -d of a missing snapshot: exit %d, want 1", code)
	}
	l.mustRun("lxc-destroy", "-n", n)
	l.mustRun("lxc-destroy", "-n", c, "-s")
	l.assertEmptyLXCPath("lxc-destroy -s")
}

// TestSnapshotOverlay: an overlay clone's snapshots are overlays on the
// same lower layer; -d ALL removes them all; restore brings the delta back.
func TestSnapshotOverlay(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	origin := l.createBusybox()
	c := l.newContainer()
	l.mustRun("lxc-copy", "-n", origin, "-N", c, "-s")
	delta := filepath.Join(l.path, c, "overlay", "delta")
	os.WriteFile(filepath.Join(delta, "v1"), []byte("1"), 0o644)
	l.mustRun("lxc-snapshot", "-n", c)
	snap := filepath.Join(l.path, c, "snaps", "snap0")
	want := "overlay:" + filepath.Join(l.path, origin, "rootfs") + ":" + filepath.Join(snap, "overlay", "delta")
	if got := configValue(t, filepath.Join(snap, "config"), "lxc.rootfs.path"); len(got) != 1 || got[0] != want {
		t.Errorf("overlay snapshot's lxc.rootfs.path = %v, want %s", got, want)
	}
	os.Remove(filepath.Join(delta, "v1"))
	l.mustRun("lxc-snapshot", "-n", c, "-r", "snap0")
	if _, err := os.Stat(filepath.Join(delta, "v1")); err != nil {
		t.Errorf("restore of an overlay snapshot: the delta's file is not back: %v", err)
	}
	l.mustRun("lxc-start", "-n", c)
	if out := l.attach(c, "cat", "/v1"); out != "1" {
		t.Errorf("restored overlay container: cat /v1 = %q", out)
	}
	l.mustRun("lxc-stop", "-n", c, "-k")
	l.mustRun("lxc-snapshot", "-n", c)
	if got := readTrim(t, filepath.Join(l.path, origin, "lxc_snapshots")); !strings.Contains(got, filepath.Join(l.path, c, "snaps")+"\nsnap0") {
		t.Errorf("origin's lxc_snapshots = %q, want the overlay snapshot listed (it lies on the origin's rootfs)", got)
	}
	l.mustRun("lxc-snapshot", "-n", c, "-d", "ALL")
	if out := l.mustRun("lxc-snapshot", "-n", c, "-L"); strings.TrimSpace(out) != "No snapshots" {
		t.Errorf("lxc-snapshot -L after -d ALL = %q, want \"No snapshots\"", out)
	}
	// A container with snapshots is destroyed only with -s (LXC's
	// refusal, word for word, and nothing changed); its snapshots come
	// off the origin's list too.
	l.mustRun("lxc-snapshot", "-n", c)
	if _, errs, code := l.run("lxc-destroy", "-n", c); code != 1 || strings.TrimSpace(errs) != "lxc-destroy: Destroying "+c+" failed: "+c+" has snapshots" {
		t.Errorf("lxc-destroy of a container with snapshots, no -s: exit %d stderr %q, want 1 and \"Destroying %s failed: %s has snapshots\"", code, errs, c, c)
	}
	if _, err := os.Stat(filepath.Join(l.path, c, "snaps", "snap0", "config")); err != nil {
		t.Errorf("a refused lxc-destroy lost the snapshot: %v", err)
	}
	l.mustRun("lxc-destroy", "-n", c, "-s")
	l.mustRun("lxc-destroy", "-n", origin)
	l.assertEmptyLXCPath("overlay snapshots destroyed")
}

// creatingLeft lists the hidden work directories of copies left in dir.
func creatingLeft(dir string) []string {
	var out []string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".creating-") {
			out = append(out, e.Name())
		}
	}
	return out
}

// TestSnapshotCopyLoop: a loop container (its fresh ext4 image has a
// lost+found, so has every copy's new image) copies to loop and is
// snapshotted, the new images of the source's size, and no work
// directory is left.
func TestSnapshotCopyLoop(t *testing.T) {
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
	src := l.newContainer()
	l.mustRun("lxc-create", "-n", src, "-t", "busybox", "-f", l.conf(), "-B", "loop", "--fssize", "40M")
	out, errs, code := l.runWith(runOpts{timeout: time.Minute}, "lxc-snapshot", "-n", src)
	if code != 0 {
		t.Fatalf("lxc-snapshot -n %s (loop): exit %d\nstdout: %s\nstderr: %s", src, code, out, errs)
	}
	snaps := filepath.Join(l.path, src, "snaps")
	if fi, err := os.Stat(filepath.Join(snaps, "snap0", "rootdev")); err != nil || fi.Size() != 40<<20 {
		t.Errorf("loop snapshot's image: %v (%v), want snaps/snap0/rootdev of 40 MiB", fi, err)
	}
	l.mustRun("lxc-snapshot", "-n", src)
	if _, err := os.Stat(filepath.Join(snaps, "snap1", "rootdev")); err != nil {
		t.Errorf("second loop snapshot: %v", err)
	}
	cp := l.newContainer()
	l.mustRun("lxc-copy", "-n", src, "-N", cp, "-B", "loop")
	if fi, err := os.Stat(filepath.Join(l.path, cp, "rootdev")); err != nil || fi.Size() != 40<<20 {
		t.Errorf("lxc-copy -B loop of a 40 MiB loop container: image %v (%v), want 40 MiB (the source's size)", fi, err)
	}
	back := l.newContainer()
	l.mustRun("lxc-copy", "-n", cp, "-N", back, "-B", "dir")
	for _, f := range []string{"bin/busybox", "lost+found"} {
		if _, err := os.Lstat(filepath.Join(l.path, back, "rootfs", f)); err != nil {
			t.Errorf("loop copy of a loop container lacks %s: %v", f, err)
		}
	}

	if left := creatingLeft(l.path); len(left) > 0 {
		t.Errorf("work directories left in %s: %v", l.path, left)
	}
	if left := creatingLeft(snaps); len(left) > 0 {
		t.Errorf("work directories left in %s: %v", snaps, left)
	}
}
