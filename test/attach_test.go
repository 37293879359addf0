package test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

const containerPATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// TestAttach runs its cases one after another in one running container.
func TestAttach(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	n := l.startBusybox()
	initPID := l.initPID(n)

	t.Run("output", func(t *testing.T) {
		l := l.with(t)
		if got := l.attach(n, "hostname"); got != n+"\n" {
			t.Errorf("lxc-attach -n %s -- hostname: %q, want %q", n, got, n+"\n")
		}
		if got := l.attach(n, "cat", "/proc/1/cmdline"); !strings.HasPrefix(got, "init") && !strings.HasPrefix(got, "/sbin/init") {
			t.Errorf("lxc-attach -n %s -- cat /proc/1/cmdline: %q, want busybox init", n, got)
		}
		out, errs, code := l.run("lxc-attach", "-n", n, "--", "/bin/sh", "-c", "echo to-stderr >&2")
		if code != 0 || out != "" || errs != "to-stderr\n" {
			t.Errorf("lxc-attach -n %s -- sh -c 'echo to-stderr >&2': exit %d stdout %q stderr %q, want 0, \"\", \"to-stderr\\n\"", n, code, out, errs)
		}
	})

	t.Run("default shell", func(t *testing.T) {
		l := l.with(t)
		out, errs, code := l.runWith(runOpts{stdin: "echo from-shell $(hostname)\nexit 3\n"}, "lxc-attach", "-n", n)
		if code != 3 || out != "from-shell "+n+"\n" {
			t.Errorf("printf 'echo from-shell $(hostname)\\nexit 3' | lxc-attach -n %s: exit %d stdout %q, want 3 and %q\nstderr: %s", n, code, out, "from-shell "+n+"\n", errs)
		}
	})

	t.Run("stdin", func(t *testing.T) {
		l := l.with(t)
		data := "line one\nline two\n"
		out, errs, code := l.runWith(runOpts{stdin: data}, "lxc-attach", "-n", n, "--", "cat")
		if code != 0 || out != data {
			t.Errorf("echo ... | lxc-attach -n %s -- cat: exit %d stdout %q, want 0 and %q\nstderr: %s", n, code, out, data, errs)
		}
	})

	t.Run("exit status", func(t *testing.T) {
		l := l.with(t)
		l.attach(n, "/bin/sh", "-c", "echo x > /noexec; chmod 644 /noexec")
		for _, c := range []struct {
			cmd  []string
			code int
		}{
			{[]string{"/bin/sh", "-c", "exit 7"}, 7},
			{[]string{"/bin/true"}, 0},
			{[]string{"/bin/false"}, 1},
			{[]string{"/bin/sh", "-c", "kill -9 $$"}, 137},
			{[]string{"/bin/sh", "-c", "kill -TERM $$"}, 143},
			{[]string{"nosuchcmd"}, 127},
			{[]string{"/nosuch/cmd"}, 127},
			{[]string{"/noexec"}, 126},
		} {
			args := append([]string{"-n", n, "--"}, c.cmd...)
			out, errs, code := l.run("lxc-attach", args...)
			if code != c.code {
				t.Errorf("lxc-attach %s: exit %d, want %d\nstdout: %s\nstderr: %s", shellJoin(args), code, c.code, out, errs)
			}
		}
	})

	t.Run("namespaces", func(t *testing.T) {
		l := l.with(t)
		for _, ns := range []string{"pid", "mnt", "uts", "ipc", "net", "cgroup"} {
			want, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", initPID, ns))
			if err != nil {
				t.Fatal(err)
			}
			host, _ := os.Readlink("/proc/self/ns/" + ns)
			if want == host {
				t.Errorf("container %s: init's %s namespace is the host's (%s)", n, ns, host)
			}
			if got := strings.TrimSpace(l.attach(n, "readlink", "/proc/self/ns/"+ns)); got != want {
				t.Errorf("lxc-attach -n %s -- readlink /proc/self/ns/%s: %q, want the init's %q", n, ns, got, want)
			}
		}
		// In the container's pid ns the attached shell is not pid 1.
		out := l.attach(n, "/bin/sh", "-c", "echo $$")
		f := strings.Fields(out)
		if len(f) != 1 || f[0] == "1" {
			t.Errorf("lxc-attach -n %s -- sh -c 'echo $$; ...': %q, want a pid other than 1", n, out)
		}
	})

	t.Run("cgroups", func(t *testing.T) {
		l := l.with(t)
		out := l.attach(n, "cat", "/proc/self/cgroup")
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			if !strings.HasSuffix(line, ":/") {
				t.Errorf("lxc-attach -n %s -- cat /proc/self/cgroup: line %q, want it at the root of the container's cgroup namespace\n%s", n, line, out)
			}
		}
		// Seen from the host, an attached process is in lxc.payload.<name>
		// in every hierarchy.
		ctx, cancel := context.WithTimeout(context.Background(), toolTimeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, filepath.Join(binDir(t), "lxc-attach"), "-P", l.path, "-n", n, "--", "sleep", "31")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var sleeper int
		waitFor(5*time.Second, func() bool {
			procs, _ := os.ReadFile("/sys/fs/cgroup/pids/lxc.payload." + n + "/cgroup.procs")
			for _, p := range strings.Fields(string(procs)) {
				if b, _ := os.ReadFile("/proc/" + p + "/cmdline"); string(b) == "sleep\x0031\x00" {
					sleeper, _ = strconv.Atoi(p)
					return true
				}
			}
			return false
		})
		if sleeper == 0 {
			t.Errorf("lxc-attach -n %s -- sleep 31: no such process in /sys/fs/cgroup/pids/lxc.payload.%s", n, n)
			cancel()
		} else {
			cg := readTrim(t, fmt.Sprintf("/proc/%d/cgroup", sleeper))
			for _, line := range strings.Split(cg, "\n") {
				if !strings.Contains(line, "/lxc.payload."+n) {
					t.Errorf("lxc-attach -n %s -- sleep 31: host's /proc/%d/cgroup line %q is outside lxc.payload.%s\n%s", n, sleeper, line, n, cg)
				}
			}
			syscall.Kill(sleeper, syscall.SIGKILL)
		}
		err := cmd.Wait()
		var ee *exec.ExitError
		if sleeper != 0 && (!errors.As(err, &ee) || ee.ExitCode() != 137) {
			t.Errorf("lxc-attach -n %s -- sleep 31, the sleep killed by SIGKILL: %v, want exit 137", n, err)
		}
	})

	t.Run("-s NETWORK", func(t *testing.T) {
		l := l.with(t)
		hostMnt, _ := os.Readlink("/proc/self/ns/mnt")
		ctNet, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", initPID))
		out, errs, code := l.run("lxc-attach", "-n", n, "-s", "NETWORK", "--", "readlink", "/proc/self/ns/mnt", "/proc/self/ns/net")
		f := strings.Fields(out)
		if code != 0 || len(f) != 2 || f[0] != hostMnt || f[1] != ctNet {
			t.Errorf("lxc-attach -n %s -s NETWORK -- readlink mnt net: exit %d %q, want [%s %s]\nstderr: %s", n, code, f, hostMnt, ctNet, errs)
		}
		// The host's files: only the host has this one.
		marker := l.writeFile("host-only", "host side\n", 0o644)
		out, errs, code = l.run("lxc-attach", "-n", n, "-s", "NETWORK", "--", "cat", marker)
		if code != 0 || out != "host side\n" {
			t.Errorf("lxc-attach -n %s -s NETWORK -- cat %s: exit %d %q, want the host's file\nstderr: %s", n, marker, code, out, errs)
		}
	})

	t.Run("-s UTSNAME", func(t *testing.T) {
		l := l.with(t)
		hostMnt, _ := os.Readlink("/proc/self/ns/mnt")
		out, errs, code := l.run("lxc-attach", "-n", n, "-s", "UTSNAME", "--", "/bin/sh", "-c", "hostname; readlink /proc/self/ns/mnt")
		if f := strings.Fields(out); code != 0 || len(f) != 2 || f[0] != n || f[1] != hostMnt {
			t.Errorf("lxc-attach -n %s -s UTSNAME -- sh -c 'hostname; readlink /proc/self/ns/mnt': exit %d %q, want %s and the host's %s\nstderr: %s", n, code, out, n, hostMnt, errs)
		}
	})

	t.Run("-s MOUNT|PID", func(t *testing.T) {
		l := l.with(t)
		ctPid, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", initPID))
		hostUTS, _ := os.Readlink("/proc/self/ns/uts")
		out, errs, code := l.run("lxc-attach", "-n", n, "-s", "MOUNT|PID", "--", "/bin/sh", "-c", "readlink /proc/self/ns/pid; readlink /proc/self/ns/uts; test -e /etc/inittab && echo rootfs")
		if f := strings.Fields(out); code != 0 || len(f) != 3 || f[0] != ctPid || f[1] != hostUTS || f[2] != "rootfs" {
			t.Errorf("lxc-attach -n %s -s 'MOUNT|PID' -- ...: exit %d %q, want the container's pid ns %s, the host's uts ns %s, the rootfs\nstderr: %s", n, code, out, ctPid, hostUTS, errs)
		}
		out, errs, code = l.run("lxc-attach", "-n", n, "-s", "BOGUS", "--", "/bin/true")
		if code != 1 || !strings.Contains(errs, "BOGUS") {
			t.Errorf("lxc-attach -n %s -s BOGUS: exit %d, want 1 and an error naming BOGUS\nstdout: %s\nstderr: %s", n, code, out, errs)
		}
	})

	t.Run("environment", func(t *testing.T) {
		l := l.with(t)
		secret := runOpts{env: []string{"GOLXC_TEST_SECRET=1"}}
		env := func(args ...string) map[string]string {
			t.Helper()
			args = append(append([]string{"-n", n}, args...), "--", "env")
			out, errs, code := l.runWith(secret, "lxc-attach", args...)
			if code != 0 {
				t.Fatalf("lxc-attach %s: exit %d\nstdout: %s\nstderr: %s", shellJoin(args), code, out, errs)
			}
			m := map[string]string{}
			for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
				k, v, _ := strings.Cut(line, "=")
				m[k] = v
			}
			return m
		}
		// As LXC 5.0: the caller's environment by default, container=lxc.
		def := env()
		if def["container"] != "lxc" || def["GOLXC_TEST_SECRET"] != "1" || def["PATH"] != os.Getenv("PATH") {
			t.Errorf("lxc-attach -n %s -- env: container=%q GOLXC_TEST_SECRET=%q PATH=%q, want lxc, the caller's 1 and PATH\n%v", n, def["container"], def["GOLXC_TEST_SECRET"], def["PATH"], def)
		}
		if keep := env("--keep-env"); keep["GOLXC_TEST_SECRET"] != "1" {
			t.Errorf("lxc-attach -n %s --keep-env -- env: GOLXC_TEST_SECRET=%q, want 1\n%v", n, keep["GOLXC_TEST_SECRET"], keep)
		}
		clear := env("--clear-env")
		var keys []string
		for k := range clear {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		if strings.Join(keys, ",") != "PATH,container" || clear["container"] != "lxc" || clear["PATH"] != containerPATH {
			t.Errorf("lxc-attach -n %s --clear-env -- env: %v, want only container=lxc and PATH=%s", n, clear, containerPATH)
		}
		set := env("-v", "FOO=bar", "-v", "BAZ=a b")
		if set["FOO"] != "bar" || set["BAZ"] != "a b" {
			t.Errorf("lxc-attach -n %s -v FOO=bar -v 'BAZ=a b' -- env: FOO=%q BAZ=%q\n%v", n, set["FOO"], set["BAZ"], set)
		}
		if cs := env("--clear-env", "-v", "FOO=bar"); cs["FOO"] != "bar" {
			t.Errorf("lxc-attach -n %s --clear-env -v FOO=bar -- env: %v, want FOO=bar", n, cs)
		}
	})

	t.Run("uid gid", func(t *testing.T) {
		l := l.with(t)
		out := l.mustRun("lxc-attach", "-n", n, "-u", "1000", "-g", "1000", "--", "/bin/sh", "-c", "id -u; id -g")
		if f := strings.Fields(out); len(f) != 2 || f[0] != "1000" || f[1] != "1000" {
			t.Errorf("lxc-attach -n %s -u 1000 -g 1000 -- sh -c 'id -u; id -g': %q, want 1000 1000", n, out)
		}
	})

	t.Run("stopped", func(t *testing.T) {
		l := l.with(t)
		l.mustRun("lxc-stop", "-n", n, "-k")
		out, errs, code := l.run("lxc-attach", "-n", n, "--", "/bin/true")
		if code != 1 || !strings.Contains(errs, "is not running") {
			t.Errorf("lxc-attach -n %s -- /bin/true (stopped): exit %d, want 1 and \"is not running\"\nstdout: %s\nstderr: %s", n, code, out, errs)
		}
	})
}

