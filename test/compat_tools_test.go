package test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Compatibility of the lifecycle and config tools with LXC 5.0, run as LXC's
// users and scripts run them.

// debianLXCConfig is where Debian's liblxc-common puts LXC's shared
// config includes.
const debianLXCConfig = "/usr/share/lxc/config"

// requireDebianLXCConfig fails when Debian's shared LXC configs are
// missing: the tests load the real files, not copies.
func requireDebianLXCConfig(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(debianLXCConfig, "userns.conf")); err != nil {
		t.Fatalf("Debian's LXC config files are missing (apt-get install liblxc-common; .ci/run does it): %v", err)
	}
}

// writeContainerConfig puts a config straight into lxcpath/name, as a
// user editing a container's config by hand would.
func (l *lab) writeContainerConfig(name, text string) {
	l.t.Helper()
	dir := filepath.Join(l.path, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		l.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config"), []byte(text), 0o644); err != nil {
		l.t.Fatal(err)
	}
}

// Debian's userns.conf ends with "lxc.include = .../userns.conf.d/",
// a directory Debian does not ship: LXC skips it, and so must golxc, or no
// *.userns.conf loads. A missing include file stays an error.
func TestCompatIncludeMissingDirectory(t *testing.T) {
	l := newLab(t)
	requireDebianLXCConfig(t)
	if _, err := os.Stat(filepath.Join(debianLXCConfig, "userns.conf.d")); err == nil {
		t.Logf("%s/userns.conf.d exists on this host: the missing-directory case is covered by the synthetic include below", debianLXCConfig)
	}
	confs, err := filepath.Glob(filepath.Join(debianLXCConfig, "*.conf"))
	if err != nil || len(confs) == 0 {
		t.Fatalf("no *.conf in %s: %v", debianLXCConfig, err)
	}
	for _, inc := range confs {
		n := newName(t)
		l.writeContainerConfig(n, "lxc.include = "+inc+"\nlxc.uts.name = "+n+"\n")
		out, errs, code := l.run("lxc-info", "-n", n, "-c", "lxc.uts.name")
		if code != 0 || out != "lxc.uts.name = "+n+"\n" {
			t.Errorf("config including %s: lxc-info -c lxc.uts.name: exit %d, stdout %q, stderr %q", inc, code, out, errs)
		}
	}

	t.Run("own missing directory", func(t *testing.T) {
		l := l.with(t)
		n := newName(t)
		l.writeContainerConfig(n, "lxc.include = "+filepath.Join(l.aux, "none.d")+"/\nlxc.uts.name = "+n+"\n")
		if out, errs, code := l.run("lxc-info", "-n", n, "-c", "lxc.uts.name"); code != 0 || out != "lxc.uts.name = "+n+"\n" {
			t.Errorf("lxc-info: exit %d, stdout %q, stderr %q", code, out, errs)
		}
	})
	t.Run("missing file is an error", func(t *testing.T) {
		l := l.with(t)
		n := newName(t)
		missing := filepath.Join(l.aux, "none.conf")
		l.writeContainerConfig(n, "lxc.include = "+missing+"\n")
		if _, errs, code := l.run("lxc-info", "-n", n, "-c", "lxc.uts.name"); code != 1 || !strings.Contains(errs, missing) {
			t.Errorf("lxc-info: exit %d, stderr %q; want 1 and the missing file named", code, errs)
		}
	})
	t.Run("the chain is applied", func(t *testing.T) {
		// lxc.mount.auto = sys:rw is userns.conf's, read through
		// debian.userns.conf before the skipped userns.conf.d/.
		l := l.with(t)
		n := newName(t)
		l.writeContainerConfig(n, "lxc.include = "+filepath.Join(debianLXCConfig, "debian.userns.conf")+"\n")
		if out, errs, code := l.run("lxc-info", "-n", n, "-c", "lxc.mount.auto"); code != 0 || out != "lxc.mount.auto = sys:rw\n" {
			t.Errorf("lxc-info -c lxc.mount.auto: exit %d, stdout %q, stderr %q; want sys:rw", code, out, errs)
		}
	})
}

