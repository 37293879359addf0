package test

import (
	"fmt"
	"os"
	"path/filepath"
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
		// -s implies -e (lxc-attach(1)).
		if capb, _ = status(t, "-s", "MOUNT|PID|UTSNAME|IPC|NETWORK|CGROUP"); capb != hostBounding {
			t.Errorf("-s (all namespaces): CapBnd %s, want the host's %s: -s implies -e", capb, hostBounding)
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
