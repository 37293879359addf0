package test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
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
// container planted and a del of a node that is not the device's are
// each refused in one line, and make nothing (on the host or inside).
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

}

// lxc-device on a container whose devices are confined by a cgroup2
// device program (lxc.cgroup2.devices.*, which denies 1:5 and 1:7):
// add rebuilds the program with the node's rule and replaces the attached
// one (one program stays), so a read of the node works; a second add
// keeps the first; del rebuilds without it, so even a node the container
// makes itself of 1:5 is refused again while the other stays readable. A
// config changed since the start is refused rather than applied.
func TestDeviceNodeCgroup2(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	c := l.createBusybox(deviceLines("lxc.cgroup2.")...)
	l.mustRun("lxc-start", "-n", c)
	l.waitState(c, "RUNNING", 10*time.Second)
	cg := "/sys/fs/cgroup/unified/lxc.payload." + c
	programs := func() int {
		t.Helper()
		dir, err := os.Open(cg)
		if err != nil {
			t.Fatal(err)
		}
		defer dir.Close()
		q, err := link.QueryPrograms(link.QueryOptions{Target: int(dir.Fd()), Attach: ebpf.AttachCGroupDevice})
		if err != nil {
			t.Fatal(err)
		}
		return len(q.Programs)
	}
	if n := programs(); n != 1 {
		t.Fatalf("device programs on %s before add: %d, want 1", cg, n)
	}
	if _, _, code := l.run("lxc-attach", "-n", c, "--", "sh", "-c", "mknod /dev/gxz c 1 5 && head -c 4 /dev/gxz; rc=$?; rm -f /dev/gxz; exit $rc"); code == 0 {
		t.Fatalf("1:5 readable inside before add: the device program does not deny it, the test proves nothing")
	}
	read := func(node string) string {
		out, _, _ := l.run("lxc-attach", "-n", c, "--", "sh", "-c", "head -c 4 "+node+" | wc -c")
		return strings.TrimSpace(out)
	}
	l.mustRun("lxc-device", "-n", c, "add", "/dev/zero", "/dev/gxzero")
	if got := read("/dev/gxzero"); got != "4" {
		t.Errorf("read of /dev/gxzero inside after add: %q, want 4", got)
	}
	// The control for the check after del: a node of 1:5 the container
	// makes itself is readable while 1:5 is allowed.
	if _, errs, code := l.run("lxc-attach", "-n", c, "--", "sh", "-c", "mknod /dev/gxz c 1 5 && head -c 4 /dev/gxz >/dev/null; rc=$?; rm -f /dev/gxz; exit $rc"); code != 0 {
		t.Errorf("a node of 1:5 made inside after add: exit %d, %s; want it readable", code, errs)
	}
	l.mustRun("lxc-device", "-n", c, "add", "/dev/full", "/dev/gxfull")
	if a, b := read("/dev/gxzero"), read("/dev/gxfull"); a != "4" || b != "4" {
		t.Errorf("after a second add: /dev/gxzero %q, /dev/gxfull %q, want both 4", a, b)
	}
	if n := programs(); n != 1 {
		t.Errorf("device programs on %s after two adds: %d, want 1 (replaced, not added)", cg, n)
	}
	l.mustRun("lxc-device", "-n", c, "del", "/dev/zero", "/dev/gxzero")
	if _, _, code := l.run("lxc-attach", "-n", c, "--", "test", "-e", "/dev/gxzero"); code == 0 {
		t.Errorf("/dev/gxzero inside after del")
	}
	// del denies 1:5 in the v1 devices cgroup too; allowed there again,
	// the program alone decides.
	if err := os.WriteFile("/sys/fs/cgroup/devices/lxc.payload."+c+"/devices.allow", []byte("c 1:5 rwm"), 0); err != nil {
		t.Fatal(err)
	}
	if _, _, code := l.run("lxc-attach", "-n", c, "--", "sh", "-c", "mknod /dev/gxz c 1 5 && head -c 4 /dev/gxz; rc=$?; rm -f /dev/gxz; exit $rc"); code == 0 {
		t.Errorf("1:5 readable inside after del: the program still allows it")
	}
	if got := read("/dev/gxfull"); got != "4" {
		t.Errorf("/dev/gxfull after the del of /dev/gxzero: %q, want 4", got)
	}
	if n := programs(); n != 1 {
		t.Errorf("device programs on %s after del: %d, want 1", cg, n)
	}

	// A config that no longer makes the attached program: refused in
	// one line, nothing made.
	f, err := os.OpenFile(filepath.Join(l.path, c, "config"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("lxc.cgroup2.devices.allow = c 1:9 rwm\n")
	f.Close()
	_, errs, code := l.run("lxc-device", "-n", c, "add", "/dev/zero", "/dev/gxzero")
	if code == 0 || !strings.Contains(errs, "not the one its config's lxc.cgroup2.devices lines make") || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
		t.Errorf("add after the config changed: exit %d, %q; want one line refusing", code, errs)
	}
	if _, _, code := l.run("lxc-attach", "-n", c, "--", "test", "-e", "/dev/gxzero"); code == 0 {
		t.Errorf("/dev/gxzero made inside though refused")
	}
	l.mustRun("lxc-stop", "-n", c, "-k")
	assertNoCgroups(t, c, "lxc-stop")
}

// A container with lxc.idmap: its /dev, mounted in its own user
// namespace, is nodev, so lxc-device binds the host's node there: /dev/zero
// added as /dev/gxzero reads and takes writes inside, shows as a mount of
// the host's devtmpfs there (and nowhere on the host); del unmounts it
// and removes the mount point.
func TestDeviceNodeIDMapped(t *testing.T) {
	t.Parallel()
	requireBusybox(t)
	l := usernsLab(t)
	c := l.createBusybox(append(idmapLines, deviceLines("lxc.cgroup.")...)...)
	l.mustRun("lxc-start", "-n", c)
	l.waitState(c, "RUNNING", 10*time.Second)
	list := "/sys/fs/cgroup/devices/lxc.payload." + c + "/devices.list"
	// The control: a node made in the container's own /dev does not open.
	if _, _, code := l.run("lxc-attach", "-n", c, "--", "sh", "-c", "mknod /dev/gxown c 1 3 && echo x >/dev/gxown; rc=$?; rm -f /dev/gxown; exit $rc"); code == 0 {
		t.Fatalf("a node made in the container's own /dev opens: it is not nodev, and the test proves nothing")
	}
	l.mustRun("lxc-device", "-n", c, "add", "/dev/zero", "/dev/gxzero")
	if got := readTrim(t, list); !strings.Contains(got, "c 1:5 rwm") {
		t.Errorf("devices.list after add lacks c 1:5 rwm:\n%s", got)
	}
	out := l.attach(c, "sh", "-c", "head -c 4 /dev/gxzero | wc -c; echo data >/dev/gxzero && echo wrote; grep -c ' /dev/gxzero ' /proc/self/mountinfo")
	if f := strings.Fields(out); len(f) != 3 || f[0] != "4" || f[1] != "wrote" || f[2] != "1" {
		t.Errorf("inside after add (read bytes, write, mounts at /dev/gxzero): %q, want 4 wrote 1", out)
	}
	if b, _ := os.ReadFile("/proc/self/mountinfo"); strings.Contains(string(b), "gxzero") {
		t.Errorf("the bind of /dev/gxzero shows in the host's mount table")
	}
	l.mustRun("lxc-device", "-n", c, "del", "/dev/zero", "/dev/gxzero")
	if _, _, code := l.run("lxc-attach", "-n", c, "--", "test", "-e", "/dev/gxzero"); code == 0 {
		t.Errorf("/dev/gxzero inside after del")
	}
	if out := l.attach(c, "sh", "-c", "grep -c gxzero /proc/self/mountinfo || true"); strings.TrimSpace(out) != "0" {
		t.Errorf("mounts of /dev/gxzero inside after del: %q, want 0", out)
	}
	if got := readTrim(t, list); strings.Contains(got, "c 1:5 rwm") {
		t.Errorf("devices.list after del still has 1:5:\n%s", got)
	}
	l.mustRun("lxc-stop", "-n", c, "-k")
	assertNoCgroups(t, c, "lxc-stop")
}
