package test

// Attacks on lxc-copy and lxc-snapshot (issue 13): the files of a rootfs
// belong to the container, which may have planted or may swap in
// symlinks, fifos, hardlinks to host files; names come from the command
// line. The copier, running as host root, must never read or write
// outside the trees it copies, never block on or open what it finds, and
// names must never lead out of the lxcpath.

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// hostSecret makes a host file the container must not get a copy of.
func hostSecret(t *testing.T, l *lab) string {
	t.Helper()
	d := filepath.Join(l.aux, "hostdir")
	if err := os.Mkdir(d, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(d, "secret"), []byte("host only\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return d
}

// TestAttackCopySymlinks: links in the rootfs (absolute, relative out of
// the tree, to a host directory) are copied as links, never followed; a
// fifo does not hang the copy.
func TestAttackCopySymlinks(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	host := hostSecret(t, l)
	src := l.createBusybox()
	root := filepath.Join(l.path, src, "rootfs")
	for name, target := range map[string]string{"hostdir": host, "up": "../../../../../../../..", "etclink": "/etc"} {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Mkfifo(filepath.Join(root, "trap"), 0o644); err != nil {
		t.Fatal(err)
	}
	dst := l.newContainer()
	l.mustRun("lxc-copy", "-n", src, "-N", dst)
	droot := filepath.Join(l.path, dst, "rootfs")
	for _, name := range []string{"hostdir", "up", "etclink"} {
		fi, err := os.Lstat(filepath.Join(droot, name))
		if err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Errorf("copy of the link %s: %v %v, want a symlink", name, fi, err)
		}
	}
	if _, err := os.Lstat(filepath.Join(l.path, dst, "rootfs", "hostdir", "secret")); err == nil {
		if fi, _ := os.Lstat(filepath.Join(droot, "hostdir")); fi.Mode()&os.ModeSymlink == 0 {
			t.Errorf("the host directory the link named was copied into the container")
		}
	}
	if fi, err := os.Lstat(filepath.Join(droot, "trap")); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		t.Errorf("copy of the fifo: %v %v", fi, err)
	}
}

// TestAttackCopyRootfsIsLink: a container whose rootfs directory was
// replaced by a link to a host tree is not copied (the copy would hand the
// host's files to the new container), and nothing is left.
func TestAttackCopyRootfsIsLink(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	host := hostSecret(t, l)
	src := l.createBusybox()
	root := filepath.Join(l.path, src, "rootfs")
	if err := os.RemoveAll(root); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(host, root); err != nil {
		t.Fatal(err)
	}
	dst := l.newContainer()
	for _, args := range [][]string{{}, {"-B", "loop", "-L", "32M"}} {
		_, errs, code := l.run("lxc-copy", append([]string{"-n", src, "-N", dst}, args...)...)
		if code != 1 || !strings.Contains(errs, "symbolic link") {
			t.Errorf("lxc-copy %v of a rootfs that is a link: exit %d stderr %q, want 1 and a refusal", args, code, errs)
		}
		if _, err := os.Lstat(filepath.Join(l.path, dst)); err == nil {
			t.Errorf("lxc-copy %v of a rootfs that is a link made %s", args, dst)
		}
	}
	ents, _ := os.ReadDir(l.path)
	for _, e := range ents {
		if e.Name() != src {
			t.Errorf("refused copies left %s in the lxcpath", e.Name())
		}
	}
	if _, _, code := l.run("lxc-snapshot", "-n", src); code != 1 {
		t.Errorf("lxc-snapshot of a rootfs that is a link: exit %d, want 1", code)
	}
}

// TestAttackCopySwap: while lxc-copy runs, the container swaps a
// directory of its rootfs for a link to a host directory and back, over
// and over. No copy ever holds the host directory's file: the copier
// either copies the link as a link or the directory, or refuses.
func TestAttackCopySwap(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	host := hostSecret(t, l)
	src := l.createBusybox()
	root := filepath.Join(l.path, src, "rootfs")
	d := filepath.Join(root, "swap")
	// Many entries, so the copy is inside the directory while it flips.
	if err := os.Mkdir(d, 0o755); err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		os.WriteFile(filepath.Join(d, "f"+strings.Repeat("x", i%7)+string(rune('a'+i%26))+string(rune('a'+i/26))), []byte("c"), 0o644)
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		aside := filepath.Join(root, "swap.real")
		link := filepath.Join(root, "swap.link")
		os.Symlink(host, link)
		for !stop.Load() {
			os.Rename(d, aside)
			os.Rename(link, d)
			time.Sleep(50 * time.Microsecond)
			os.Rename(d, link)
			os.Rename(aside, d)
		}
	}()
	deadline := time.Now().Add(4 * time.Second)
	made, refused := 0, 0
	defer func() { t.Logf("%d copies made, %d refused while the rootfs changed under them", made, refused) }()
	for i := 0; time.Now().Before(deadline); i++ {
		dst := l.newContainer()
		_, errs, code := l.run("lxc-copy", "-n", src, "-N", dst)
		if code != 0 {
			refused++
			if _, err := os.Lstat(filepath.Join(l.path, dst)); err == nil {
				t.Errorf("a failed copy (%s) left %s", strings.TrimSpace(errs), dst)
			}
			continue
		}
		made++
		filepath.Walk(filepath.Join(l.path, dst, "rootfs"), func(p string, fi os.FileInfo, err error) error {
			if err == nil && fi.Name() == "secret" && fi.Mode().IsRegular() {
				t.Errorf("copy %d holds the host's file at %s", i, p)
			}
			return nil
		})
		l.run("lxc-destroy", "-n", dst)
	}
	stop.Store(true)
	wg.Wait()
	if b, err := os.ReadFile(filepath.Join(host, "secret")); err != nil || string(b) != "host only\n" {
		t.Errorf("the host's file changed: %q %v", b, err)
	}
}

