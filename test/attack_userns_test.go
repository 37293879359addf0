package test

// User namespaces (issue 9): a container with lxc.idmap runs as the mapped
// ids, its root has no privilege on the host, and the escape battery of
// attack_escape_test.go fails in it even with every capability kept and
// /proc and /sys mounted read-write. Also lxc.namespace.keep/share and
// lxc-usernsexec.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// idmapLines give a container the ids 100000-165535 of the host.
var idmapLines = []string{"lxc.idmap = u 0 100000 65536", "lxc.idmap = g 0 100000 65536"}

const mappedRoot = 100000

// usernsLab is a lab whose lxcpath the mapped root may walk through, as
// LXC needs too (lxc-create runs the template as that user).
func usernsLab(t *testing.T) *lab {
	l := newLab(t)
	for _, d := range []string{filepath.Dir(l.path), l.path} {
		if err := os.Chmod(d, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	return l
}

// owner is the host uid and gid that own path.
func owner(t *testing.T, path string) (uint32, uint32) {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st.Uid, st.Gid
}

// statusIDs is the Uid: or Gid: line of /proc/PID/status, fields joined.
func statusIDs(t *testing.T, pid int, key string) string {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, key+":"); ok {
			return strings.Join(strings.Fields(v), " ")
		}
	}
	t.Fatalf("no %s in /proc/%d/status", key, pid)
	return ""
}

