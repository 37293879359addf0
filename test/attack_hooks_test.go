package test

// Hooks against the boundaries they cross: a start hook is a program of
// the container's, run as its root before its init; the host's hooks run
// as host root beside golxc's own descriptors and the caller's terminal.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/golxc/golxc/internal/monitor"
)

// TestAttackStartHook runs the escape battery, the /proc/1/exe rewrite and
// a look at its parent's capabilities as a start hook of a privileged
// container confined as common.conf confines one: the hook, run before
// init with the stage that will become init as its parent, must be held
// exactly as init is. It sees the container's namespaces, not the host's.
func TestAttackStartHook(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	dev, fstype := hostRootDisk(t)
	canReadDisk := hostCanReadDisk(t, l.aux, dev)
	marker := startMarker(t)
	host, _ := os.Hostname()
	golxc := filepath.Join(binDir(t), "golxc")
	before := fileSum(t, golxc)

	n := l.createBusybox()
	escape := strings.Join([]string{"/attacker", "escape",
		strconv.FormatUint(uint64(unix.Major(dev)), 10) + ":" + strconv.FormatUint(uint64(unix.Minor(dev)), 10),
		fstype, marker, monitor.SocketPath(l.path, n), host}, " ")
	lines := append([]string{}, commonConfLines...)
	lines = append(lines,
		"lxc.hook.version = 1",
		"lxc.hook.start = "+escape+" > /hook-escape 2>&1",
		"lxc.hook.start = /attacker exe > /hook-exe 2>&1",
		"lxc.hook.start = grep -E '^Cap(Prm|Eff|Bnd):' /proc/1/status > /hook-stage; grep CapBnd /proc/self/status >> /hook-stage",
		"lxc.hook.start = for n in mnt pid net; do readlink /proc/self/ns/$n; done > /hook-ns",
	)
	rewriteKeys(t, l, n, lines)
	l.installAttacker(n)
	l.mustRun("lxc-start", "-n", n)
	l.waitState(n, "RUNNING", 10*time.Second)
	rootfs := filepath.Join(l.path, n, "rootfs")
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(rootfs, name))
		if err != nil {
			t.Fatalf("the start hook's report %s: %v", name, err)
		}
		return string(b)
	}

	out := read("hook-escape")
	if !strings.HasSuffix(out, "done\n") {
		t.Fatalf("the escape battery did not finish as a start hook:\n%s", out)
	}
	got := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if name, verdict, ok := strings.Cut(line, ": "); ok {
			got[name] = verdict
		}
	}
	assertBlocked(t, got, escapeAttempts, canReadDisk)

	// /proc/1/exe, the stage's, is a sealed copy or golxc under a
	// read-only overlay: the host's golxc cannot be rewritten through it.
	exe := read("hook-exe")
	if !strings.Contains(exe, "exe: /memfd:golxc") && !strings.Contains(exe, "exefs: "+overlayMagic+" ") {
		t.Errorf("the stage runs from the host's golxc, not a sealed copy or its overlay:\n%s", exe)
	}
	if strings.Contains(exe, "open-write: ok") || strings.Contains(exe, "truncate: ok") {
		t.Errorf("the start hook opened /proc/1/exe (golxc's stage) for writing:\n%s", exe)
	}
	if strings.Contains(exe, " host ") {
		t.Errorf("the stage holds a host file the start hook can reach through /proc/1/fd:\n%s", exe)
	}
	if after := fileSum(t, golxc); after != before {
		t.Errorf("%s changed while the start hook ran", golxc)
	}

	// The stage keeps no capability beyond the container's: a hook that
	// ptraces it finds none to use.
	caps := map[string]uint64{}
	for _, line := range strings.Split(read("hook-stage"), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		x, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		if _, dup := caps[k]; dup {
			k = "self" + k
		}
		caps[k] = x
	}
	bnd := caps["selfCapBnd"]
	if bnd == 0 || bnd&(1<<unix.CAP_SYS_MODULE) != 0 {
		t.Fatalf("the start hook's bounding set %x: want common.conf's, without sys_module", bnd)
	}
	for _, k := range []string{"CapPrm", "CapEff", "CapBnd"} {
		if v, ok := caps[k]; !ok || v&^bnd != 0 {
			t.Errorf("the stage (PID 1) while the start hook runs: %s %x, beyond the container's %x", k, v, bnd)
		}
	}

	// The container's namespaces, not the host's.
	self := namespacesOf(t, "self")
	for i, id := range strings.Fields(read("hook-ns")) {
		k := []string{"mnt", "pid", "net"}[i]
		if id == self[k] {
			t.Errorf("the start hook ran in the host's %s namespace %s", k, id)
		}
	}
}

