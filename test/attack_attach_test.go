package test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// While many attaches run, root in the container watches every process
// that appears (from its clone to its exec and after) and tries what
// /proc allows it: none may hold the host's lxc-attach's environment or
// memory (beyond what the command is given: with --clear-env, nothing of
// the caller's), a host fd, or a writable exe, nor run the host's golxc
// file.
func TestAttackAttachWindow(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	attackAttachWindow(l, l.startBusybox(), 120)
}

// attackAttachWindow runs the watcher in container n while attaches
// lxc-attach's run, and fails the test on anything it finds.
func attackAttachWindow(l *lab, n string, attaches int) {
	t := l.t
	t.Helper()
	attacker := l.installAttacker(n)
	var st syscall.Stat_t
	if err := syscall.Stat(filepath.Join(binDir(t), "golxc"), &st); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	secret := "golxc-attach-secret-" + hex.EncodeToString(b)
	stopFile := filepath.Join(l.path, n, "rootfs", "attacker.stop")

	ctx, cancel := context.WithTimeout(context.Background(), 3*toolTimeout)
	defer cancel()
	watcher := exec.CommandContext(ctx, filepath.Join(binDir(t), "lxc-attach"), "-P", l.path, "-n", n, "--",
		attacker, "watch", secret, strconv.FormatUint(st.Dev, 10), strconv.FormatUint(st.Ino, 10), "/attacker.stop")
	out, err := watcher.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	watcher.Stderr = os.Stderr
	if err := watcher.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		os.WriteFile(stopFile, nil, 0o644)
		cancel()
		watcher.Wait()
	})
	lines := bufio.NewScanner(out)
	if !lines.Scan() || lines.Text() != "READY" {
		t.Fatalf("watcher in %s did not start: %q", n, lines.Text())
	}

	const workers = 4
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < attaches/workers; i++ {
				// --clear-env: by default (as LXC's) the attached
				// command is given the caller's environment; the
				// boundary here is lxc-attach's own memory and
				// environment, which hold the secret all the same.
				o, e, code := l.runWith(runOpts{env: []string{"GOLXC_ATTACK_SECRET=" + secret}}, "lxc-attach", "-n", n, "--clear-env", "--", "/bin/sleep", "0.01")
				if code != 0 {
					t.Errorf("lxc-attach -n %s --clear-env -- sleep 0.01: exit %d\nstdout: %s\nstderr: %s", n, code, o, e)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := os.WriteFile(stopFile, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	seen := -1
	for lines.Scan() {
		line := lines.Text()
		if strings.HasPrefix(line, "FOUND") {
			t.Errorf("root in the container, watching lxc-attach: %s", line)
		}
		var pre int
		if _, err := fmt.Sscanf(line, "SEEN %d PRE-EXEC %d", &seen, &pre); err == nil {
			t.Logf("the watcher saw %d attached processes, %d of them before their exec", seen, pre)
		}
	}
	// It must have looked at a good part of them, or this proves nothing.
	if seen < attaches/4 {
		t.Errorf("the watcher saw %d of %d attached processes, want at least %d", seen, attaches, attaches/4)
	}
}

// openPty allocates a pty of the host's devpts for the test.
func openPty(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close(); s.Close() })
	return m, s
}

// lxc-attach run from a terminal (its controlling one, as from a shell):
// the command pushes "echo INJECTED" into its stdin's terminal and into
// /dev/tty with TIOCSTI. None of it may reach the host's terminal, whose
// shell would run it once lxc-attach exits; the command's terminal is a
// pty of the container's own devpts.
func TestAttackAttachTIOCSTI(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	n := l.startBusybox()
	attacker := l.installAttacker(n)
	master, slave := openPty(t)

	ctx, cancel := context.WithTimeout(context.Background(), toolTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(binDir(t), "lxc-attach"), "-P", l.path, "-n", n, "--", attacker, "inject")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	var output strings.Builder
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		io.Copy(&output, master) // EIO once the slave is closed below
	}()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	if ctx.Err() != nil {
		t.Fatalf("lxc-attach -- %s inject: timed out", attacker)
	}
	// Anything queued for the host terminal's reader (the shell that ran
	// lxc-attach) is still there now.
	queued, qerr := unix.IoctlGetInt(int(slave.Fd()), unix.TIOCINQ)
	var pending []byte
	if qerr == nil && queued > 0 {
		unix.SetNonblock(int(slave.Fd()), true)
		pending = make([]byte, queued)
		k, _ := unix.Read(int(slave.Fd()), pending)
		pending = pending[:max(k, 0)]
	}
	slave.Close()
	select {
	case <-readDone:
	case <-time.After(5 * time.Second):
		t.Error("the host pty's output did not end")
	}
	got := output.String()
	if err != nil {
		t.Errorf("lxc-attach -- %s inject: %v\noutput: %q", attacker, err, got)
	}
	if qerr != nil || queued != 0 {
		t.Errorf("after lxc-attach, the host terminal has %d bytes of input queued (%v): %q", queued, qerr, pending)
	}
	// The attack was made: TIOCSTI worked on the command's own terminal.
	if !strings.Contains(got, "inject fd0: ok") {
		t.Errorf("the command could not push input into its own terminal, so this test proves nothing\noutput: %q", got)
	}
	if !strings.Contains(got, "fd0: container-tty") {
		t.Errorf("the command's stdin is not a pty of the container's devpts\noutput: %q", got)
	}
}