// TestAttackCopyHardlink: a file of the rootfs hardlinked to a host file
// (the container cannot make one, but a careless admin may) is copied as
// a file of the copy's own: writing the copy never changes the host's.
func TestAttackCopyHardlink(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	host := hostSecret(t, l)
	src := l.createBusybox()
	if err := os.Link(filepath.Join(host, "secret"), filepath.Join(l.path, src, "rootfs", "hl")); err != nil {
		t.Skipf("the lab's host dir and lxcpath are on different filesystems: %v", err)
	}
	dst := l.newContainer()
	l.mustRun("lxc-copy", "-n", src, "-N", dst)
	var a, b syscall.Stat_t
	syscall.Stat(filepath.Join(host, "secret"), &a)
	syscall.Stat(filepath.Join(l.path, dst, "rootfs", "hl"), &b)
	if a.Ino == b.Ino && a.Dev == b.Dev {
		t.Fatalf("the copy's hl is the host's file itself")
	}
	l.mustRun("lxc-start", "-n", dst)
	l.attach(dst, "sh", "-c", "echo pwned > /hl")
	l.mustRun("lxc-stop", "-n", dst, "-k")
	if got, _ := os.ReadFile(filepath.Join(host, "secret")); string(got) != "host only\n" {
		t.Errorf("writing the copy's hl changed the host's file: %q", got)
	}
}

// TestAttackCopyNames: names from the command line never lead out of the
// lxcpath: -N ../x, -N a/b, a snapshot named ../../etc.
func TestAttackCopyNames(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	src := l.createBusybox()
	for _, bad := range []string{"../x", "a/b", "..", ".hidden", "/etc"} {
		for _, extra := range [][]string{{}, {"-s"}, {"-R"}} {
			_, errs, code := l.run("lxc-copy", append([]string{"-n", src, "-N", bad}, extra...)...)
			if code != 1 || !strings.Contains(errs, "invalid container name") {
				t.Errorf("lxc-copy -N %q %v: exit %d stderr %q, want 1 and invalid container name", bad, extra, code, errs)
			}
		}
	}
	if _, err := os.Lstat(filepath.Join(filepath.Dir(l.path), "x")); err == nil {
		t.Errorf("lxc-copy -N ../x made %s", filepath.Join(filepath.Dir(l.path), "x"))
	}
	l.mustRun("lxc-snapshot", "-n", src)
	for _, args := range [][]string{{"-d", "../../etc"}, {"-r", "../../etc"}, {"-r", "snap0", "-N", "../../x"}, {"-d", "../snap0"}} {
		_, errs, code := l.run("lxc-snapshot", append([]string{"-n", src}, args...)...)
		if code != 1 || !strings.Contains(errs, "invalid container name") {
			t.Errorf("lxc-snapshot %v: exit %d stderr %q, want 1 and invalid container name", args, code, errs)
		}
	}
	if _, err := os.Stat("/etc/passwd"); err != nil {
		t.Fatalf("/etc/passwd: %v", err)
	}
	if _, err := os.Stat(filepath.Join(l.path, src, "snaps", "snap0", "rootfs", "bin")); err != nil {
		t.Errorf("the snapshot is damaged: %v", err)
	}
	ents, _ := os.ReadDir(l.path)
	if len(ents) != 1 {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("refused copies left %v in the lxcpath", names)
	}
}

