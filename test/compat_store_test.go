package test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
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

// One store, whatever path names it: -P /alias, a symlink to the lxcpath,
// is the lxcpath (locks, command socket, sweeps, "already running"). And a
// host that still runs containers with LXC's own tools: golxc never
// starts, stops or destroys what LXC's monitor runs, and shows it.

// alias makes a symlink beside the lab's lxcpath that points at it.
func (l *lab) alias() string {
	l.t.Helper()
	p := filepath.Join(l.aux, "alias-"+newName(l.t))
	if err := os.Symlink(l.path, p); err != nil {
		l.t.Fatal(err)
	}
	return p
}

// slowTemplate is a template that takes a while, so that two creates
// overlap for sure.
func (l *lab) slowTemplate() string {
	l.t.Helper()
	return l.writeFile("slow-"+newName(l.t)+".sh", `#!/bin/sh
rootfs=
for a in "$@"; do case $a in --rootfs=*) rootfs=${a#--rootfs=} ;; esac; done
mkdir -p "$rootfs/bin" && echo made > "$rootfs/bin/made" && sleep 0.5
`, 0o755)
}

// hiddenWith reports whether the lxcpath holds a hidden directory whose
// name starts with prefix.
func hiddenWith(dir, prefix string) bool {
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), prefix) {
			return true
		}
	}
	return false
}

// assertMade checks that lxcpath/name is a whole container of slowTemplate.
func assertMade(t *testing.T, lxcpath, name, what string) {
	t.Helper()
	for _, f := range []string{"config", "rootfs/bin/made"} {
		if _, err := os.Stat(filepath.Join(lxcpath, name, f)); err != nil {
			t.Errorf("%s: %s of %s: %v", what, f, name, err)
		}
	}
}

// Two creates of different names, one through the alias and one through
// the real path, the second started while the first's template runs (so
// its sweep sees the first's hidden directory): both succeed, every time.
// Before the fix the sweep through the alias took the other create's lock
// under the alias's name, found it free and removed the directory ("read
// config after template: ... no such file or directory").
func TestCompatStoreAliasConcurrentCreates(t *testing.T) {
	t.Parallel()
	l := newRelLab(t)
	alias := l.alias()
	script, conf := l.slowTemplate(), l.conf()
	for round := range 10 {
		first, second := l.path, alias
		if round%2 == 1 {
			first, second = alias, l.path
		}
		a, b := l.newContainer(), l.newContainer()
		type result struct {
			errs string
			code int
		}
		done := make(chan result, 1)
		go func() {
			_, errs, code := run(t, "lxc-create", "-P", first, "-n", a, "-t", script, "-f", conf)
			done <- result{errs, code}
		}()
		if !waitForFast(10*time.Second, func() bool { return hiddenWith(l.path, "."+a+".creating-") }) {
			<-done
			t.Fatalf("round %d: lxc-create -P %s -n %s never made its hidden directory", round, first, a)
		}
		_, errs, code := run(t, "lxc-create", "-P", second, "-n", b, "-t", script, "-f", conf)
		if code != 0 {
			t.Errorf("round %d: lxc-create -P %s -n %s during a create through %s: exit %d: %s", round, second, b, first, code, errs)
		}
		if r := <-done; r.code != 0 {
			t.Errorf("round %d: lxc-create -P %s -n %s, while lxc-create -P %s -n %s ran: exit %d: %s", round, first, a, second, b, r.code, r.errs)
		}
		what := fmt.Sprintf("round %d, creates through %s and %s", round, first, second)
		assertMade(t, l.path, a, what)
		assertMade(t, l.path, b, what)
	}

	// The same name through both paths at once: one create, and the
	// other is told so; never two, never a broken one.
	for round := range 4 {
		n := l.newContainer()
		done := make(chan int, 1)
		go func() {
			_, _, code := run(t, "lxc-create", "-P", alias, "-n", n, "-t", script, "-f", conf)
			done <- code
		}()
		if !waitForFast(10*time.Second, func() bool { return hiddenWith(l.path, "."+n+".creating-") }) {
			<-done
			t.Fatalf("round %d: lxc-create -P %s -n %s never made its hidden directory", round, alias, n)
		}
		_, errs, code := l.run("lxc-create", "-n", n, "-t", script, "-f", conf)
		if code == 0 || !strings.Contains(errs, "being created") && !strings.Contains(errs, "already exists") {
			t.Errorf("round %d: lxc-create -n %s while a create of it through %s runs: exit %d (%q), want a failure naming the other create", round, n, alias, code, errs)
		}
		if c := <-done; c != 0 {
			t.Errorf("round %d: lxc-create -P %s -n %s: exit %d", round, alias, n, c)
		}
		assertMade(t, l.path, n, fmt.Sprintf("round %d, one name through both paths", round))
	}
	if h := hiddenEntries(t, l.path); len(h) > 0 {
		t.Errorf("hidden directories left in the lxcpath: %v", h)
	}
}