func fileSum(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// TestAttackHostHooksNoTerminalNoFDs: lxc-start -F run from a terminal,
// with a descriptor of a host file it inherited: no host hook gets that
// terminal (TIOCSTI would type into the sysadmin's shell) or any
// descriptor but its standard ones; the start hook has the container's
// console, never the caller's terminal.
func TestAttackHostHooksNoTerminalNoFDs(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	prog := filepath.Join(l.aux, "attacker") // installAttacker builds it there
	secret := l.writeFile("secret", "host root's\n", 0o600)
	// Each hook tries to type into its stdin and /dev/tty, and lists its
	// descriptors.
	hook := l.writeFile("hook.sh", "#!/bin/sh\n"+prog+" inject "+l.aux+"/inject.$LXC_HOOK_TYPE >/dev/null 2>&1\nls -l /proc/self/fd/ > "+l.aux+"/fds.$LXC_HOOK_TYPE\n", 0o755)
	var lines []string
	lines = append(lines, "lxc.hook.version = 1")
	for _, k := range []string{"pre-start", "pre-mount", "mount", "autodev", "start-host", "stop", "post-stop"} {
		lines = append(lines, "lxc.hook."+k+" = "+hook)
	}
	lines = append(lines, "lxc.hook.start = /attacker inject /inject.start > /dev/null 2>&1")
	n := l.createBusybox(lines...)
	l.installAttacker(n)

	master, slave := openPty(t)
	var console bytes.Buffer
	done := make(chan struct{})
	go func() {
		buf := make([]byte, 4096)
		for {
			k, err := master.Read(buf)
			console.Write(buf[:k])
			if err != nil {
				close(done)
				return
			}
		}
	}()
	sf, err := os.Open(secret)
	if err != nil {
		t.Fatal(err)
	}
	defer sf.Close()
	ctx, cancel := context.WithTimeout(context.Background(), toolTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(binDir(t), "lxc-start"), "-P", l.path, "-n", n, "-F")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.ExtraFiles = []*os.File{sf}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	l.waitState(n, "RUNNING", 10*time.Second)
	l.mustRun("lxc-stop", "-n", n, "-k")
	if err := cmd.Wait(); err != nil {
		t.Logf("lxc-start -F: %v", err)
	}
	for _, k := range []string{"pre-start", "pre-mount", "mount", "autodev", "start-host", "stop", "post-stop"} {
		b, err := os.ReadFile(filepath.Join(l.aux, "inject."+k))
		if err != nil {
			t.Errorf("%s hook did not report: %v", k, err)
			continue
		}
		r := string(b)
		if !strings.Contains(r, "fd0: not-a-tty") || strings.Contains(r, "inject fd0: ok") || strings.Contains(r, "inject /dev/tty: ok") {
			t.Errorf("%s hook reached a terminal:\n%s", k, r)
		}
		fds, err := os.ReadFile(filepath.Join(l.aux, "fds."+k))
		if err != nil {
			t.Errorf("%s hook listed no descriptors: %v", k, err)
			continue
		}
		for _, line := range strings.Split(string(fds), "\n") {
			_, target, ok := strings.Cut(line, " -> ")
			if !ok {
				continue
			}
			if target == secret || strings.HasPrefix(target, "socket:") || strings.HasPrefix(target, "anon_inode:") || strings.Contains(target, "ptmx") || strings.HasPrefix(target, "/dev/pts/") || strings.Contains(target, "/lock") {
				t.Errorf("%s hook holds %s", k, strings.TrimSpace(line))
			}
		}
	}
	b, err := os.ReadFile(filepath.Join(l.path, n, "rootfs", "inject.start"))
	if err != nil {
		t.Fatalf("the start hook did not report: %v", err)
	}
	if r := string(b); strings.Contains(r, "foreign-tty") || !strings.Contains(r, "fd0: container-tty") {
		t.Errorf("the start hook's terminal is not the container's console:\n%s", r)
	}
}

// A start hook (the container's program, as its root) copies the init
// stage's sync socket with pidfd_getfd and leaves it held: the monitor no
// longer sees the socket close when init is exec'd. The start may then
// not finish, but lxc-stop -k still ends it and nothing is left; a
// pre-start hook that hangs is ended by lxc-stop -k too.
func TestAttackStartHookHoldsSocket(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	n := l.createBusybox("lxc.hook.start = /attacker holdfds")
	l.installAttacker(n)
	hung := l.createBusybox("lxc.hook.pre-start = sleep 600")
	for _, c := range []string{n, hung} {
		done := make(chan int, 1)
		go func() {
			_, _, code := l.runWith(runOpts{timeout: 90 * time.Second}, "lxc-start", "-n", c)
			done <- code
		}()
		// Until the monitor is there and the start under way.
		waitFor(10*time.Second, func() bool {
			out, _, _ := l.run("lxc-info", "-n", c, "-s", "-H")
			s := strings.TrimSpace(out)
			return s == "STARTING" || s == "RUNNING"
		})
		time.Sleep(time.Second)
		if _, errs, code := l.runWith(runOpts{timeout: 30 * time.Second}, "lxc-stop", "-n", c, "-k"); code == -1 {
			t.Fatalf("%s: lxc-stop -k hung: %s", c, errs)
		}
		select {
		case <-done:
		case <-time.After(60 * time.Second):
			t.Fatalf("%s: lxc-start still waits after lxc-stop -k", c)
		}
		if !waitFor(10*time.Second, func() bool { return len(monitorPIDs(l.path, c)) == 0 }) {
			t.Errorf("%s: the monitor is still there after lxc-stop -k", c)
		}
		if s := strings.TrimSpace(l.mustRun("lxc-info", "-n", c, "-s", "-H")); s != "STOPPED" {
			t.Errorf("%s: %s after lxc-stop -k, want STOPPED", c, s)
		}
		if left := waitNoCgroups(c, 5*time.Second); len(left) > 0 {
			t.Errorf("%s: cgroups left: %v", c, left)
		}
	}
}