// TestAttackCopyOwnFileSwap: lxc.mount.fstab names a file in the
// container's rootfs (LXCPATH/NAME/rootfs/etc/fstab.lxc) while the
// container's root keeps exchanging rootfs/etc with a link to a host
// directory (renameat2 RENAME_EXCHANGE). lxc-copy must neither write a
// file into the host directory through the link (the copy's etc may be
// it) nor read the host's file into the copy (the source's etc may be
// it): the rootfs file comes with the rootfs copy, nothing else.
func TestAttackCopyOwnFileSwap(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	for _, phase := range []string{"write", "read"} {
		t.Run(phase, func(t *testing.T) {
			l := l.with(t)
			host := filepath.Join(l.aux, "host-"+phase)
			if err := os.Mkdir(host, 0o700); err != nil {
				t.Fatal(err)
			}
			if phase == "read" {
				if err := os.WriteFile(filepath.Join(host, "fstab.lxc"), []byte("host only\n"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			src := l.newContainer()
			l.mustRun("lxc-create", "-n", src, "-t", "busybox", "-f", l.conf("lxc.mount.fstab = "+filepath.Join(l.path, src, "rootfs", "etc", "fstab.lxc")))
			etc := filepath.Join(l.path, src, "rootfs", "etc")
			if phase == "write" {
				// The container's own file: a copy through the link would
				// land in the host directory.
				if err := os.WriteFile(filepath.Join(etc, "fstab.lxc"), []byte("container\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			link := filepath.Join(l.path, src, "rootfs", "etc.swap")
			if err := os.Symlink(host, link); err != nil {
				t.Fatal(err)
			}
			var stop atomic.Bool
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				for !stop.Load() {
					unix.Renameat2(unix.AT_FDCWD, etc, unix.AT_FDCWD, link, unix.RENAME_EXCHANGE)
					time.Sleep(20 * time.Microsecond)
				}
			}()
			made := 0
			const tries = 30
			for i := 0; i < tries; i++ {
				dst := l.newContainer()
				if _, _, code := l.run("lxc-copy", "-n", src, "-N", dst); code != 0 {
					continue
				}
				made++
				filepath.Walk(filepath.Join(l.path, dst), func(p string, fi os.FileInfo, err error) error {
					if err == nil && fi.Mode().IsRegular() {
						if b, _ := os.ReadFile(p); string(b) == "host only\n" {
							t.Errorf("copy %d holds the host's file at %s", i, p)
						}
					}
					return nil
				})
				l.run("lxc-destroy", "-n", dst)
			}
			stop.Store(true)
			wg.Wait()
			t.Logf("%d of %d copies made while etc was swapped", made, tries)
			entries, _ := os.ReadDir(host)
			for _, e := range entries {
				if phase == "write" || e.Name() != "fstab.lxc" {
					t.Errorf("lxc-copy wrote %s in the host directory the container's link named", filepath.Join(host, e.Name()))
				}
			}
		})
	}
}

// TestAttackCopyLoopDevice: a config whose loop image is a device node
// (loop:/dev/watchdog would arm the watchdog on open) or a symlink: lxc-copy
// and lxc-start refuse it without ever opening it (inotify sees no open).
func TestAttackCopyLoopDevice(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	src := l.createBusybox()
	dev := filepath.Join(l.aux, "dev")
	if err := syscall.Mknod(dev, syscall.S_IFCHR|0o666, 1<<8|3); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(l.aux, "link")
	if err := os.Symlink(dev, link); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(l.path, src, "config")
	orig, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, img := range []string{dev, link} {
		var lines []string
		for _, line := range strings.Split(string(orig), "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "lxc.rootfs.path") {
				line = "lxc.rootfs.path = loop:" + img
			}
			lines = append(lines, line)
		}
		if err := os.WriteFile(cfgPath, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
			t.Fatal(err)
		}
		in, err := syscall.InotifyInit1(syscall.IN_CLOEXEC | syscall.IN_NONBLOCK)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := syscall.InotifyAddWatch(in, dev, syscall.IN_OPEN); err != nil {
			t.Fatal(err)
		}
		dst := l.newContainer()
		_, errs, code := l.run("lxc-copy", "-n", src, "-N", dst)
		if code != 1 || !strings.Contains(errs, "not a regular file") {
			t.Errorf("lxc-copy of loop:%s: exit %d stderr %q, want 1 and \"not a regular file\"", img, code, errs)
		}
		if _, _, code := l.run("lxc-start", "-n", src); code == 0 {
			t.Errorf("lxc-start of loop:%s: exit 0, want a refusal", img)
			l.run("lxc-stop", "-n", src, "-k")
		}
		buf := make([]byte, 4096)
		if n, _ := syscall.Read(in, buf); n > 0 {
			t.Errorf("loop:%s: the device node was opened (inotify IN_OPEN)", img)
		}
		syscall.Close(in)
	}
	if err := os.WriteFile(cfgPath, orig, 0o644); err != nil {
		t.Fatal(err)
	}
}