// lockDir takes an flock on directory p, as a create or destroy in
// progress holds one on its work directory; the returned func drops it.
func lockDir(t *testing.T, p string) func() {
	t.Helper()
	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Flock(fd, unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	f := os.NewFile(uintptr(fd), p) // closing twice is then harmless
	return func() { f.Close() }
}

// A sweep removes only a leftover whose own lock is free: the debris of a
// killed create or destroy (its own name's too), never a directory somebody
// holds, whatever path the sweeping create came by.
func TestCompatStoreSweepTakesLeftoverLock(t *testing.T) {
	t.Parallel()
	l := newRelLab(t)
	alias := l.alias()
	script, conf := l.slowTemplate(), l.conf()
	mk := func(name string) string {
		p := filepath.Join(l.path, name)
		if err := os.MkdirAll(filepath.Join(p, "rootfs", "junk"), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	busy := mk("." + newName(t) + ".creating-0000000001")
	unlock := lockDir(t, busy)
	defer unlock()
	busyGone := mk("." + newName(t) + ".destroying-0000000002")
	unlockGone := lockDir(t, busyGone)
	defer unlockGone()
	dead := mk("." + newName(t) + ".creating-0000000003")
	deadGone := mk("." + newName(t) + ".destroying-0000000004")
	own := l.newContainer()
	ownDead := mk("." + own + ".creating-0000000005")

	l.mustRun("lxc-create", "-n", l.newContainer(), "-t", script, "-f", conf)
	if _, _, code := run(t, "lxc-create", "-P", alias, "-n", own, "-t", script, "-f", conf); code != 0 {
		t.Fatalf("lxc-create -P %s -n %s: exit %d", alias, own, code)
	}
	for _, p := range []string{busy, busyGone} {
		if _, err := os.Stat(filepath.Join(p, "rootfs", "junk")); err != nil {
			t.Errorf("a create's sweep removed %s, whose lock was held: %v", filepath.Base(p), err)
		}
	}
	for _, p := range []string{dead, deadGone, ownDead} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("two creates, one of them of %s: the leftover %s (lock free) was not swept", own, filepath.Base(p))
		}
	}
	unlock()
	unlockGone()
	if _, _, code := run(t, "lxc-create", "-P", alias, "-n", l.newContainer(), "-t", script, "-f", conf); code != 0 {
		t.Fatalf("lxc-create -P %s: exit %d", alias, code)
	}
	if h := hiddenEntries(t, l.path); len(h) > 0 {
		t.Errorf("a create after the locks were dropped: leftovers not swept: %v", h)
	}
}

// A container running under the real path is running through the alias,
// and the other way round: one monitor, reached through either.
func TestCompatStoreAliasRunning(t *testing.T) {
	t.Parallel()
	l := newRelLab(t)
	alias := l.alias()
	n := l.startBusybox()
	pid := l.initPID(n)
	viaAlias := func(tool string, args ...string) (string, string, int) {
		t.Helper()
		return run(t, tool, append([]string{"-P", alias, "-n", n}, args...)...)
	}

	if _, errs, code := viaAlias("lxc-start"); code != 0 || !strings.Contains(errs, "already running") {
		t.Errorf("lxc-start -P %s of %s running under %s: exit %d (%q), want 0 and \"already running\"", alias, n, l.path, code, errs)
	}
	if m := monitorPIDs(l.path, n); len(m) != 1 {
		t.Errorf("after lxc-start through the alias: monitors of %s: %v, want one", n, m)
	}
	if out, _, code := viaAlias("lxc-info", "-p"); code != 0 || strings.Join(strings.Fields(out), " ") != "PID: "+strconv.Itoa(pid) {
		t.Errorf("lxc-info -P %s -n %s -p: exit %d, %q; want PID: %d", alias, n, code, out, pid)
	}
	if out, _, _ := run(t, "lxc-ls", "-P", alias, "--running", "-1"); strings.TrimSpace(out) != n {
		t.Errorf("lxc-ls -P %s --running -1: %q, want %s", alias, out, n)
	}
	if _, errs, code := viaAlias("lxc-attach", "--", "/bin/true"); code != 0 {
		t.Errorf("lxc-attach -P %s -n %s -- /bin/true: exit %d: %s", alias, n, code, errs)
	}
	if _, errs, code := viaAlias("lxc-destroy"); code == 0 || !strings.Contains(errs, "running") {
		t.Errorf("lxc-destroy -P %s -n %s (running): exit %d (%q), want a refusal", alias, n, code, errs)
	}
	if _, errs, code := viaAlias("lxc-stop", "-t", "10"); code != 0 {
		t.Errorf("lxc-stop -P %s -n %s: exit %d: %s", alias, n, code, errs)
	}
	if st := l.state(n); st != "STOPPED" {
		t.Errorf("after lxc-stop through the alias: %s is %s under %s", n, st, l.path)
	}

	// Started through the alias: the monitor is the store's (its title
	// names the resolved path), and the real path finds it.
	if _, errs, code := viaAlias("lxc-start"); code != 0 {
		t.Fatalf("lxc-start -P %s -n %s: exit %d: %s", alias, n, code, errs)
	}
	l.waitState(n, "RUNNING", 10*time.Second)
	if m := monitorPIDs(l.path, n); len(m) != 1 {
		t.Errorf("lxc-start -P %s: monitors titled with %s: %v, want one", alias, l.path, m)
	}
	if _, errs, code := l.run("lxc-start", "-n", n); code != 0 || !strings.Contains(errs, "already running") {
		t.Errorf("lxc-start -P %s of %s started through %s: exit %d (%q), want 0 and \"already running\"", l.path, n, alias, code, errs)
	}
	l.mustRun("lxc-stop", "-n", n, "-k")
	if out, _, _ := viaAlias("lxc-info", "-s"); !strings.Contains(out, "STOPPED") {
		t.Errorf("lxc-info -P %s -n %s -s after lxc-stop -P %s: %q", alias, n, l.path, out)
	}
	if _, errs, code := viaAlias("lxc-destroy"); code != 0 {
		t.Errorf("lxc-destroy -P %s -n %s: exit %d: %s", alias, n, code, errs)
	}
	if _, err := os.Lstat(filepath.Join(l.path, n)); err == nil {
		t.Errorf("lxc-destroy -P %s -n %s left %s", alias, n, filepath.Join(l.path, n))
	}
}

// squatter runs test/attacker squat NAME, as uid when uid > 0, in a pid
// namespace of its own when ownPidNS (as a privileged container's root in
// the host's network namespace would), and returns a func that ends it.
func (l *lab) squatter(name string, uid uint32, ownPidNS bool) func() {
	l.t.Helper()
	bin := filepath.Join(l.aux, "attacker")
	if _, err := os.Stat(bin); err != nil {
		l.installAttacker()
	}
	// Somewhere nobody may run it from: the lab's dirs are root's only.
	dir, err := os.MkdirTemp("", "golxc-squat-")
	if err != nil {
		l.t.Fatal(err)
	}
	l.t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		l.t.Fatal(err)
	}
	prog, err := os.ReadFile(bin)
	if err != nil {
		l.t.Fatal(err)
	}
	exe := filepath.Join(dir, "attacker")
	if err := os.WriteFile(exe, prog, 0o755); err != nil {
		l.t.Fatal(err)
	}
	cmd := exec.Command(exe, "squat", name)
	cmd.SysProcAttr = &syscall.SysProcAttr{}
	if uid > 0 {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uid, Gid: uid}
	}
	if ownPidNS {
		cmd.SysProcAttr.Cloneflags = syscall.CLONE_NEWPID
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		l.t.Fatal(err)
	}
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		l.t.Fatal(err)
	}
	stop := func() {
		if cmd.Process != nil {
			stdin.Close()
			cmd.Process.Kill()
			cmd.Wait()
			cmd.Process = nil
		}
	}
	l.t.Cleanup(stop)
	if !waitForFast(10*time.Second, func() bool { return strings.Contains(out.String(), "READY") || strings.Contains(out.String(), "ERROR") }) || !strings.Contains(out.String(), "READY") {
		stop()
		l.t.Fatalf("attacker squat %q as uid %d: %q", name, uid, out.String())
	}
	return stop
}