// A FIFO as the container's /etc/passwd must not hang lxc-attach: as
// root with a command it is not opened at all, and where it is needed it
// is read only if it is a regular file.
func TestAttackAttachPasswdFIFO(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	n := l.startBusybox()
	passwd := filepath.Join(l.path, n, "rootfs", "etc", "passwd")
	if err := os.Remove(passwd); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mkfifo(passwd, 0o644); err != nil {
		t.Fatal(err)
	}
	quick := runOpts{timeout: 10 * time.Second}
	for _, c := range []struct {
		args  []string
		stdin string
		want  string
	}{
		{args: []string{"--", "true"}},
		// Not id: busybox's id reads /etc/passwd itself.
		{args: []string{"-u", "1000", "--", "/bin/sh", "-c", "grep ^Uid: /proc/self/status | cut -f2"}, want: "1000\n"},
		{stdin: "echo shell-ran\n", want: "shell-ran\n"},
	} {
		o := quick
		o.stdin = c.stdin
		args := append([]string{"-n", n}, c.args...)
		start := time.Now()
		out, errs, code := l.runWith(o, "lxc-attach", args...)
		if took := time.Since(start); code != 0 || out != c.want || took > 5*time.Second {
			t.Errorf("lxc-attach %s with /etc/passwd a FIFO: exit %d after %v, stdout %q; want 0 within 5s, %q\nstderr: %s", shellJoin(args), code, took.Round(time.Millisecond), out, c.want, errs)
		}
	}
}

// lxc-attach -s without CGROUP: the command is in the container's pid
// namespace, so it must be in the container's cgroups too (LXC moves it
// whatever -s says): outside them, the container's root could ptrace it
// and use it past the container's limits.
func TestAttackAttachNamespacesWithoutCgroup(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	n := l.startBusybox()
	out, errs, code := l.run("lxc-attach", "-n", n, "-s", "MOUNT|PID", "--", "/bin/cat", "/proc/self/cgroup")
	if code != 0 {
		t.Fatalf("lxc-attach -s 'MOUNT|PID' -- cat /proc/self/cgroup: exit %d\n%s", code, errs)
	}
	lines := 0
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) != 3 || f[1] == "" && f[2] == "/" {
			continue // the unified line on a host with nothing there
		}
		if strings.Contains(f[1], "process_api") || strings.Contains(f[2], "process_api") {
			continue
		}
		lines++
		if !strings.Contains(f[2], "lxc.payload."+n) {
			t.Errorf("attached with -s 'MOUNT|PID', the command is in %q, not in the container's cgroup", line)
		}
	}
	if lines == 0 {
		t.Errorf("no cgroup lines in %q", out)
	}
}