// TestUsernsContainer creates an id-mapped busybox container and starts
// it: the template ran as the mapped root, init runs as host uid 100000,
// the monitor's tools work as for any container, and what root inside
// makes belongs to 100000 on the host.
func TestUsernsContainer(t *testing.T) {
	t.Parallel()
	l := usernsLab(t)
	n := l.createBusybox(idmapLines...)
	dir := filepath.Join(l.path, n)

	t.Run("rootfs made by the mapped root", func(t *testing.T) {
		for _, p := range []string{"rootfs", "rootfs/bin/busybox", "rootfs/etc/passwd", "rootfs/tmp"} {
			if uid, gid := owner(t, filepath.Join(dir, p)); uid != mappedRoot || gid != mappedRoot {
				t.Errorf("%s belongs to %d:%d, want %d:%d (the template runs as the mapped root)", p, uid, gid, mappedRoot, mappedRoot)
			}
		}
		// The config stays host root's: a process of the mapped ids must
		// not be able to drop lxc.idmap from it.
		for _, p := range []string{".", "config"} {
			if uid, _ := owner(t, filepath.Join(dir, p)); uid != 0 {
				t.Errorf("%s belongs to uid %d after lxc-create, want 0", p, uid)
			}
		}
	})

	l.mustRun("lxc-start", "-n", n)
	l.waitState(n, "RUNNING", 10*time.Second)
	pid := l.initPID(n)

	t.Run("init runs as the mapped root", func(t *testing.T) {
		if got := statusIDs(t, pid, "Uid"); got != "100000 100000 100000 100000" {
			t.Errorf("init's uids on the host: %s, want 100000 four times", got)
		}
		if got := statusIDs(t, pid, "Gid"); got != "100000 100000 100000 100000" {
			t.Errorf("init's gids on the host: %s", got)
		}
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/uid_map")
		if err != nil {
			t.Fatal(err)
		}
		if f := strings.Join(strings.Fields(string(b)), " "); f != "0 100000 65536" {
			t.Errorf("init's uid_map %q", b)
		}
		self, _ := os.Readlink("/proc/self/ns/user")
		if ns, _ := os.Readlink("/proc/" + strconv.Itoa(pid) + "/ns/user"); ns == self {
			t.Errorf("init is in the host's user namespace %s", ns)
		}
	})

	t.Run("payload cgroup delegated", func(t *testing.T) {
		dirs := cgroupDirs(n)
		if len(dirs) == 0 {
			t.Fatal("no cgroup of the container")
		}
		for _, d := range dirs {
			if !strings.Contains(d, "lxc.payload.") {
				continue
			}
			if uid, _ := owner(t, d); uid != mappedRoot {
				t.Errorf("%s belongs to uid %d, want %d (the container's root manages its cgroup)", d, uid, mappedRoot)
			}
			if uid, _ := owner(t, filepath.Join(d, "cgroup.procs")); uid != mappedRoot {
				t.Errorf("%s/cgroup.procs belongs to uid %d, want %d", d, uid, mappedRoot)
			}
		}
	})

	t.Run("lxc-ls and lxc-info", func(t *testing.T) {
		out := l.mustRun("lxc-ls", "--format", "json")
		var rows []map[string]any
		if err := json.Unmarshal([]byte(out), &rows); err != nil {
			t.Fatalf("lxc-ls --format json: %v\n%s", err, out)
		}
		if len(rows) != 1 || rows[0]["unprivileged"] != true {
			t.Errorf("lxc-ls --format json: %s, want unprivileged true", out)
		}
		if out := l.mustRun("lxc-ls", "-f", "-F", "NAME,UNPRIVILEGED"); !strings.Contains(out, "true") {
			t.Errorf("lxc-ls -f: %q, want UNPRIVILEGED true", out)
		}
		if out := l.mustRun("lxc-info", "-n", n, "-s"); !strings.Contains(out, "RUNNING") {
			t.Errorf("lxc-info -s: %q", out)
		}
	})

	l.mustRun("lxc-stop", "-n", n)
	l.waitState(n, "STOPPED", 10*time.Second)
	if left := waitNoCgroups(n, 2*time.Second); len(left) > 0 {
		t.Errorf("cgroups left after lxc-stop: %v", left)
	}

	t.Run("root inside", func(t *testing.T) {
		out, errs, code := l.run("lxc-execute", "-n", n, "--", "/bin/sh", "-c",
			"id -u; id -g; cat /proc/self/uid_map; touch /root/made-inside; mknod /dev/golxc-null c 1 3 2>&1 || echo mknod-refused")
		if code != 0 {
			t.Fatalf("lxc-execute: exit %d\n%s\n%s", code, out, errs)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) < 4 || lines[0] != "0" || lines[1] != "0" || strings.Join(strings.Fields(lines[2]), " ") != "0 100000 65536" {
			t.Errorf("inside: %q, want uid 0, gid 0 and the map 0 100000 65536", out)
		}
		if !strings.Contains(out, "mknod-refused") {
			t.Errorf("mknod of a character device worked in the user namespace: %q", out)
		}
		if uid, gid := owner(t, filepath.Join(dir, "rootfs/root/made-inside")); uid != mappedRoot || gid != mappedRoot {
			t.Errorf("a file root made inside belongs to %d:%d on the host, want %d:%d", uid, gid, mappedRoot, mappedRoot)
		}
	})
}