// lsJSON is what this test reads of lxc-ls --format json.
type lsJSONRow struct {
	Name  string `json:"name"`
	State string `json:"state"`
	Pid   int    `json:"pid"`
	RunBy string `json:"run_by"`
}

func (l *lab) lsRow(lxcpath, name string) lsJSONRow {
	l.t.Helper()
	out, errs, code := run(l.t, "lxc-ls", "-P", lxcpath, "--format", "json")
	if code != 0 {
		l.t.Fatalf("lxc-ls -P %s --format json: exit %d: %s", lxcpath, code, errs)
	}
	var rows []lsJSONRow
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		l.t.Fatalf("lxc-ls --format json: %v in %q", err, out)
	}
	for _, r := range rows {
		if r.Name == name {
			return r
		}
	}
	l.t.Fatalf("lxc-ls -P %s --format json: no %s in %q", lxcpath, name, out)
	return lsJSONRow{}
}

// assertRefusedForLXC runs a tool that must refuse a container LXC runs:
// exit 1 (lxc-stop's "not running" is 2: not that) and one line naming LXC.
func assertRefusedForLXC(t *testing.T, lxcpath, name, tool string, args ...string) {
	t.Helper()
	_, errs, code := run(t, tool, append([]string{"-P", lxcpath, "-n", name}, args...)...)
	if code != 1 || !strings.Contains(errs, "LXC") || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
		t.Errorf("%s -P %s -n %s %s, with LXC running it: exit %d, stderr %q; want exit 1 and one line naming LXC", tool, lxcpath, name, strings.Join(args, " "), code, errs)
	}
}