// runAttachOnHostNull runs lxc-attach with stdin, stdout and stderr all
// the host's /dev/null, as `lxc-attach ... </dev/null >/dev/null 2>&1`.
func (l *lab) runAttachOnHostNull(args ...string) int {
	l.t.Helper()
	null, err := os.OpenFile("/dev/null", os.O_RDWR, 0)
	if err != nil {
		l.t.Fatal(err)
	}
	defer null.Close()
	ctx, cancel := context.WithTimeout(context.Background(), toolTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(binDir(l.t), "lxc-attach"), append([]string{"-P", l.path}, args...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = null, null, null
	err = cmd.Run()
	if ctx.Err() != nil {
		l.t.Fatalf("lxc-attach %v on the host's /dev/null: timed out", args)
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		l.t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode()
}

// A command run with the host's /dev/null as stdin, stdout and stderr
// does not hold it: container root could change its mode or owner through
// /proc/PID/fd/N. Each fd is the container's own /dev/null instead (another
// device and inode), and a chmod through /proc/self/fd leaves the host's
// alone; in a container without /dev/null the fds are pipes, read at EOF
// or drained by lxc-attach.
func TestAttackAttachHostNull(t *testing.T) {
	l := newLab(t)
	n := l.startBusybox()
	var host unix.Stat_t
	if err := unix.Stat("/dev/null", &host); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		var now unix.Stat_t
		if err := unix.Stat("/dev/null", &now); err == nil && now.Mode != host.Mode {
			t.Errorf("the host's /dev/null mode went from %o to %o: restoring it", host.Mode&0o7777, now.Mode&0o7777)
			_ = unix.Chmod("/dev/null", host.Mode&0o7777)
		}
	})
	result := filepath.Join(l.path, n, "rootfs", "result")
	// The shell's own fds ($$), looked at from a subshell whose stdout
	// is /result (busybox may run stat in the shell itself).
	script := `exec 3>/result; for i in 0 1 2; do (stat -L -c "%d %i %F" /proc/$$/fd/$i) >&3; done; chmod 0600 /proc/self/fd/0 /proc/self/fd/1 /proc/self/fd/2; echo chmod $? >&3; cat; echo out; echo err >&2`
	if code := l.runAttachOnHostNull("-n", n, "--", "/bin/sh", "-c", script); code != 0 {
		t.Fatalf("lxc-attach on the host's /dev/null: exit %d", code)
	}
	b, err := os.ReadFile(result)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 4 || lines[3] != "chmod 0" {
		t.Fatalf("inside: %q, want the three fds' stat and chmod 0", b)
	}
	hostID := fmt.Sprintf("%d %d ", host.Dev, host.Ino)
	for i, line := range lines[:3] {
		if strings.HasPrefix(line, hostID) || !strings.HasSuffix(line, "character special file") {
			t.Errorf("fd %d inside: %q; want a character device that is not the host's /dev/null (%s)", i, line, hostID)
		}
	}
	var now unix.Stat_t
	if err := unix.Stat("/dev/null", &now); err != nil || now.Mode != host.Mode {
		t.Errorf("the host's /dev/null after a chmod through /proc/self/fd inside: mode %o (%v), was %o", now.Mode&0o7777, err, host.Mode&0o7777)
	}

	// Without a /dev/null of its own: pipes. cat reads EOF at once, and
	// what is written is drained: lxc-attach ends.
	l.mustRun("lxc-attach", "-n", n, "--", "/bin/rm", "/dev/null")
	if code := l.runAttachOnHostNull("-n", n, "--", "/bin/sh", "-c", script); code != 0 {
		t.Fatalf("lxc-attach on the host's /dev/null, no /dev/null inside: exit %d", code)
	}
	b, err = os.ReadFile(result)
	if err != nil {
		t.Fatal(err)
	}
	lines = strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 4 {
		t.Fatalf("inside: %q, want the three fds' stat and chmod", b)
	}
	for i, line := range lines[:3] {
		if !strings.HasSuffix(line, "fifo") {
			t.Errorf("fd %d inside a container without /dev/null: %q, want a fifo", i, line)
		}
	}
	if err := unix.Stat("/dev/null", &now); err != nil || now.Mode != host.Mode {
		t.Errorf("the host's /dev/null after a chmod through /proc/self/fd inside: mode %o (%v), was %o", now.Mode&0o7777, err, host.Mode&0o7777)
	}
}

// userNSContainer starts a busybox container whose init moves into a user
// namespace of its own (mapping 0..65535 to host ids base..) before it
// execs sleep: a stand-in for an id-mapped container (lxc.idmap), whose
// init is in a user namespace the other namespaces are not owned by.
func (l *lab) userNSContainer(base int, confLines ...string) (string, int) {
	l.t.Helper()
	n := l.createBusybox(confLines...)
	l.mustRun("lxc-start", "-n", n, "--", "/bin/busybox", "unshare", "-U", "sh", "-c",
		`while [ -z "$(cat /proc/self/uid_map)" ]; do sleep 0.05; done; exec sleep 1000`)
	l.waitState(n, "RUNNING", 10*time.Second)
	pid := l.initPID(n)
	// RUNNING comes before busybox's unshare has run: the maps are
	// written once the init's user namespace is its own.
	hostNS, _ := os.Readlink("/proc/self/ns/user")
	if !waitFor(10*time.Second, func() bool {
		ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/user", pid))
		return err == nil && ns != hostNS
	}) {
		l.t.Fatalf("%s's init made no user namespace", n)
	}
	for _, w := range []struct{ file, data string }{
		{"setgroups", "allow"},
		{"uid_map", fmt.Sprintf("0 %d 65536", base)},
		{"gid_map", fmt.Sprintf("0 %d 65536", base)},
	} {
		if err := os.WriteFile(fmt.Sprintf("/proc/%d/%s", pid, w.file), []byte(w.data), 0); err != nil {
			l.t.Fatalf("map the ids of %s's init: %v", n, err)
		}
	}
	return n, pid
}

// childRunning returns the child of pid whose command line starts with
// prefix (NUL-separated), waiting for one: lxc-attach's helper is its
// child too, for a while.
func childRunning(t *testing.T, pid int, prefix string) int {
	t.Helper()
	var child int
	waitFor(10*time.Second, func() bool {
		ents, _ := os.ReadDir("/proc")
		for _, e := range ents {
			p, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
			if err != nil {
				continue
			}
			// pid (comm) state ppid ...: comm may hold spaces.
			f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
			if len(f) < 2 || f[1] != strconv.Itoa(pid) {
				continue
			}
			if c, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline"); strings.HasPrefix(string(c), prefix) {
				child = p
				return true
			}
		}
		return false
	})
	if child == 0 {
		t.Fatalf("no child of %d running %q", pid, prefix)
	}
	return child
}

