package test

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestNamespaceShareUserTime: lxc.namespace.share.user puts a container in
// another running id-mapped container's user namespace (its maps, which
// lxc.idmap must repeat), with namespaces of its own made under it;
// lxc.namespace.share.time puts one in a process's time namespace. Every
// share of what cannot be joined fails in one line and leaves nothing;
// share.mnt is refused.
func TestNamespaceShareUserTime(t *testing.T) {
	t.Parallel()
	l := usernsLab(t)
	a := l.createBusybox(idmapLines...)
	l.mustRun("lxc-start", "-n", a)
	l.waitState(a, "RUNNING", 10*time.Second)
	aPid := strconv.Itoa(l.initPID(a))

	t.Run("user", func(t *testing.T) {
		b := l.createBusybox(append([]string{"lxc.namespace.share.user = " + a}, idmapLines...)...)
		l.mustRun("lxc-start", "-n", b)
		l.waitState(b, "RUNNING", 10*time.Second)
		bPid := l.initPID(b)
		bp := strconv.Itoa(bPid)
		if x, y := nsInode(t, aPid, "user"), nsInode(t, bp, "user"); x != y {
			t.Errorf("lxc.namespace.share.user = %s: user %s, %s's %s", a, y, a, x)
		}
		for _, ns := range []string{"pid", "mnt", "uts", "ipc", "net"} {
			if x, y := nsInode(t, aPid, ns), nsInode(t, bp, ns); x == y {
				t.Errorf("sharing user shared %s too (%s)", ns, x)
			}
		}
		if got := statusIDs(t, bPid, "Uid"); got != "100000 100000 100000 100000" {
			t.Errorf("%s's init runs as host uids %s, want the joined namespace's root, 100000", b, got)
		}
		if got := statusIDs(t, bPid, "CapEff"); got == "0000000000000000" {
			t.Errorf("%s's init has no capability in the joined namespace", b)
		}
		if out := strings.TrimSpace(l.attach(b, "/bin/sh", "-c", "id -u; cat /proc/self/uid_map")); strings.Join(strings.Fields(out), " ") != "0 0 100000 65536" {
			t.Errorf("attached to %s: %q, want root with a's map", b, out)
		}
		l.mustRun("lxc-stop", "-n", b, "-k")
		if st := strings.TrimSpace(l.mustRun("lxc-info", "-n", a, "-s", "-H")); st != "RUNNING" {
			t.Errorf("%s after the stop of %s: %s", a, b, st)
		}
	})

	// With the user namespace, its other namespaces (which it owns) may
	// be shared too: the pid namespace from the monitor's pinned thread,
	// the network one by the stage.
	t.Run("user with net and pid", func(t *testing.T) {
		b := l.createBusybox(append([]string{"lxc.namespace.share.user = " + a, "lxc.namespace.share.net = " + a}, idmapLines...)...)
		l.mustRun("lxc-start", "-n", b, "--share-pid", a, "--", "/bin/sleep", "1000")
		l.waitState(b, "RUNNING", 10*time.Second)
		bp := strconv.Itoa(l.initPID(b))
		for _, ns := range []string{"user", "net", "pid"} {
			if x, y := nsInode(t, aPid, ns), nsInode(t, bp, ns); x != y {
				t.Errorf("%s namespace: %s, %s's %s", ns, y, a, x)
			}
		}
		for _, ns := range []string{"mnt", "uts", "ipc"} {
			if x, y := nsInode(t, aPid, ns), nsInode(t, bp, ns); x == y {
				t.Errorf("%s shared unasked (%s)", ns, x)
			}
		}
		if out := l.attach(a, "/bin/sh", "-c", "cat /proc/[0-9]*/cmdline | tr '\\0' ' '"); !strings.Contains(out, "/bin/sleep 1000") {
			t.Errorf("%s's processes do not show %s's init: %q", a, b, out)
		}
		l.mustRun("lxc-stop", "-n", b, "-k")
	})

	t.Run("time", func(t *testing.T) {
		target := exec.Command("unshare", "--time", "--boottime", "100000", "sleep", "1000")
		if err := target.Start(); err != nil {
			t.Skipf("unshare --time: %v", err)
		}
		t.Cleanup(func() { target.Process.Kill(); target.Wait() })
		tp := strconv.Itoa(target.Process.Pid)
		if !waitFor(5*time.Second, func() bool {
			s, _ := os.Readlink("/proc/" + tp + "/ns/time")
			return s != "" && s != nsInode(t, "self", "time")
		}) {
			t.Skip("the kernel gives unshare --time no time namespace")
		}
		c := l.createBusybox("lxc.namespace.share.time = " + tp)
		l.mustRun("lxc-start", "-n", c)
		l.waitState(c, "RUNNING", 10*time.Second)
		cp := strconv.Itoa(l.initPID(c))
		if x, y := nsInode(t, tp, "time"), nsInode(t, cp, "time"); x != y {
			t.Errorf("lxc.namespace.share.time = %s: time %s, the process's %s", tp, y, x)
		}
		// The boot clock is 100000 s ahead in there: the kernel shows
		// the offsets of init's time namespace.
		b, err := os.ReadFile("/proc/" + cp + "/timens_offsets")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(strings.Join(strings.Fields(string(b)), " "), "boottime 100000 0") {
			t.Errorf("%s's init's time offsets: %q, want boottime 100000", c, b)
		}
		l.mustRun("lxc-stop", "-n", c, "-k")
		// In a's user namespace, a time namespace of the host's is not
		// the container's to join: one line naming it.
		d := l.createBusybox(append([]string{"lxc.namespace.share.user = " + a, "lxc.namespace.share.time = " + tp}, idmapLines...)...)
		_, errs, code := l.run("lxc-start", "-n", d)
		want := "join time namespace /proc/" + tp + "/ns/time: operation not permitted (it is not owned by the user namespace joined)"
		if code == 0 || !strings.Contains(errs, want) || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
			t.Errorf("share.user with a host time namespace: exit %d, stderr %q; want one line with %q", code, errs, want)
		}
		if st := l.state(d); st != "STOPPED" {
			t.Errorf("%s is %s", d, st)
		}
	})

	t.Run("refused in one line", func(t *testing.T) {
		stopped := l.createBusybox(idmapLines...)
		self := strconv.Itoa(os.Getpid())
		gone := exec.Command("true")
		if err := gone.Run(); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			lines []string
			want  string
		}{
			{append([]string{"lxc.namespace.share.user = " + a}, "lxc.idmap = u 0 200000 65536", "lxc.idmap = g 0 200000 65536"),
				"lxc.namespace.share.user = " + a + ": lxc.idmap must be the maps of the user namespace joined, which apply to the container: u 0 100000 65536, g 0 100000 65536"},
			{[]string{"lxc.namespace.share.user = " + a},
				"lxc.namespace.share.user = " + a + ": lxc.idmap must be the maps of the user namespace joined"},
			{[]string{"lxc.namespace.share.user = " + self}, "lxc.namespace.share.user = " + self + ": that is the host's user namespace"},
			{append([]string{"lxc.namespace.share.user = " + stopped}, idmapLines...), "lxc.namespace.share.user = " + stopped + ": " + stopped + " is not running"},
			{append([]string{"lxc.namespace.share.user = nosuch"}, idmapLines...), "lxc.namespace.share.user = nosuch: "},
			{[]string{fmt.Sprintf("lxc.namespace.share.time = %d", gone.Process.Pid)}, fmt.Sprintf("lxc.namespace.share.time = %d: process %d: no such process", gone.Process.Pid, gone.Process.Pid)},
			{append([]string{"lxc.namespace.share.net = " + a}, idmapLines...), "lxc.namespace.share.net with lxc.idmap needs lxc.namespace.share.user too"},
			{[]string{"lxc.namespace.share.mnt = " + a}, "lxc.namespace.share.mnt is refused: "},
		} {
			n := l.createBusybox(tc.lines...)
			_, errs, code := l.run("lxc-start", "-n", n)
			if code == 0 || !strings.Contains(errs, tc.want) || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
				t.Errorf("%q: exit %d, stderr %q; want one line with %q", tc.lines, code, errs, tc.want)
			}
			if st := l.state(n); st != "STOPPED" {
				t.Errorf("%q: %s is %s", tc.lines, n, st)
			}
			if left := waitNoCgroups(n, 2*time.Second); len(left) > 0 {
				t.Errorf("%q: cgroups left: %v", tc.lines, left)
			}
			if mons := monitorPIDs(l.path, n); len(mons) > 0 {
				t.Errorf("%q: monitors left: %v", tc.lines, mons)
			}
		}
	})
}