// Anybody can bind an abstract socket name: a listener on LXC's command
// socket name counts only when root's and held by a process of the host's
// pid namespace. A squatter that is not root, or root of a container that
// shares the host's network namespace, proves nothing (the container is
// stopped and golxc runs it); a root listener of the host, under the
// lxcpath or an alias of it, is LXC's monitor for golxc.
func TestCompatLXCSquatter(t *testing.T) {
	t.Parallel()
	requireBusybox(t)
	l := newRelLab(t)
	alias := l.alias()
	n := l.createBusybox()
	sock := l.path + "/" + n + "/command"

	for _, sq := range []struct {
		what     string
		uid      uint32
		ownPidNS bool
	}{
		{"a non-root squatter", 65534, false},
		{"root of another pid namespace (a container sharing the host's network)", 0, true},
	} {
		stop := l.squatter(sock, sq.uid, sq.ownPidNS)
		if st := l.state(n); st != "STOPPED" {
			t.Errorf("with %s on @%s: %s is %s, want STOPPED", sq.what, sock, n, st)
		}
		if r := l.lsRow(l.path, n); r.RunBy != "" || r.State != "STOPPED" {
			t.Errorf("with %s: lxc-ls --format json says %+v, want STOPPED and no run_by", sq.what, r)
		}
		l.mustRun("lxc-start", "-n", n)
		l.waitState(n, "RUNNING", 10*time.Second)
		if r := l.lsRow(l.path, n); r.RunBy != "" {
			t.Errorf("with %s: golxc's own running container: run_by %q, want none", sq.what, r.RunBy)
		}
		l.mustRun("lxc-stop", "-n", n, "-k")
		stop()
	}

	for _, at := range []string{l.path, alias} {
		stop := l.squatter(at+"/"+n+"/command", 0, false)
		for _, p := range []string{l.path, alias} {
			if st := strings.Fields(mustOut(t, "lxc-info", "-P", p, "-n", n, "-s")); len(st) != 2 || st[1] != "RUNNING" {
				t.Errorf("root listener on @%s/%s/command: lxc-info -P %s -s says %v, want RUNNING", at, n, p, st)
			}
			if r := l.lsRow(p, n); r.RunBy != "lxc" || r.State != "RUNNING" {
				t.Errorf("root listener on @%s/%s/command: lxc-ls -P %s --format json: %+v, want RUNNING, run_by lxc", at, n, p, r)
			}
			assertRefusedForLXC(t, p, n, "lxc-start")
			assertRefusedForLXC(t, p, n, "lxc-stop")
			assertRefusedForLXC(t, p, n, "lxc-destroy", "-f")
		}
		if !strings.Contains(mustOut(t, "lxc-ls", "-P", l.path, "-f"), "RUNNING (LXC)") {
			t.Errorf("lxc-ls -f does not mark %s as run by LXC", n)
		}
		stop()
	}
	if _, err := os.Stat(filepath.Join(l.path, n, "config")); err != nil {
		t.Fatalf("after the refused destroys: %v", err)
	}
	if st := l.state(n); st != "STOPPED" {
		t.Errorf("listeners gone: %s is %s, want STOPPED", n, st)
	}
}