// lxc-attach into a container whose init has a user namespace of its own
// joins it: the command is that namespace's root (or -u's user), whose
// host ids are the mapped ones, never the host's root, and it runs under
// the container's filter, loaded with the capabilities of that namespace
// (no no_new_privs needed).
func TestAttackAttachUserNamespace(t *testing.T) {
	l := newLab(t)
	const base = 720000
	profile := l.writeFile("deny-mkdir.seccomp", "2\ndenylist\nmkdir errno 1\nmkdirat errno 1\n", 0o644)
	n, initPid := l.userNSContainer(base, "lxc.seccomp.profile = "+profile)
	initNS, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/user", initPid))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		id   int // inside
	}{{nil, 0}, {[]string{"-u", "1000", "-g", "1000"}, 1000}} {
		out, errs, code := l.run("lxc-attach", append(append([]string{"-n", n}, tc.args...), "--", "/bin/sh", "-c",
			`echo $(id -u) $(id -g) $(readlink /proc/self/ns/user); `+attachedStatusCmd)...)
		want := fmt.Sprintf("%d %d %s\n2 0 EPERM\n", tc.id, tc.id, initNS)
		if code != 0 || out != want {
			t.Errorf("lxc-attach %v into a user namespace: exit %d, %q (stderr %q); want %q", tc.args, code, out, errs, want)
		}

		// The host's view of the attached process.
		cmd := exec.Command(filepath.Join(binDir(t), "lxc-attach"), append(append([]string{"-P", l.path, "-n", n}, tc.args...), "--", "/bin/sleep", "30")...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		pid := childRunning(t, cmd.Process.Pid, "/bin/sleep\x00")
		s, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		st := string(s)
		ns, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/user", pid))
		syscall.Kill(pid, syscall.SIGKILL)
		cmd.Wait()
		host := base + tc.id
		wantIDs := fmt.Sprintf("Uid:\t%d\t%d\t%d\t%d\nGid:\t%d\t%d\t%d\t%d\n", host, host, host, host, host, host, host, host)
		if !strings.Contains(st, wantIDs) || ns != initNS {
			t.Errorf("lxc-attach %v: the command on the host: user namespace %s (want %s), status\n%s\nwant %q", tc.args, ns, initNS, st, wantIDs)
		}
	}

	// -s naming USER or not: the user namespace is joined all the same.
	for _, ns := range []string{"USER", "NETWORK", "NETWORK|USER"} {
		out, errs, code := l.run("lxc-attach", "-n", n, "-s", ns, "--", "/bin/sh", "-c", `echo $(id -u) $(readlink /proc/self/ns/user)`)
		if want := "0 " + initNS + "\n"; code != 0 || out != want {
			t.Errorf("lxc-attach -s %s into a user namespace: exit %d, %q (stderr %q); want %q", ns, code, out, errs, want)
		}
	}

	// From a terminal: the command's pty is the namespace's root's, not
	// an unmapped owner's (the host's root).
	master, slave := openPty(t)
	ctx, cancel := context.WithTimeout(context.Background(), toolTimeout)
	defer cancel()
	c := exec.CommandContext(ctx, filepath.Join(binDir(t), "lxc-attach"), "-P", l.path, "-n", n, "--", "/bin/sh", "-c", `stat -c "owner %u:%g" $(tty)`)
	c.Stdin, c.Stdout, c.Stderr = slave, slave, slave
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	var out strings.Builder
	readDone := make(chan struct{})
	go func() { defer close(readDone); io.Copy(&out, master) }()
	err = c.Run()
	slave.Close()
	<-readDone
	if err != nil || !strings.Contains(out.String(), "owner 0:0") {
		t.Errorf("lxc-attach from a terminal into a user namespace: %v, %q; want the pty owned by 0:0 inside", err, out.String())
	}
}
