package test

import (
	"os"
	"strings"
	"testing"
	"time"
)

// The container of an id-mapped lxc-device add plants links in its /dev:
// one to its root (so a path through it would reach the host's /tmp if
// resolved on the host), one to /etc/passwd at the very name added, and a
// /proc magic link. The bind lands inside the container's root or is
// refused; the host's /tmp, /etc/passwd and mount table are untouched.
func TestAttackDeviceBindTarget(t *testing.T) {
	t.Parallel()
	requireBusybox(t)
	l := usernsLab(t)
	c := l.createBusybox(idmapLines...)
	l.mustRun("lxc-start", "-n", c)
	l.waitState(c, "RUNNING", 10*time.Second)
	hostTmp := "/tmp/" + newName(t)
	t.Cleanup(func() { os.Remove(hostTmp) })
	l.attach(c, "sh", "-c", "mkdir -p /tmp && ln -s / /dev/gxroot && ln -s /etc/passwd /dev/gxpw && ln -s /proc/self/root /dev/gxmagic")
	hostMounts := func() string {
		b, err := os.ReadFile("/proc/self/mountinfo")
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	before := strings.Count(hostMounts(), "\n")

	// Through the link to its root: the container's own /tmp.
	l.mustRun("lxc-device", "-n", c, "add", "/dev/zero", "/dev/gxroot"+hostTmp)
	if _, err := os.Lstat(hostTmp); err == nil {
		t.Errorf("lxc-device add through the container's link to / made %s on the host", hostTmp)
	}
	if out := l.attach(c, "sh", "-c", "grep -c ' "+hostTmp+" ' /proc/self/mountinfo"); strings.TrimSpace(out) != "1" {
		t.Errorf("the node is not bound at the container's own %s: %q", hostTmp, out)
	}
	// At a link's own name: refused, nothing bound over its target.
	for _, dst := range []string{"/dev/gxpw", "/dev/gxmagic/etc/passwd"} {
		_, errs, code := l.run("lxc-device", "-n", c, "add", "/dev/zero", dst)
		if code == 0 || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
			t.Errorf("lxc-device add /dev/zero %s: exit %d, %q; want one line refusing", dst, code, errs)
		}
	}
	if out := l.attach(c, "sh", "-c", "grep -c passwd /proc/self/mountinfo || true"); strings.TrimSpace(out) != "0" {
		t.Errorf("a mount over the container's passwd: %q", out)
	}
	if m := hostMounts(); strings.Count(m, "\n") != before && strings.Contains(m, "passwd") {
		t.Errorf("a mount over the host's /etc/passwd:\n%s", m)
	}
	if st, err := os.Stat("/etc/passwd"); err != nil || !st.Mode().IsRegular() {
		t.Errorf("host /etc/passwd after the attack: %v, %v", st, err)
	}
	l.mustRun("lxc-device", "-n", c, "del", "/dev/zero", "/dev/gxroot"+hostTmp)
	l.mustRun("lxc-stop", "-n", c, "-k")
}
