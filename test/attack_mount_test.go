package test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A read-only bind source stays read-only inside the container when the
// entry adds flags of its own (bind,nosuid): the remount that applies them
// keeps what the source enforces, as LXC's does, or the container's root
// could write a directory the host shares read-only.
func TestAttackMountEntryKeepsSourceReadOnly(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	src := filepath.Join(l.aux, "ro")
	if err := os.Mkdir(src, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "host-file"), []byte("host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Read-only as a mount, not as a file system: a bind of the
	// directory onto itself, remounted read-only (how a host shares a
	// directory read-only).
	if err := unix.Mount(src, src, "", unix.MS_BIND, ""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Unmount(src, unix.MNT_DETACH) })
	if err := unix.Mount("", src, "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY, ""); err != nil {
		t.Fatal(err)
	}
	n := l.createBusybox("lxc.mount.entry = " + src + " mnt/ro none bind,nosuid,create=dir 0 0")
	l.mustRun("lxc-start", "-n", n)
	l.waitState(n, "RUNNING", 10*time.Second)
	out, _, code := l.run("lxc-attach", "-n", n, "--", "/bin/sh", "-c", "cat /mnt/ro/host-file && echo x > /mnt/ro/new; echo rc=$?; grep ' /mnt/ro ' /proc/self/mountinfo")
	if !strings.Contains(out, "host") || !strings.Contains(out, "rc=1") || code != 0 {
		t.Errorf("a write to a read-only bind source from inside: %q (exit %d), want the host file readable and the write refused", out, code)
	}
	if _, err := os.Stat(filepath.Join(src, "new")); err == nil {
		t.Errorf("the container wrote into the host's read-only %s", src)
	}
}

// Log files golxc writes as root (the console log of -L and
// lxc.console.logfile, lxc.console.path as a file) are never written
// through a link at their name: a directory that a container's root or a
// user can write must not give them a way to a host file.
func TestAttackLogThroughLink(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	victim := l.writeFile("victim", "host root's\n", 0o600)
	for _, key := range []string{"lxc.console.logfile", "lxc.console.path"} {
		t.Run(key, func(t *testing.T) {
			l := l.with(t)
			link := filepath.Join(l.aux, newName(t)+".log")
			if err := os.Symlink(victim, link); err != nil {
				t.Fatal(err)
			}
			n := l.createBusybox(key + " = " + link)
			l.run("lxc-start", "-n", n)
			time.Sleep(500 * time.Millisecond)
			l.run("lxc-stop", "-n", n, "-k")
			if b, _ := os.ReadFile(victim); string(b) != "host root's\n" {
				t.Errorf("%s through a link: the host file it points at now holds %q", key, b)
			}
		})
	}
}
