package test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// deviceLines is a devices cgroup that allows what busybox needs and not
// /dev/zero (1:5), in v1 (lxc.cgroup.) or v2 (lxc.cgroup2.) keys.
func deviceLines(prefix string) []string {
	var out []string
	out = append(out, prefix+"devices.deny = a")
	for _, a := range []string{"c 1:3 rwm", "c 5:0 rwm", "c 5:1 rwm", "c 5:2 rwm", "c 136:* rwm"} {
		out = append(out, prefix+"devices.allow = "+a)
	}
	return out
}

// lxc-device add /dev/zero /dev/gxzero makes that node inside a running
// container whose devices cgroup (v1) denied it, and allows 1:5 there: a
// read inside then works; del removes the node and denies 1:5 again, as
// the devices.list shows. A wrong source, a path through a magic link the
// container planted, a del of a node that is not the device's, and a
// container with a cgroup2 device program are each refused in one line,
// and make nothing (on the host or inside).
func TestDeviceNode(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	c := l.createBusybox(deviceLines("lxc.cgroup.")...)
	l.mustRun("lxc-start", "-n", c)
	l.waitState(c, "RUNNING", 10*time.Second)
	list := "/sys/fs/cgroup/devices/lxc.payload." + c + "/devices.list"
	if got := readTrim(t, list); strings.Contains(got, "c 1:5 rwm") {
		t.Fatalf("devices.list before add has 1:5:\n%s", got)
	}
	read := "head -c 4 /dev/gxzero | wc -c"
	if _, _, code := l.run("lxc-attach", "-n", c, "--", "head", "-c", "4", "/dev/gxzero"); code == 0 {
		t.Errorf("/dev/gxzero read before add")
	}

	l.mustRun("lxc-device", "-n", c, "add", "/dev/zero", "/dev/gxzero")
	if got := readTrim(t, list); !strings.Contains(got, "c 1:5 rwm") {
		t.Errorf("devices.list after add lacks c 1:5 rwm:\n%s", got)
	}
	if got := strings.TrimSpace(l.attach(c, "sh", "-c", read)); got != "4" {
		t.Errorf("read of /dev/gxzero inside after add: %q, want 4", got)
	}
	if _, err := os.Lstat("/dev/gxzero"); err == nil {
		t.Errorf("/dev/gxzero made on the host")
	}

	// Refusals, each one line, nothing made.
	l.attach(c, "sh", "-c", "ln -s /proc/self/root /tmp/gxm && touch /tmp/gxfile")
	hostTmp := filepath.Join(t.TempDir(), "gxesc")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"add", "/dev/gxnosuch"}, "add /dev/gxnosuch: /dev/gxnosuch: no such file or directory"},
		{[]string{"add", "/etc/passwd"}, "/etc/passwd: not a device node"},
		{[]string{"add", "/dev/zero", "/tmp/gxm" + hostTmp}, "open /tmp/gxm"},
		{[]string{"add", "/dev/zero", "/gxnodir/zero"}, "open /gxnodir"},
		{[]string{"del", "/dev/zero", "/tmp/gxfile"}, "/tmp/gxfile in " + c + " is not the node of /dev/zero"},
	} {
		_, errs, code := l.run("lxc-device", append([]string{"-n", c}, tc.args...)...)
		if code == 0 || !strings.Contains(errs, tc.want) || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
			t.Errorf("lxc-device %v: exit %d, %q, want one line with %q", tc.args, code, errs, tc.want)
		}
	}
	if _, err := os.Lstat(hostTmp); err == nil {
		t.Errorf("a node made on the host at %s through the container's magic link", hostTmp)
	}
	l.attach(c, "test", "-f", "/tmp/gxfile")

	l.mustRun("lxc-device", "-n", c, "del", "/dev/zero", "/dev/gxzero")
	if _, _, code := l.run("lxc-attach", "-n", c, "--", "test", "-e", "/dev/gxzero"); code == 0 {
		t.Errorf("/dev/gxzero inside after del")
	}
	if got := readTrim(t, list); strings.Contains(got, "c 1:5 rwm") {
		t.Errorf("devices.list after del still has 1:5:\n%s", got)
	}
	l.mustRun("lxc-stop", "-n", c, "-k")
	_, errs, code := l.run("lxc-device", "-n", c, "add", "/dev/zero")
	if code == 0 || !strings.Contains(errs, "is not running") {
		t.Errorf("add to a stopped container: exit %d, %q", code, errs)
	}

	// cgroup2 device program: refused, nothing made inside.
	c2 := l.createBusybox(deviceLines("lxc.cgroup2.")...)
	l.mustRun("lxc-start", "-n", c2)
	l.waitState(c2, "RUNNING", 10*time.Second)
	_, errs, code = l.run("lxc-device", "-n", c2, "add", "/dev/zero", "/dev/gxzero")
	if code == 0 || !strings.Contains(errs, "cgroup2 are not supported yet") || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
		t.Errorf("add on cgroup2: exit %d, %q", code, errs)
	}
	if _, _, code := l.run("lxc-attach", "-n", c2, "--", "test", "-e", "/dev/gxzero"); code == 0 {
		t.Errorf("/dev/gxzero made inside the cgroup2 container")
	}
	l.mustRun("lxc-stop", "-n", c2, "-k")
}

// A container with lxc.idmap: refused in one line (its /dev, mounted in
// its own user namespace, is nodev), nothing made inside.
func TestDeviceNodeIDMapped(t *testing.T) {
	t.Parallel()
	requireBusybox(t)
	l := usernsLab(t)
	c := l.createBusybox(idmapLines...)
	l.mustRun("lxc-start", "-n", c)
	l.waitState(c, "RUNNING", 10*time.Second)
	_, errs, code := l.run("lxc-device", "-n", c, "add", "/dev/zero", "/dev/gxzero")
	if code == 0 || !strings.Contains(errs, "own user namespace (lxc.idmap) are not supported yet") || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
		t.Errorf("add to an idmapped container: exit %d, %q", code, errs)
	}
	if _, _, code := l.run("lxc-attach", "-n", c, "--", "test", "-e", "/dev/gxzero"); code == 0 {
		t.Errorf("/dev/gxzero made inside")
	}
	l.mustRun("lxc-stop", "-n", c, "-k")
}