// TestUsernsIdmappedRootfs starts a container with lxc.idmap on a rootfs
// made for a privileged one (host root's): golxc mounts it idmapped, so
// root inside owns it, while on the disk nothing changes owner.
func TestUsernsIdmappedRootfs(t *testing.T) {
	t.Parallel()
	l := usernsLab(t)
	n := l.createBusybox()
	dir := filepath.Join(l.path, n)
	if uid, _ := owner(t, filepath.Join(dir, "rootfs/bin/busybox")); uid != 0 {
		t.Fatalf("privileged rootfs belongs to uid %d", uid)
	}
	cfg := filepath.Join(dir, "config")
	f, err := os.OpenFile(cfg, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(strings.Join(append(idmapLines, "lxc.rootfs.options = idmap=container"), "\n") + "\n")
	f.Close()
	out, errs, code := l.run("lxc-execute", "-n", n, "--", "/bin/sh", "-c",
		"stat -c %u:%g /bin/busybox; touch /root/made-inside; cat /proc/self/uid_map")
	if code != 0 {
		t.Fatalf("lxc-execute on an idmapped rootfs: exit %d\n%s\n%s", code, out, errs)
	}
	if !strings.HasPrefix(out, "0:0\n") {
		t.Errorf("inside, /bin/busybox belongs to %q, want 0:0 (idmapped)", out)
	}
	// Root inside is host uid 100000; through the idmapped mount what it
	// writes lands on the disk as the rootfs's own owner, host root.
	if uid, _ := owner(t, filepath.Join(dir, "rootfs/root/made-inside")); uid != 0 {
		t.Errorf("a file made inside belongs to uid %d on the disk, want 0 (idmapped)", uid)
	}
	if uid, _ := owner(t, filepath.Join(dir, "rootfs/bin/busybox")); uid != 0 {
		t.Errorf("the rootfs changed owner on the disk: uid %d", uid)
	}
}

// TestAttackEscapeUserns runs the escape battery of attack_escape_test.go
// as root of an id-mapped container, twice: confined as the busybox
// template confines it, and with every capability kept and /proc, /sys
// and the cgroups mounted read-write, where only the user namespace
// stands in the way. Every attempt fails, the device ones too (no device
// cgroup needed: mknod is refused in a user namespace, and the host's
// disk cannot be mounted from one).
func TestAttackEscapeUserns(t *testing.T) {
	t.Parallel()
	l := usernsLab(t)
	marker := startMarker(t)
	hostBefore, _ := os.Hostname()
	for _, tc := range []struct {
		name  string
		lines []string
		// allCaps: CAP_SYS_MODULE is in the bounding set, of the
		// container's user namespace; the kernel checks it in the host's.
		allCaps bool
	}{
		{name: "template confinement"},
		{name: "all capabilities, proc and sys rw", lines: []string{"lxc.mount.auto = proc:rw sys:rw cgroup:rw"}, allCaps: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := l.with(t)
			n := l.createBusybox(idmapLines...)
			if tc.lines != nil {
				rewriteKeys(t, l, n, tc.lines)
			}
			l.installAttacker(n)
			got := l.escapeReportVia("lxc-execute", n, marker, false)
			for _, name := range escapeAttempts {
				v, ok := got[name]
				switch {
				case !ok:
					t.Errorf("the attacker did not report %q", name)
				case strings.HasPrefix(v, "blocked"):
				case strings.HasPrefix(v, "absent"):
					t.Logf("%s: %s: this kernel has none", name, v)
				case tc.allCaps && strings.Contains(v, "no module support in this kernel"):
					// The attacker can only see the bounding set here: a
					// kernel without modules answers ENOSYS before any
					// capability check. Proven where sys_module is dropped.
					t.Logf("%s: %s: inconclusive on this kernel", name, v)
				default:
					t.Errorf("%s: %s", name, v)
				}
			}
			if v := got["sethostname"]; !strings.HasPrefix(v, "done") {
				t.Errorf("sethostname inside: %q, want it to work on the container's own name", v)
			}
			if h, _ := os.Hostname(); h != hostBefore {
				t.Errorf("the host's name is %q after sethostname in the container, was %q", h, hostBefore)
			}
		})
	}
}