// LXC's lxc-update-config copies FILE to FILE.backup on every run, even
// when nothing needs rewriting: scripts check for the backup. A second run
// leaves FILE as it is.
func TestCompatUpdateConfigBackup(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config")
	current := "# current\nlxc.uts.name = c1\nlxc.net.0.type = empty\n"
	if err := os.WriteFile(path, []byte(current), 0o640); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 2; i++ {
		os.Remove(path + ".backup")
		if out, errs, code := run(t, "lxc-update-config", "-c", path); code != 0 || out != "" || errs != "" {
			t.Fatalf("run %d: exit %d, stdout %q, stderr %q", i, code, out, errs)
		}
		if b, err := os.ReadFile(path + ".backup"); err != nil || string(b) != current {
			t.Fatalf("run %d: backup %q, %v; want a copy of the file", i, b, err)
		}
		if b, _ := os.ReadFile(path); string(b) != current {
			t.Fatalf("run %d changed a current config: %q", i, b)
		}
	}
	// A legacy config: the backup is the file before the rewrite.
	legacy := "lxc.utsname = old\n"
	os.WriteFile(path, []byte(legacy), 0o640)
	if _, errs, code := run(t, "lxc-update-config", "--config", path); code != 0 {
		t.Fatalf("legacy: exit %d, stderr %q", code, errs)
	}
	if b, _ := os.ReadFile(path + ".backup"); string(b) != legacy {
		t.Fatalf("legacy: backup %q, want %q", b, legacy)
	}
	if b, _ := os.ReadFile(path); string(b) != "lxc.uts.name = old\n" {
		t.Fatalf("legacy: rewritten %q", b)
	}
	// No argument: usage on stdout, exit 0; a missing file: exit 1.
	if out, _, code := run(t, "lxc-update-config"); code != 0 || !strings.Contains(out, "-c") {
		t.Errorf("no argument: exit %d, stdout %q; want usage and 0", code, out)
	}
	if _, errs, code := run(t, "lxc-update-config", "-c", filepath.Join(dir, "missing")); code != 1 || errs == "" {
		t.Errorf("missing file: exit %d, stderr %q; want 1 and a message", code, errs)
	}
}

// envMap parses env's output.
func envMap(out string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			m[k] = v
		}
	}
	return m
}