// mustOut runs a tool and returns its stdout, failing unless it exits 0.
func mustOut(t *testing.T, tool string, args ...string) string {
	t.Helper()
	out, errs, code := run(t, tool, args...)
	if code != 0 {
		t.Errorf("%s %s: exit %d: %s", tool, shellJoin(args), code, errs)
	}
	return out
}

// debianLXC runs Debian's own LXC tool (/usr/bin/lxc-*).
func debianLXC(t *testing.T, tool string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), toolTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/usr/bin/"+tool, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 10 * time.Second
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return out.String(), 0
	case errors.As(err, &ee) && ee.Exited():
		return out.String(), ee.ExitCode()
	}
	t.Errorf("LXC's %s %s: %v: %s", tool, shellJoin(args), err, out.String())
	return out.String(), -1
}

// lxcContainer creates name with Debian's lxc-create (busybox template)
// and registers its end: LXC's lxc-stop -k and lxc-destroy, through the
// path it was started by, then the cgroups LXC may have left for it.
func (l *lab) lxcContainer(name, startPath string) {
	t := l.t
	t.Helper()
	t.Cleanup(func() {
		debianLXC(t, "lxc-stop", "-P", startPath, "-n", name, "-k")
		debianLXC(t, "lxc-destroy", "-P", l.path, "-n", name, "-f")
		for _, kind := range []string{"payload", "monitor"} {
			dirs, _ := filepath.Glob(fmt.Sprintf("/sys/fs/cgroup/*/lxc.%s.%s", kind, name))
			for _, d := range dirs {
				removeCgroupTree(t, d)
			}
		}
		if m := monitorPIDs(startPath, name); len(m) > 0 {
			t.Errorf("cleanup: LXC's monitor of %s still runs: %v", name, m)
		}
	})
	if out, code := debianLXC(t, "lxc-create", "-P", l.path, "-n", name, "-t", "busybox", "-f", l.conf()); code != 0 {
		t.Fatalf("LXC's lxc-create -P %s -n %s -t busybox: exit %d: %s", l.path, name, code, out)
	}
}

// removeCgroupTree removes cgroup directory d and those below it (rmdir
// only: a cgroup with a process in it stays, and that is reported).
func removeCgroupTree(t *testing.T, d string) {
	ents, _ := os.ReadDir(d)
	for _, e := range ents {
		if e.IsDir() {
			removeCgroupTree(t, filepath.Join(d, e.Name()))
		}
	}
	if err := unix.Rmdir(d); err != nil && err != unix.ENOENT {
		t.Errorf("cleanup: rmdir %s: %v", d, err)
	}
}