// lxc-attach from a terminal: the command gets a pty of the container's
// whose size follows the caller's terminal, keys reach it (Ctrl-C
// included), and the caller's terminal modes come back as they were.
func TestAttachTerminal(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	n := l.startBusybox()
	// attach runs lxc-attach on a fresh pty of the test's, as a shell on
	// that terminal would; during runs while it does.
	attach := func(t *testing.T, during func(master *os.File), cmd ...string) (string, int) {
		t.Helper()
		master, slave := openPty(t)
		if err := unix.IoctlSetWinsize(int(master.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 33, Col: 101}); err != nil {
			t.Fatal(err)
		}
		before, err := unix.IoctlGetTermios(int(slave.Fd()), unix.TCGETS)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), toolTimeout)
		defer cancel()
		c := exec.CommandContext(ctx, filepath.Join(binDir(t), "lxc-attach"), append([]string{"-P", l.path, "-n", n, "--"}, cmd...)...)
		c.Stdin, c.Stdout, c.Stderr = slave, slave, slave
		c.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
		var out strings.Builder
		readDone := make(chan struct{})
		go func() { defer close(readDone); io.Copy(&out, master) }()
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		if during != nil {
			during(master)
		}
		err = c.Wait()
		after, terr := unix.IoctlGetTermios(int(slave.Fd()), unix.TCGETS)
		slave.Close()
		<-readDone
		if terr != nil || *after != *before {
			t.Errorf("lxc-attach -- %s: the terminal's modes after it %+v (%v), want them as before %+v", shellJoin(cmd), after, terr, before)
		}
		code := 0
		if err != nil {
			var ee *exec.ExitError
			if !errors.As(err, &ee) {
				t.Fatalf("lxc-attach -- %s: %v", shellJoin(cmd), err)
			}
			code = ee.ExitCode()
		}
		return out.String(), code
	}

	t.Run("size", func(t *testing.T) {
		out, code := attach(t, nil, "stty", "size")
		if code != 0 || strings.TrimSpace(out) != "33 101" {
			t.Errorf("lxc-attach -- stty size on a 33x101 terminal: exit %d %q, want 0 and \"33 101\"", code, out)
		}
	})
	t.Run("resize", func(t *testing.T) {
		out, code := attach(t, func(m *os.File) {
			time.Sleep(500 * time.Millisecond)
			unix.IoctlSetWinsize(int(m.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 44, Col: 120})
		}, "/bin/sh", "-c", "trap 'stty size; exit 0' WINCH; stty size; i=0; while [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done; exit 9")
		if f := strings.Fields(out); code != 0 || len(f) != 4 || f[2] != "44" || f[3] != "120" {
			t.Errorf("lxc-attach -- sh (SIGWINCH trap), terminal resized to 44x120: exit %d %q, want 0 and the new size", code, out)
		}
	})
	t.Run("ctrl-c", func(t *testing.T) {
		out, code := attach(t, func(m *os.File) {
			time.Sleep(500 * time.Millisecond)
			m.Write([]byte{3})
		}, "sleep", "30")
		if code != 130 {
			t.Errorf("lxc-attach -- sleep 30, Ctrl-C typed: exit %d, want 130\noutput: %q", code, out)
		}
	})
	t.Run("keys and output", func(t *testing.T) {
		out, code := attach(t, func(m *os.File) {
			time.Sleep(300 * time.Millisecond)
			m.Write([]byte("echo typed-$((6*7))\nexit 5\n"))
		}, "/bin/sh")
		if code != 5 || !strings.Contains(out, "typed-42") {
			t.Errorf("lxc-attach -- sh, typing a command and exit 5: exit %d, output %q; want 5 and typed-42", code, out)
		}
	})
}

// lxc-attach into a container that LXC's own tools run (a root listener
// of the host's on LXC's command socket name stands in for LXC's monitor
// here; TestCompatLXCRunning runs Debian's) says so in one line, as
// lxc-start and lxc-stop do, instead of "not running".
func TestAttachRunByLXC(t *testing.T) {
	l := newLab(t)
	n := l.createBusybox()
	stop := l.squatter(l.path+"/"+n+"/command", 0, false)
	defer stop()
	assertRefusedForLXC(t, l.path, n, "lxc-attach", "--", "/bin/true")
	_, errs, _ := l.run("lxc-attach", "-n", n, "--", "/bin/true")
	if want := n + " is running under LXC's own tools (LXC's lxc-start), not golxc"; !strings.Contains(errs, want) {
		t.Errorf("lxc-attach of a container LXC runs: %q, want lxc-start's message", errs)
	}
}
