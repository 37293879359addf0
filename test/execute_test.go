package test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestExecuteHostRoot: a config without a rootfs shares the host's root.
func TestExecuteHostRoot(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	conf := l.conf()
	n := l.newContainer()

	out, errs, code := l.run("lxc-execute", "-n", n, "-f", conf, "--", "/bin/sh", "-c", "echo out; exit 4")
	if code != 4 || out != "out\n" {
		t.Errorf("lxc-execute -n %s -f CONF -- sh -c 'echo out; exit 4': exit %d stdout %q, want 4 and \"out\\n\"\nstderr: %s", n, code, out, errs)
	}
	out, errs, code = l.runWith(runOpts{stdin: "x\ny\n"}, "lxc-execute", "-n", n, "-f", conf, "--", "cat")
	if code != 0 || out != "x\ny\n" {
		t.Errorf("printf 'x\\ny\\n' | lxc-execute -n %s -f CONF -- cat: exit %d stdout %q, want 0 and the input\nstderr: %s", n, code, out, errs)
	}
	out, errs, code = l.run("lxc-execute", "-n", n, "-f", conf, "--", "/bin/sh", "-c", "echo $$; hostname")
	if f := strings.Fields(out); code != 0 || len(f) != 2 || f[0] == "1" || f[1] != n {
		t.Errorf("lxc-execute -n %s -f CONF -- sh -c 'echo $$; hostname': exit %d %q, want a pid other than 1 (init is golxc's) and %s\nstderr: %s", n, code, out, n, errs)
	}
	// The host's files are there.
	marker := l.writeFile("marker", "host file\n", 0o644)
	if out, errs, code := l.run("lxc-execute", "-n", n, "-f", conf, "--", "cat", marker); code != 0 || out != "host file\n" {
		t.Errorf("lxc-execute -n %s -f CONF -- cat %s: exit %d %q\nstderr: %s", n, marker, code, out, errs)
	}
	// With its own /proc, pid 1 is golxc's init.
	out, errs, code = l.run("lxc-execute", "-n", n, "-f", conf, "-s", "lxc.mount.auto=proc:mixed", "--", "cat", "/proc/1/cmdline")
	if code != 0 || !strings.Contains(out, "golxc-init") {
		t.Errorf("lxc-execute -n %s -f CONF -s lxc.mount.auto=proc:mixed -- cat /proc/1/cmdline: exit %d %q, want golxc's init (golxc-init)\nstderr: %s", n, code, out, errs)
	}
	out, errs, code = l.run("lxc-execute", "-n", n, "-f", conf, "--", "nosuchcmd-golxc")
	if code != 127 {
		t.Errorf("lxc-execute -n %s -f CONF -- nosuchcmd-golxc: exit %d, want 127\nstdout: %s\nstderr: %s", n, code, out, errs)
	}
	out, errs, code = l.run("lxc-execute", "-n", n, "-f", conf, "--", "/bin/sh", "-c", "kill -9 $$")
	if code != 137 {
		t.Errorf("lxc-execute -n %s -f CONF -- sh -c 'kill -9 $$': exit %d, want 137\nstdout: %s\nstderr: %s", n, code, out, errs)
	}
	// An application container is not left running.
	if out, errs, code := l.run("lxc-info", "-n", n, "-s"); !(code == 1 && strings.Contains(errs, "doesn't exist")) && strings.TrimSpace(out) != "State:          STOPPED" {
		t.Errorf("lxc-info -n %s -s after lxc-execute: exit %d %q, want STOPPED or undefined\nstderr: %s", n, code, out, errs)
	}
	assertNoCgroups(t, n, "lxc-execute")
}

func TestExecuteBusybox(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	n := l.createBusybox()
	out, errs, code := l.run("lxc-execute", "-n", n, "--", "/bin/sh", "-c", "cat /proc/1/cmdline; echo; hostname; echo $$; exit 3")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 3 || len(lines) != 3 || !strings.Contains(lines[0], "golxc-init") || lines[1] != n || lines[2] == "1" {
		t.Errorf("lxc-execute -n %s -- sh -c 'cat /proc/1/cmdline; hostname; echo $$; exit 3': exit %d %q, want 3, golxc's init as pid 1, %s, a pid other than 1\nstderr: %s", n, code, out, n, errs)
	}
	// The container's own root: busybox's /bin/busybox, not the host's root.
	out, errs, code = l.run("lxc-execute", "-n", n, "--", "/bin/ls", "/etc/inittab", filepath.Join(l.path, n))
	if code == 0 || !strings.Contains(out, "/etc/inittab") {
		t.Errorf("lxc-execute -n %s -- ls /etc/inittab <lxcpath>: exit %d %q, want the rootfs's inittab and no host lxcpath\nstderr: %s", n, code, out, errs)
	}

	// init reaps orphans: a reparented child vanishes instead of staying a zombie.
	reap := `(sh -c 'echo $$ > /tmp/orphan' &)
i=0; while [ ! -s /tmp/orphan ]; do i=$((i+1)); [ $i -gt 200 ] && { echo no-orphan; exit 1; }; sleep 0.05; done
p=$(cat /tmp/orphan)
i=0; while [ -e /proc/$p ]; do i=$((i+1)); [ $i -gt 200 ] && { echo "zombie: $(cat /proc/$p/stat)"; exit 1; }; sleep 0.05; done
echo reaped`
	out, errs, code = l.run("lxc-execute", "-n", n, "--", "/bin/sh", "-c", reap)
	if code != 0 || strings.TrimSpace(out) != "reaped" {
		t.Errorf("lxc-execute -n %s -- sh -c <orphan then wait>: exit %d %q, want the orphan reaped\nstderr: %s", n, code, out, errs)
	}

	// init forwards signals: TERM sent to pid 1 reaches the command.
	ctx, cancel := context.WithTimeout(context.Background(), toolTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(binDir(t), "lxc-execute"), "-P", l.path, "-n", n, "--",
		"/bin/sh", "-c", `trap "echo got-term; exit 9" TERM; echo ready; while :; do sleep 1; done`)
	var stdout syncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if !waitFor(10*time.Second, func() bool { return l.state(n) == "RUNNING" && strings.Contains(stdout.String(), "ready") }) {
		cancel()
		cmd.Wait()
		t.Fatalf("lxc-execute -n %s -- sh -c '<trap TERM; loop>': not RUNNING with the command ready (stdout %q)", n, stdout.String())
	}
	if out, errs, code := l.run("lxc-attach", "-n", n, "--", "kill", "-TERM", "1"); code != 0 {
		t.Errorf("lxc-attach -n %s -- kill -TERM 1 (lxc-execute container): exit %d\nstdout: %s\nstderr: %s", n, code, out, errs)
	}
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 9 || !strings.Contains(stdout.String(), "got-term") {
		t.Errorf("lxc-execute -n %s, TERM to its pid 1: %v stdout %q, want exit 9 and got-term (the signal forwarded)", n, err, stdout.String())
	}
	if s := l.state(n); s != "STOPPED" {
		t.Errorf("after lxc-execute -n %s: state %s, want STOPPED", n, s)
	}
	assertNoCgroups(t, n, "lxc-execute")
}