// Debian's own LXC runs three containers: one started under the lxcpath,
// one through a symlink long enough that LXC hashes its socket's name, one
// in the foreground (lxc-start -F).
// golxc refuses to start, stop, destroy or execute either, through the
// lxcpath, the alias or the long path; lxc-info and lxc-ls show them
// running under LXC with LXC's init pid. Once LXC has stopped one, golxc
// runs it as its own.
func TestCompatLXCRunning(t *testing.T) {
	t.Parallel()
	requireBusybox(t)
	requireDebianLXC(t)
	l := newRelLab(t)
	alias := l.alias()
	long := filepath.Join(l.aux, strings.Repeat("L", 110))
	if err := os.Symlink(l.path, long); err != nil {
		t.Fatal(err)
	}
	n, h, f := newName(t), newName(t), newName(t)
	l.lxcContainer(n, l.path)
	l.lxcContainer(h, long)
	l.lxcContainer(f, l.path)
	// f in the foreground (lxc-start -F): no monitor title, lxc-start
	// itself holds the socket.
	fg := exec.Command("/usr/bin/lxc-start", "-F", "-P", l.path, "-n", f)
	fg.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	fgOut, err := os.Create(filepath.Join(l.aux, f+".out"))
	if err != nil {
		t.Fatal(err)
	}
	defer fgOut.Close()
	fg.Stdout, fg.Stderr = fgOut, fgOut
	if err := fg.Start(); err != nil {
		t.Fatal(err)
	}
	fgDone := make(chan error, 1)
	go func() { fgDone <- fg.Wait() }()
	t.Cleanup(func() {
		debianLXC(t, "lxc-stop", "-P", l.path, "-n", f, "-k")
		select {
		case <-fgDone:
		case <-time.After(10 * time.Second):
			t.Errorf("cleanup: LXC's lxc-start -F -n %s (pid %d) did not end after lxc-stop -k; killing it", f, fg.Process.Pid)
			fg.Process.Kill()
			<-fgDone
		}
	})
	for _, c := range []struct{ name, path string }{{n, l.path}, {h, long}, {f, l.path}} {
		if c.name != f {
			if out, code := debianLXC(t, "lxc-start", "-P", c.path, "-n", c.name, "-o", filepath.Join(l.aux, c.name+".log"), "-l", "INFO"); code != 0 {
				log, _ := os.ReadFile(filepath.Join(l.aux, c.name+".log"))
				t.Fatalf("LXC's lxc-start -P %s -n %s: exit %d: %s\n%s", c.path, c.name, code, out, log)
			}
		}
		if !waitFor(10*time.Second, func() bool {
			out, _ := debianLXC(t, "lxc-info", "-P", c.path, "-n", c.name, "-s", "-H")
			return strings.TrimSpace(out) == "RUNNING"
		}) {
			t.Fatalf("LXC's %s never RUNNING", c.name)
		}
	}
	// A user's abstract name may hold a newline and a whole forged line of
	// /proc/net/unix naming LXC's socket with another inode: it must not
	// hide LXC's container from golxc (which would then start, stop as
	// stopped or destroy it).
	forged := "x\n0: 2 0 10000 0001 01 9 @" + l.path + "/" + n + "/command"
	defer l.squatter(forged, 65534, false)()
	if out, errs, code := l.run("lxc-info", "-n", n, "-s", "-H"); strings.TrimSpace(out) != "RUNNING" {
		t.Errorf("lxc-info of LXC's %s with a forged /proc/net/unix line: %q, exit %d, %s; want RUNNING", n, out, code, errs)
	}
	// LXC 5.0 names the socket of a long LXCPATH/NAME by its 64-bit FNV-1a.
	fnv := fnv.New64a()
	fnv.Write([]byte(long + "/" + h))
	if hashed := fmt.Sprintf("lxc/%016x/command", fnv.Sum64()); !hasAbstract(hashed) {
		t.Errorf("LXC's lxc-start -P %s -n %s: no listener on @%s (the hashed name's case is not tested)", long, h, hashed)
	}

	for _, c := range []struct{ name, path string }{{n, l.path}, {h, long}, {f, l.path}} {
		out, _ := debianLXC(t, "lxc-info", "-P", c.path, "-n", c.name, "-p", "-H")
		lxcPid, _ := strconv.Atoi(strings.TrimSpace(out))
		for _, p := range []string{l.path, alias, long} {
			info := mustOut(t, "lxc-info", "-P", p, "-n", c.name)
			if !strings.Contains(info, "RUNNING") || !strings.Contains(info, "LXC") || !strings.Contains(info, "PID:") || !strings.Contains(info, strconv.Itoa(lxcPid)) {
				t.Errorf("lxc-info -P %s -n %s (LXC runs it, init %d): %q, want RUNNING, LXC and its pid", p, c.name, lxcPid, info)
			}
			if r := l.lsRow(p, c.name); r.State != "RUNNING" || r.RunBy != "lxc" || r.Pid != lxcPid {
				t.Errorf("lxc-ls -P %s --format json: %+v, want RUNNING, run_by lxc, pid %d", p, r, lxcPid)
			}
			assertRefusedForLXC(t, p, c.name, "lxc-start")
			assertRefusedForLXC(t, p, c.name, "lxc-stop")
			assertRefusedForLXC(t, p, c.name, "lxc-stop", "-k")
			assertRefusedForLXC(t, p, c.name, "lxc-destroy")
			assertRefusedForLXC(t, p, c.name, "lxc-destroy", "-f")
			assertRefusedForLXC(t, p, c.name, "lxc-execute", "--", "/bin/true")
			assertRefusedForLXC(t, p, c.name, "lxc-attach", "--", "/bin/true")
		}
		if out, _ := debianLXC(t, "lxc-info", "-P", c.path, "-n", c.name, "-s", "-H"); strings.TrimSpace(out) != "RUNNING" {
			t.Errorf("after golxc's refusals LXC's %s is %q, want RUNNING", c.name, out)
		}
	}
	table := mustOut(t, "lxc-ls", "-P", l.path, "-f")
	for _, c := range []string{n, h, f} {
		if !strings.Contains(table, c+" ") || !strings.Contains(table[strings.Index(table, c):], "RUNNING (LXC)") {
			t.Errorf("lxc-ls -f: %s not shown RUNNING (LXC):\n%s", c, table)
		}
	}

	// Stopped by LXC, it is golxc's to run.
	if out, code := debianLXC(t, "lxc-stop", "-P", l.path, "-n", n, "-k"); code != 0 {
		t.Fatalf("LXC's lxc-stop -k: exit %d: %s", code, out)
	}
	if st := l.state(n); st != "STOPPED" {
		t.Errorf("after LXC's lxc-stop: golxc says %s is %s", n, st)
	}
	l.track(n) // from here golxc may run it: its cleanup stops and destroys it first
	l.mustRun("lxc-start", "-n", n)
	l.waitState(n, "RUNNING", 10*time.Second)
	if r := l.lsRow(l.path, n); r.RunBy != "" {
		t.Errorf("started by golxc: run_by %q", r.RunBy)
	}
	l.mustRun("lxc-stop", "-n", n, "-k")
}