// statusField is one field of /proc/PID/status text.
func statusField(status, key string) string {
	for _, line := range strings.Split(status, "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && k == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// lxc-attach as LXC 5.0's: the caller's environment by default, the name
// as a positional argument, -e, -s implying -e, -R, -L.
func TestCompatAttach(t *testing.T) {
	l := newLab(t)
	n := l.createBusybox("lxc.environment = FROM_CONF=conf", "lxc.environment = TERM")
	l.mustRun("lxc-start", "-n", n)
	l.waitState(n, "RUNNING", 10*time.Second)
	initPID := l.initPID(n)
	caller := runOpts{env: []string{"FROM_CALLER=caller", "TERM=vt100"}}

	t.Run("environment", func(t *testing.T) {
		l := l.with(t)
		env := func(args ...string) map[string]string {
			t.Helper()
			args = append(append([]string{"-n", n}, args...), "--", "env")
			out, errs, code := l.runWith(caller, "lxc-attach", args...)
			if code != 0 {
				t.Fatalf("lxc-attach %s: exit %d\nstderr: %s", shellJoin(args), code, errs)
			}
			return envMap(out)
		}
		if m := env(); m["FROM_CALLER"] != "caller" || m["container"] != "lxc" || m["FROM_CONF"] != "conf" || m["TERM"] != "vt100" || m["PATH"] != os.Getenv("PATH") {
			t.Errorf("default: %v; want the caller's environment, container=lxc, lxc.environment", m)
		}
		m := env("--clear-env", "--keep-var", "FROM_CALLER", "-v", "SET=1")
		want := map[string]string{"FROM_CALLER": "caller", "PATH": containerPATH, "container": "lxc", "FROM_CONF": "conf", "TERM": "vt100", "SET": "1"}
		if fmt.Sprint(m) != fmt.Sprint(want) {
			t.Errorf("--clear-env --keep-var FROM_CALLER -v SET=1: %v, want %v", m, want)
		}
		if m := env("--keep-env", "--clear-env"); m["FROM_CALLER"] != "" {
			t.Errorf("--keep-env --clear-env: %v; want the last one, --clear-env, to win", m)
		}
		if m := env("--clear-env", "--keep-env"); m["FROM_CALLER"] != "caller" {
			t.Errorf("--clear-env --keep-env: %v; want the last one, --keep-env, to win", m)
		}
	})

	t.Run("positional name", func(t *testing.T) {
		for _, args := range [][]string{
			{"-P", l.path, n, "--", "hostname"},
			{n, "-P", l.path, "--", "hostname"},
			{"-P", l.path, n, "hostname"},
		} {
			if out, errs, code := run(t, "lxc-attach", args...); code != 0 || out != n+"\n" {
				t.Errorf("lxc-attach %s: exit %d, stdout %q, stderr %q; want %s", shellJoin(args), code, out, errs, n)
			}
		}
	})

	self, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	hostBounding := statusField(string(self), "CapBnd")
	status := func(t *testing.T, args ...string) (bounding, cgroup string) {
		t.Helper()
		args = append(append([]string{"-n", n}, args...), "--", "/bin/sh", "-c", "cat /proc/self/status; echo CGROUP:; cat /proc/self/cgroup")
		out, errs, code := l.run("lxc-attach", args...)
		if code != 0 {
			t.Fatalf("lxc-attach %s: exit %d\nstderr: %s", shellJoin(args), code, errs)
		}
		st, cg, _ := strings.Cut(out, "CGROUP:")
		return statusField(st, "CapBnd"), cg
	}
	t.Run("-e", func(t *testing.T) {
		initStatus, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", initPID))
		if err != nil {
			t.Fatal(err)
		}
		initBounding := statusField(string(initStatus), "CapBnd")
		if initBounding == hostBounding {
			t.Fatalf("the container's bounding set %s is the host's: lxc.cap.drop of the busybox template not applied, this test proves nothing", initBounding)
		}
		capb, cg := status(t)
		if capb != initBounding || strings.Contains(cg, "/..") {
			t.Errorf("default: CapBnd %s, cgroups %q; want init's %s and the container's cgroups", capb, cg, initBounding)
		}
		capb, cg = status(t, "-eCAP")
		if capb != hostBounding || strings.Contains(cg, "/..") {
			t.Errorf("-eCAP: CapBnd %s, cgroups %q; want the host's %s and the container's cgroups", capb, cg, hostBounding)
		}
		capb, cg = status(t, "--elevated-privileges=CGROUP")
		if capb != initBounding || !strings.Contains(cg, "/..") {
			t.Errorf("--elevated-privileges=CGROUP: CapBnd %s, cgroups %q; want init's %s and cgroups outside the container's (/..)", capb, cg, initBounding)
		}
		capb, cg = status(t, "-e")
		if capb != hostBounding || !strings.Contains(cg, "/..") {
			t.Errorf("-e: CapBnd %s, cgroups %q; want everything elevated", capb, cg)
		}
		// LXC's -s implies -e; golxc's does not (SECURITY.md): the
		// command keeps the container's bounding set and cgroups.
		if capb, cg = status(t, "-s", "MOUNT|PID|UTSNAME|IPC|NETWORK|CGROUP"); capb != initBounding || strings.Contains(cg, "/..") {
			t.Errorf("-s (all namespaces): CapBnd %s, cgroups %q; want init's %s and the container's cgroups", capb, cg, initBounding)
		}
		// "-e CAP": the optional value must be attached; CAP is the command.
		if _, errs, code := l.run("lxc-attach", "-n", n, "-e", "CAP"); code != 127 {
			t.Errorf("lxc-attach -e CAP: exit %d (stderr %q), want 127: CAP is the command, as with LXC", code, errs)
		}
	})

	t.Run("-R", func(t *testing.T) {
		l := l.with(t)
		// Without MOUNT, /sys and /proc are the host's unless -R.
		out, errs, code := l.run("lxc-attach", "-n", n, "-s", "NETWORK", "-R", "--", "ls", "/sys/class/net")
		if code != 0 || strings.Fields(out) == nil || strings.Join(strings.Fields(out), " ") != "lo" {
			t.Errorf("-s NETWORK -R -- ls /sys/class/net: exit %d %q (stderr %q), want only the container's lo", code, out, errs)
		}
		initCmd, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", initPID))
		if err != nil {
			t.Fatal(err)
		}
		out, errs, code = l.run("lxc-attach", "-n", n, "-s", "PID", "-R", "--", "cat", "/proc/1/cmdline")
		if code != 0 || out != string(initCmd) {
			t.Errorf("-s PID -R -- cat /proc/1/cmdline: exit %d %q (stderr %q), want the container's init %q", code, out, errs, initCmd)
		}
		// The host's mounts are untouched.
		hostCmd, _ := os.ReadFile("/proc/1/cmdline")
		if string(hostCmd) == string(initCmd) {
			t.Errorf("the host's /proc/1 is the container's init after -R")
		}
	})

	t.Run("-L", func(t *testing.T) {
		l := l.with(t)
		log := filepath.Join(l.aux, "pty.log")
		// No terminal, no pty: the file is made all the same, empty.
		if _, errs, code := l.run("lxc-attach", "-n", n, "-L", log, "--", "true"); code != 0 {
			t.Fatalf("-L without a terminal: exit %d, stderr %q", code, errs)
		}
		if st, err := os.Stat(log); err != nil || st.Size() != 0 || st.Mode().Perm() != 0o600 {
			t.Fatalf("-L without a terminal: %v %v; want an empty 0600 file", st, err)
		}
		h := newHostTerminal(t, 24, 80)
		cmd, cancel := h.start(t, "lxc-attach", "-P", l.path, "-n", n, "-L", log, "--", "/bin/sh", "-c", "echo pty-out; echo pty-err >&2")
		defer cancel()
		if code := exitCode(t, cmd); code != 0 {
			t.Fatalf("-L on a terminal: exit %d\noutput: %q", code, h.out.String())
		}
		if b, _ := os.ReadFile(log); string(b) != "pty-out\r\npty-err\r\n" {
			t.Errorf("-L on a terminal: log %q, want what the command wrote to its pty", b)
		}
	})
}

// lxc-stop as LXC 5.0.2's: contradictory flags refused in its words
// (exit 1) before anything is done, exit 2 for a container that is not
// running or does not exist; the -p pid file of lxc-start goes when the
// container stops.
func TestCompatStop(t *testing.T) {
	l := newLab(t)
	pidfile := filepath.Join(l.aux, "monitor.pid")
	n := l.createBusybox()
	l.mustRun("lxc-start", "-n", n, "-p", pidfile)
	l.waitState(n, "RUNNING", 10*time.Second)
	pid, err := strconv.Atoi(readTrim(t, pidfile))
	if err != nil || !alive(pid) || !slices.Contains(monitorPIDs(l.path, n), pid) {
		t.Fatalf("lxc-start -p %s: holds %q (%v), want the monitor's pid %v", pidfile, readTrim(t, pidfile), err, monitorPIDs(l.path, n))
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-k", "--nokill"}, "-k can't be used with --nokill"},
		{[]string{"-k", "--nokill", "-r"}, "-k can't be used with --nokill"},
		{[]string{"-k", "-r"}, "-k can't be used with -r"},
		{[]string{"-k", "-t", "5"}, "-k doesn't allow timeouts"},
		{[]string{"--kill", "--timeout=-1"}, "-k doesn't allow timeouts"},
		{[]string{"-t", "-5"}, "Invalid timeout"},
		{[]string{"--nolock"}, "--nolock may only be used with -k"},
	} {
		args := append([]string{"-n", n}, c.args...)
		if out, errs, code := l.run("lxc-stop", args...); code != 1 || errs != "lxc-stop: "+c.want+"\n" || out != "" {
			t.Errorf("lxc-stop %s: exit %d, stdout %q, stderr %q; want 1 and %q", shellJoin(args), code, out, errs, c.want)
		}
	}
	if s := l.state(n); s != "RUNNING" {
		t.Fatalf("after refused lxc-stop flags: state %s, want RUNNING", s)
	}
	if _, errs, code := l.run("lxc-stop", "-n", "nonexistent"); code != 2 || errs == "" {
		t.Errorf("lxc-stop -n nonexistent: exit %d, stderr %q; want 2", code, errs)
	}
	// -k -W and -k -t 0 are allowed: no timeout to speak of.
	l.mustRun("lxc-stop", "-n", n, "-k", "-t", "0")
	if !waitFor(5*time.Second, func() bool { _, err := os.Stat(pidfile); return os.IsNotExist(err) }) {
		t.Errorf("the pid file %s outlived the container's monitor", pidfile)
	}

	t.Run("-F", func(t *testing.T) {
		// In the foreground lxc-start is the monitor: its pid, removed
		// when it returns.
		l := l.with(t)
		pidfile := filepath.Join(l.aux, "fg.pid")
		n := l.createBusybox()
		out, errs, code := l.run("lxc-start", "-n", n, "-F", "-p", pidfile, "--", "/bin/sh", "-c", "cat /proc/1/cmdline >/dev/null")
		if code != 0 {
			t.Fatalf("lxc-start -F -p: exit %d\nstdout: %s\nstderr: %s", code, out, errs)
		}
		if _, err := os.Stat(pidfile); !os.IsNotExist(err) {
			t.Errorf("lxc-start -F -p %s: the pid file is left after the container stopped (%v)", pidfile, err)
		}
	})
}

// lxc-execute -d runs the application container in the background: the
// tool returns at once with 0, the container runs its command and goes.
func TestCompatExecuteDaemon(t *testing.T) {
	l := newLab(t)
	n := l.createBusybox()
	marker := filepath.Join(l.path, n, "rootfs", "done")
	start := time.Now()
	out, errs, code := l.run("lxc-execute", "-n", n, "-d", "--", "/bin/sh", "-c", "echo to-nowhere; sleep 2; touch /done")
	if code != 0 || out != "" {
		t.Fatalf("lxc-execute -d: exit %d, stdout %q, stderr %q; want 0 and nothing", code, out, errs)
	}
	if took := time.Since(start); took > 1500*time.Millisecond {
		t.Errorf("lxc-execute -d took %v: it waited for the command", took)
	}
	if s := l.state(n); s != "RUNNING" {
		t.Errorf("after lxc-execute -d: state %s, want RUNNING", s)
	}
	// PID 1 is golxc's init, the command its child.
	if out := l.attach(n, "cat", "/proc/1/cmdline"); strings.Contains(out, "/bin/sh") {
		t.Errorf("lxc-execute -d: PID 1 is the command (%q), want golxc's init", out)
	}
	l.waitState(n, "STOPPED", 10*time.Second)
	if _, err := os.Stat(marker); err != nil {
		t.Errorf("lxc-execute -d: the command did not run to its end: %v", err)
	}
}

// lxc.log.file and lxc.log.level are honoured by lxc-start's monitor; -o
// and -l win over them.
func TestCompatLogConfig(t *testing.T) {
	l := newLab(t)
	confLog := filepath.Join(l.aux, "conf.log")
	n := l.createBusybox("lxc.log.file = "+confLog, "lxc.log.level = DEBUG")
	l.mustRun("lxc-start", "-n", n)
	l.waitState(n, "RUNNING", 10*time.Second)
	l.mustRun("lxc-stop", "-n", n, "-k")
	b, err := os.ReadFile(confLog)
	if err != nil || !strings.Contains(string(b), " DEBUG    ") {
		t.Fatalf("lxc.log.file %s at DEBUG: %q, %v; want debug lines", confLog, b, err)
	}
	os.Remove(confLog)
	// -l wins over lxc.log.level; the file is still the config's.
	l.mustRun("lxc-start", "-n", n, "-l", "ERROR")
	l.waitState(n, "RUNNING", 10*time.Second)
	l.mustRun("lxc-stop", "-n", n, "-k")
	if b, err := os.ReadFile(confLog); err != nil || strings.Contains(string(b), " DEBUG    ") || strings.Contains(string(b), " INFO     ") {
		t.Errorf("-l ERROR over lxc.log.level = DEBUG: %q, %v; want the file made, without debug or info lines", b, err)
	}
	os.Remove(confLog)
	// -o wins over lxc.log.file.
	cliLog := filepath.Join(l.aux, "cli.log")
	l.mustRun("lxc-start", "-n", n, "-o", cliLog)
	l.waitState(n, "RUNNING", 10*time.Second)
	l.mustRun("lxc-stop", "-n", n, "-k")
	// LXC's line: tool, container, time, level, module - file:function:line - message.
	if b, err := os.ReadFile(cliLog); err != nil || !regexp.MustCompile(`(?m)^lxc-start `+n+` \d{14}\.\d{3} DEBUG    \w+ - \w+/\w+\.go:\w+:\d+ - `).Match(b) {
		t.Errorf("-o %s: %q, %v; want the debug lines there (lxc.log.level still applies)", cliLog, b, err)
	}
	if _, err := os.Stat(confLog); !os.IsNotExist(err) {
		t.Errorf("-o given, yet lxc.log.file %s was written (%v)", confLog, err)
	}
}

// Flags of LXC 5.0 that golxc lacked: lxc-execute -u/-g, the last of
// lxc-start -d and -F winning, lxc-start --version's bare number.
func TestCompatToolFlags(t *testing.T) {
	l := newLab(t)
	n := l.createBusybox()
	out, errs, code := l.run("lxc-execute", "-n", n, "-u", "1000", "-g", "1001", "--", "/bin/sh", "-c", "id -u; id -g")
	if code != 0 || out != "1000\n1001\n" {
		t.Errorf("lxc-execute -u 1000 -g 1001 -- id: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	// -F then -d: -d wins, the tool returns with the container running.
	l.mustRun("lxc-start", "-n", n, "-F", "-d")
	l.waitState(n, "RUNNING", 10*time.Second)
	l.mustRun("lxc-stop", "-n", n, "-k")
	// The first line is LXC's bare version, which scripts read as
	// LXC's; golxc's own is on the second.
	if out, _, code := run(t, "lxc-start", "--version"); code != 0 || strings.Count(out, "\n") != 2 || strings.Contains(out, "version") || !regexp.MustCompile(`^\d+\.\d+\.\d+\ngolxc `).MatchString(out) {
		t.Errorf("lxc-start --version: exit %d %q, want the bare version, as LXC prints it, then golxc's", code, out)
	}
	if out, errs, code := run(t, "lxc-stop", "-?"); code != 0 || !strings.Contains(out, "lxc-stop") || errs != "" {
		t.Errorf("lxc-stop -?: exit %d, stdout %q, stderr %q; want the help", code, out, errs)
	}
}