// nsInode is the namespace of kind ns process pid is in ("net:[4026...]").
func nsInode(t *testing.T, pid, ns string) string {
	t.Helper()
	s, err := os.Readlink("/proc/" + pid + "/ns/" + ns)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestNamespaceShareKeep: lxc.namespace.share.net and lxc-start
// --share-net put a container in another's network namespace (by name,
// through its monitor), lxc.namespace.keep = net leaves it in the host's.
func TestNamespaceShareKeep(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	a := l.startBusybox()
	aPid := strconv.Itoa(l.initPID(a))

	b := l.createBusybox("lxc.namespace.share.net = " + a)
	l.mustRun("lxc-start", "-n", b)
	l.waitState(b, "RUNNING", 10*time.Second)
	bPid := strconv.Itoa(l.initPID(b))
	if x, y := nsInode(t, aPid, "net"), nsInode(t, bPid, "net"); x != y {
		t.Errorf("lxc.namespace.share.net = %s: net %s, %s's %s", a, y, a, x)
	}
	if x, y := nsInode(t, aPid, "uts"), nsInode(t, bPid, "uts"); x == y {
		t.Errorf("sharing net shared uts too (%s)", x)
	}

	c := l.createBusybox()
	l.mustRun("lxc-start", "-n", c, "--share-net", a, "--share-uts", aPid)
	l.waitState(c, "RUNNING", 10*time.Second)
	cPid := strconv.Itoa(l.initPID(c))
	for _, ns := range []string{"net", "uts"} {
		if x, y := nsInode(t, aPid, ns), nsInode(t, cPid, ns); x != y {
			t.Errorf("lxc-start --share-%s: %s %s, %s's %s", ns, ns, y, a, x)
		}
	}
	if x, y := nsInode(t, aPid, "ipc"), nsInode(t, cPid, "ipc"); x == y {
		t.Errorf("ipc shared unasked (%s)", x)
	}

	k := l.createBusybox("lxc.namespace.keep = net")
	l.mustRun("lxc-start", "-n", k)
	l.waitState(k, "RUNNING", 10*time.Second)
	kPid := strconv.Itoa(l.initPID(k))
	if x, y := nsInode(t, "self", "net"), nsInode(t, kPid, "net"); x != y {
		t.Errorf("lxc.namespace.keep = net: net %s, the host's %s", y, x)
	}
	if x, y := nsInode(t, "self", "pid"), nsInode(t, kPid, "pid"); x == y {
		t.Errorf("lxc.namespace.keep = net kept the pid namespace too")
	}

	// A pid namespace: the container's init is a process of a's (not
	// its PID 1, so a command rather than busybox's init), seen there;
	// stopping it leaves a running.
	d := l.createBusybox()
	l.mustRun("lxc-start", "-n", d, "--share-pid", a, "--", "/bin/sleep", "1000")
	l.waitState(d, "RUNNING", 10*time.Second)
	dPid := strconv.Itoa(l.initPID(d))
	if x, y := nsInode(t, aPid, "pid"), nsInode(t, dPid, "pid"); x != y {
		t.Errorf("lxc-start --share-pid: pid %s, %s's %s", y, a, x)
	}
	if x, y := nsInode(t, aPid, "mnt"), nsInode(t, dPid, "mnt"); x == y {
		t.Errorf("sharing pid shared mnt too (%s)", x)
	}
	if out := l.attach(a, "/bin/sh", "-c", "cat /proc/[0-9]*/cmdline | tr '\\0' ' '"); !strings.Contains(out, "/bin/sleep 1000") {
		t.Errorf("%s's processes do not show %s's init (sleep 1000): %q", a, d, out)
	}
	l.mustRun("lxc-stop", "-n", d, "-k")
	if st := strings.TrimSpace(l.mustRun("lxc-info", "-n", a, "-s", "-H")); st != "RUNNING" {
		t.Errorf("%s after the stop of %s, which shared its pid namespace: %s", a, d, st)
	}
	// A cgroup namespace (lxc.namespace.share.cgroup), by name.
	e := l.createBusybox("lxc.namespace.share.cgroup = " + a)
	l.mustRun("lxc-start", "-n", e)
	l.waitState(e, "RUNNING", 10*time.Second)
	ePid := strconv.Itoa(l.initPID(e))
	if x, y := nsInode(t, aPid, "cgroup"), nsInode(t, ePid, "cgroup"); x != y {
		t.Errorf("lxc.namespace.share.cgroup = %s: cgroup %s, %s's %s", a, y, a, x)
	}
	l.mustRun("lxc-stop", "-n", e, "-k")
	// Its init outlives its monitor, as any container's, and is
	// re-adopted by the next tool. Not being PID 1 of its pid namespace,
	// it is not spared the SIGHUP of its console's hang-up when the
	// killed monitor's pty master goes: an init that ignores it, as a
	// daemon does (README says so).
	l.mustRun("lxc-start", "-n", d, "--share-pid", a, "--", "/bin/sh", "-c", "trap '' HUP; exec /bin/sleep 1000")
	l.waitState(d, "RUNNING", 10*time.Second)
	init := l.initPID(d)
	mons := monitorPIDs(l.path, d)
	if len(mons) != 1 {
		t.Fatalf("monitors of %s: %v", d, mons)
	}
	mstart, _ := procStart(mons[0])
	if err := syscall.Kill(mons[0], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitGone(t, mons[0], mstart, "kill -9 of the monitor of "+d)
	if got := l.initPID(d); got != init {
		t.Errorf("%s's init after its monitor's kill -9: %d, want %d (in %s's pid namespace, adopted)", d, got, init, a)
	}
	l.mustRun("lxc-stop", "-n", d, "-k")
	if !waitFor(10*time.Second, func() bool {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", init))
		return err != nil || strings.Contains(string(b), "State:\tZ")
	}) {
		t.Errorf("%s's init %d (in %s's pid namespace) outlived lxc-stop -k of it adopted", d, init, a)
	}
	// A container that is not running has no namespace to share.
	_, errs, code := l.run("lxc-start", "-n", d, "--share-net", d)
	if code == 0 || !strings.Contains(errs, "not running") {
		t.Errorf("lxc-start --share-net of a stopped container: exit %d %q", code, errs)
	}
}

// TestUsernsexec runs commands as root of a new user namespace.
func TestUsernsexec(t *testing.T) {
	requireRoot(t)
	t.Parallel()
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	owned := filepath.Join(dir, "mapped")
	if err := os.Mkdir(owned, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(owned, mappedRoot, mappedRoot); err != nil {
		t.Fatal(err)
	}
	out, errs, code := run(t, "lxc-usernsexec", "-m", "b:0:100000:65536", "--", "/bin/sh", "-c",
		"id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map; touch "+owned+"/made; chown 1000:1000 "+owned+"/made")
	if code != 0 {
		t.Fatalf("lxc-usernsexec: exit %d\n%s\n%s", code, out, errs)
	}
	f := strings.Fields(out)
	if strings.Join(f, " ") != "0 0 0 100000 65536 0 100000 65536" {
		t.Errorf("inside: %q, want uid and gid 0 and both maps", out)
	}
	if uid, gid := owner(t, filepath.Join(owned, "made")); uid != mappedRoot+1000 || gid != mappedRoot+1000 {
		t.Errorf("a file chowned to 1000:1000 inside belongs to %d:%d, want 101000:101000", uid, gid)
	}
	// Host root's files are nobody's inside: root there cannot touch them.
	_, _, code = run(t, "lxc-usernsexec", "-m", "b:0:100000:65536", "--", "/bin/sh", "-c", "touch "+dir+"/host-root-dir")
	if code == 0 {
		t.Error("the namespace's root wrote into a directory of host root")
	}
	if _, _, code := run(t, "lxc-usernsexec", "-m", "b:0:100000:10", "--", "/bin/sh", "-c", "exit 7"); code != 7 {
		t.Errorf("exit status %d, want the command's 7", code)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-m", "u:0:100000:10", "--", "true"}, "no gid map"},
		{[]string{"-m", "b:1:100000:10", "--", "true"}, "id 0"},
		{[]string{"-m", "x:0:1:1", "--", "true"}, "u|g|b"},
	} {
		_, errs, code := run(t, "lxc-usernsexec", tc.args...)
		if code != 1 || !strings.Contains(errs, tc.want) || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
			t.Errorf("lxc-usernsexec %v: exit %d %q, want 1 and one line saying %q", tc.args, code, errs, tc.want)
		}
	}
	// No -m: the caller's /etc/subuid range, or one line saying there is none.
	if b, _ := os.ReadFile("/etc/subuid"); !strings.Contains(string(b), "root:") {
		_, errs, code := run(t, "lxc-usernsexec", "--", "true")
		if code != 1 || !strings.Contains(errs, "/etc/subuid grants root (0) no range") {
			t.Errorf("lxc-usernsexec without -m nor a range: exit %d %q", code, errs)
		}
	}
}

// lxc-attach into an id-mapped container joins its user namespace: the
// command is the container's root (uid 0 inside, 100000 on the host),
// never the host's, with the init's bounding set, under its filter, on a
// pty owned by the container's root; -u gives a mapped user.
func TestAttackAttachIntoUserns(t *testing.T) {
	t.Parallel()
	l := usernsLab(t)
	n := l.createBusybox(idmapLines...)
	l.mustRun("lxc-start", "-n", n)
	l.waitState(n, "RUNNING", 10*time.Second)
	initPID := l.initPID(n)
	initStatus, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", initPID))
	if err != nil {
		t.Fatal(err)
	}
	initBnd := statusField(string(initStatus), "CapBnd")
	out := l.attach(n, "/bin/sh", "-c", "cat /proc/self/uid_map; grep -E '^(Uid|CapBnd|CapEff)' /proc/self/status; echo pid=$$; sleep 2 & echo bg=$!; wait")
	if !strings.Contains(out, "100000") {
		t.Errorf("attached command's uid_map: %q, want the container's map", out)
	}
	if got := statusField(out, "Uid"); !strings.HasPrefix(got, "0\t0") {
		t.Errorf("attached command's Uid inside: %q, want 0", got)
	}
	if got := statusField(out, "CapBnd"); got != initBnd {
		t.Errorf("attached command's CapBnd %s, want the init's %s", got, initBnd)
	}
	// From the host: the attached command runs as the mapped root.
	done := make(chan struct{})
	go func() {
		defer close(done)
		l.attach(n, "/bin/sleep", "3")
	}()
	var hostUID string
	waitFor(5*time.Second, func() bool {
		for _, pid := range pidsMentioning("sleep") {
			if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil && strings.HasPrefix(string(b), "/bin/sleep\x003") {
				if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
					hostUID = statusField(string(st), "Uid")
					return true
				}
			}
		}
		return false
	})
	<-done
	if !strings.HasPrefix(hostUID, "100000") {
		t.Errorf("attached command seen from the host runs as %q, want the mapped root 100000", hostUID)
	}
	if out, errs, code := l.run("lxc-attach", "-n", n, "-u", "1000", "--", "/bin/sh", "-c", "grep ^Uid: /proc/self/status"); !strings.HasPrefix(statusField(out, "Uid"), "1000") {
		t.Errorf("lxc-attach -u 1000: %q (exit %d, %s), want uid 1000 inside", out, code, errs)
	}
}

// A template of an id-mapped container runs as the mapped root: what it
// does to the container directory it was lent must not reach host root's
// files or the container's config once it is taken back.
func TestAttackUsernsTemplate(t *testing.T) {
	t.Parallel()
	l := usernsLab(t)
	// Scripts and a victim somewhere the mapped root may read.
	dir, err := os.MkdirTemp("", "golxc-tmpl-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	victim := filepath.Join(dir, "victim")
	if err := os.WriteFile(victim, []byte("host root's\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(dir, "late-write")
	for _, tc := range []struct {
		what, script, want string
	}{
		{"rootfs replaced by a link to a host tree", `rm -rf "$LXC_ROOTFS_PATH" && ln -s /root "$LXC_ROOTFS_PATH"`, "replaced the rootfs"},
		{"config replaced by a link to a host file", `rm -f "$LXC_CONFIG_FILE" && ln -s ` + victim + ` "$LXC_CONFIG_FILE"`, "config after template"},
		{"config given a second name", `ln "$LXC_CONFIG_FILE" "$LXC_PATH/extra"`, "one name"},
		{"lxc.idmap changed", `echo "lxc.idmap = u 0 0 1" >> "$LXC_CONFIG_FILE"`, "changed lxc.idmap"},
		{"a writer left behind", `(exec 3>>"$LXC_CONFIG_FILE"; sleep 1; echo "lxc.hook.pre-start = /bin/false" >&3; touch ` + marker + `) </dev/null >/dev/null 2>&1 &`, ""},
	} {
		t.Run(tc.what, func(t *testing.T) {
			l := l.with(t)
			script := filepath.Join(dir, newName(t))
			if err := os.WriteFile(script, []byte("#!/bin/sh\nset -e\n"+tc.script+"\n"), 0o755); err != nil {
				t.Fatal(err)
			}
			n := l.newContainer()
			conf := l.conf(idmapLines...)
			_, errs, code := l.run("lxc-create", "-n", n, "-t", script, "-f", conf)
			if tc.want != "" {
				if code == 0 || !strings.Contains(errs, tc.want) {
					t.Errorf("lxc-create with a template that does %s: exit %d, stderr %q; want a failure naming %q", tc.what, code, errs, tc.want)
				}
				if _, err := os.Lstat(filepath.Join(l.path, n)); err == nil {
					t.Errorf("the failed create left %s", filepath.Join(l.path, n))
				}
			} else if code != 0 {
				t.Fatalf("lxc-create: exit %d: %s", code, errs)
			}
			time.Sleep(1500 * time.Millisecond)
			if _, err := os.Stat(marker); err == nil {
				t.Errorf("a process the template left behind still ran after the create")
			}
			if b, err := os.ReadFile(filepath.Join(l.path, n, "config")); err == nil && strings.Contains(string(b), "lxc.hook") {
				t.Errorf("the container's config was written after the create:\n%s", b)
			}
			var st unix.Stat_t
			if err := unix.Stat(victim, &st); err != nil || st.Uid != 0 || st.Mode&0o777 != 0o600 {
				t.Errorf("victim %s: uid %d mode %o (%v), want root's 0600 untouched", victim, st.Uid, st.Mode&0o777, err)
			}
		})
	}
}

// The template runs in a session of its own with no terminal of the
// caller's: run from a sysadmin's terminal, it cannot type into that
// terminal's shell with TIOCSTI (through its stdout or /dev/tty).
func TestAttackTemplateTerminal(t *testing.T) {
	t.Parallel()
	l := usernsLab(t)
	l.installAttacker()
	dir, err := os.MkdirTemp("", "golxc-tmpl-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	prog, err := os.ReadFile(filepath.Join(l.aux, "attacker"))
	if err != nil {
		t.Fatal(err)
	}
	attacker := filepath.Join(dir, "attacker")
	if err := os.WriteFile(attacker, prog, 0o755); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(dir, "template")
	if err := os.WriteFile(script, []byte("#!/bin/sh\n"+attacker+" inject\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	master, slave := openPty(t)
	go io.Copy(io.Discard, master)
	n := l.newContainer()
	ctx, cancel := context.WithTimeout(context.Background(), toolTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(binDir(t), "lxc-create"), "-P", l.path, "-n", n, "-t", script, "-f", l.conf(idmapLines...))
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Run(); err != nil {
		t.Fatalf("lxc-create with the template: %v", err)
	}
	if queued, err := unix.IoctlGetInt(int(slave.Fd()), unix.TIOCINQ); err != nil || queued != 0 {
		t.Errorf("after lxc-create, the caller's terminal has %d bytes of input queued (%v): the template typed into it", queued, err)
	}
}