// hasAbstract reports whether an abstract unix socket is named name.
func hasAbstract(name string) bool {
	f, err := os.Open("/proc/net/unix")
	if err != nil {
		return false
	}
	defer f.Close()
	b, _ := io.ReadAll(f)
	return bytes.Contains(b, []byte(" @"+name+"\n"))
}

// requireDebianLXC fails when Debian's own LXC tools are missing: the tests
// that run them side by side with golxc's must not pass by not running.
func requireDebianLXC(t *testing.T) {
	t.Helper()
	if _, err := os.Stat("/usr/bin/lxc-start"); err != nil {
		t.Fatalf("Debian's lxc is not installed (apt-get install --no-install-recommends lxc; .ci/run does it): %v", err)
	}
}

// The other way round: LXC's own lxc-start of a container golxc runs
// fails (golxc's monitor holds the name of LXC's command socket) instead
// of starting a second copy on the same rootfs; golxc's copy runs on.
func TestCompatLXCCannotStartGolxcs(t *testing.T) {
	t.Parallel()
	requireDebianLXC(t)
	l := newRelLab(t)
	alias := l.alias()
	n := l.createBusybox()
	// Started through an alias: LXC names its socket after the path as
	// typed, so both spellings must be taken.
	if out, errs, code := run(t, "lxc-start", "-P", alias, "-n", n); code != 0 {
		t.Fatalf("lxc-start -P %s -n %s: exit %d\n%s%s", alias, n, code, out, errs)
	}
	l.waitState(n, "RUNNING", 10*time.Second)
	pid := l.initPID(n)
	l.t.Cleanup(func() {
		// Whatever LXC made of its failed start.
		debianLXC(t, "lxc-stop", "-P", alias, "-n", n, "-k")
		debianLXC(t, "lxc-stop", "-P", l.path, "-n", n, "-k")
		for _, kind := range []string{"payload", "monitor"} {
			dirs, _ := filepath.Glob(fmt.Sprintf("/sys/fs/cgroup/*/lxc.%s.%s-*", kind, n))
			for _, d := range dirs {
				removeCgroupTree(t, d)
			}
		}
	})
	for _, p := range []string{l.path, alias} {
		out, code := debianLXC(t, "lxc-start", "-P", p, "-n", n)
		if code == 0 {
			t.Errorf("LXC's lxc-start -P %s of %s, which golxc runs, exited 0: %s", p, n, out)
		}
	}
	if got := l.initPID(n); got != pid {
		t.Errorf("golxc's %s: init %d, was %d", n, got, pid)
	}
	if out, _ := debianLXC(t, "lxc-info", "-P", l.path, "-n", n, "-s"); !strings.Contains(out, "STOPPED") {
		t.Errorf("LXC's lxc-info after its failed start: %q, want STOPPED (no LXC copy runs)", out)
	}
	// And golxc still owns it: a clean stop works.
	l.mustRun("lxc-stop", "-n", n, "-k")
}
