// Package test drives the built lxc-* binaries against real namespaces and
// cgroups. Every test has its own lxcpath, unique container names and a
// cleanup that kills, destroys and checks that no cgroup or monitor of its
// containers is left behind.
package test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// toolTimeout bounds every tool run: a hung tool fails its test instead of
// the whole suite.
const toolTimeout = 60 * time.Second

// requireRoot skips a test that needs root, except under CI=true where a
// skipped integration suite would hide a broken runner.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("needs root (CI=true: refusing to skip)")
	}
	t.Skip("needs root")
}

// requireBusybox fails when the static busybox the busybox template copies
// is missing: a missing package must not look like a golxc bug.
func requireBusybox(t *testing.T) {
	t.Helper()
	if _, err := os.Stat("/bin/busybox"); err != nil {
		t.Fatalf("/bin/busybox is missing (apt-get install -y busybox-static; .ci/run does it): %v", err)
	}
}

// binDir is where the tools are: $GOLXC_BIN, else <repo>/bin.
func binDir(t *testing.T) string {
	t.Helper()
	if d := os.Getenv("GOLXC_BIN"); d != "" {
		return d
	}
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot find the test's source file to locate the repo's bin/ (set GOLXC_BIN)")
	}
	return filepath.Join(filepath.Dir(file), "..", "bin")
}

// runOpts are the less common knobs of a tool run.
type runOpts struct {
	stdin   string   // fed to the tool; /dev/null when empty
	env     []string // added to the test's environment
	timeout time.Duration
}

// run executes GOLXC_BIN/tool with args, stdin from /dev/null.
func run(t *testing.T, tool string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return runWith(t, runOpts{}, tool, args...)
}

// runWith is run with options. A tool that times out, dies by a signal or
// leaves its output pipes open (a daemon that kept them) fails the test and
// returns code -1.
func runWith(t *testing.T, o runOpts, tool string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	if o.timeout == 0 {
		o.timeout = toolTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(binDir(t), tool), args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if o.stdin != "" {
		cmd.Stdin = strings.NewReader(o.stdin)
	} // nil Stdin is /dev/null
	cmd.Env = append(os.Environ(), o.env...)
	// A daemonizing tool (lxc-start -d) must not hand our pipes to the
	// monitor it leaves behind; WaitDelay turns that into an error, not a hang.
	cmd.WaitDelay = 10 * time.Second
	err := cmd.Run()
	stdout, stderr = out.String(), errb.String()
	line := tool + " " + shellJoin(args)
	switch {
	case ctx.Err() != nil:
		t.Errorf("%s: timed out after %v\nstdout: %s\nstderr: %s", line, o.timeout, stdout, stderr)
		return stdout, stderr, -1
	case errors.Is(err, exec.ErrWaitDelay):
		t.Errorf("%s: exited but its stdout/stderr stayed open (a leftover process holds them)\nstdout: %s\nstderr: %s", line, stdout, stderr)
		return stdout, stderr, cmd.ProcessState.ExitCode()
	case err == nil:
		return stdout, stderr, 0
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("%s: %v", line, err)
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		t.Errorf("%s: killed by %v\nstdout: %s\nstderr: %s", line, ws.Signal(), stdout, stderr)
		return stdout, stderr, -1
	}
	return stdout, stderr, ee.ExitCode()
}

// shellJoin renders args for messages, quoting what needs it.
func shellJoin(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\n'\"$;&|<>*?()\\") {
			q[i] = strconv.Quote(a)
		} else {
			q[i] = a
		}
	}
	return strings.Join(q, " ")
}

// lab is one test's lxcpath and the containers it made.
type lab struct {
	t    *testing.T
	path string // the lxcpath
	aux  string // a directory beside it for configs, logs, scripts
}

// newLab checks the prerequisites and makes a fresh lxcpath. Its removal
// is registered first, so it runs after every container's cleanup.
func newLab(t *testing.T) *lab {
	t.Helper()
	requireRoot(t)
	base, err := os.MkdirTemp("", "golxc-it-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	l := &lab{t: t, path: filepath.Join(base, "lxc"), aux: filepath.Join(base, "aux")}
	for _, d := range []string{l.path, l.aux} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	return l
}

// with returns the lab bound to a subtest's t, so its failures stop the
// subtest and not its parent.
func (l *lab) with(t *testing.T) *lab {
	c := *l
	c.t = t
	return &c
}

// newName returns a container name unique across the host, so cgroup
// checks never confuse our containers with anyone else's.
func newName(t *testing.T) string {
	t.Helper()
	b := make([]byte, 5)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "t" + hex.EncodeToString(b)
}

// run runs a tool with -P <lxcpath> first.
func (l *lab) run(tool string, args ...string) (string, string, int) {
	l.t.Helper()
	return runWith(l.t, runOpts{}, tool, append([]string{"-P", l.path}, args...)...)
}

// runWith is run with options.
func (l *lab) runWith(o runOpts, tool string, args ...string) (string, string, int) {
	l.t.Helper()
	return runWith(l.t, o, tool, append([]string{"-P", l.path}, args...)...)
}

// mustRun runs a tool and fails the test unless it exits 0.
func (l *lab) mustRunWith(o runOpts, tool string, args ...string) string {
	l.t.Helper()
	out, errs, code := l.runWith(o, tool, args...)
	if code != 0 {
		l.t.Fatalf("%v %s -P %s %s: exit %d\nstdout: %s\nstderr: %s", o.env, tool, l.path, strings.Join(args, " "), code, out, errs)
	}
	return out
}

func (l *lab) mustRun(tool string, args ...string) string {
	l.t.Helper()
	out, errs, code := l.run(tool, args...)
	if code != 0 {
		l.t.Fatalf("%s -P %s %s: exit %d, want 0\nstdout: %s\nstderr: %s", tool, l.path, shellJoin(args), code, out, errs)
	}
	return out
}

// writeFile writes content to a new file under the lab's aux dir.
func (l *lab) writeFile(name, content string, mode os.FileMode) string {
	l.t.Helper()
	p := filepath.Join(l.aux, name)
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		l.t.Fatal(err)
	}
	return p
}

// conf writes a container config (outside the lxcpath) with an empty
// network, the host's default config naming a bridge that does not exist,
// plus the given lines.
func (l *lab) conf(lines ...string) string {
	l.t.Helper()
	b := newName(l.t)
	return l.writeFile(b+".conf", strings.Join(append([]string{"lxc.net.0.type = empty"}, lines...), "\n")+"\n", 0o644)
}

// track registers the cleanup of container name: kill, destroy, then
// check that its cgroups and monitor are gone. Call it before anything
// that could create the container.
func (l *lab) track(name string) {
	t := l.t
	t.Helper()
	t.Cleanup(func() {
		run(t, "lxc-stop", "-P", l.path, "-n", name, "-k")
		run(t, "lxc-destroy", "-P", l.path, "-n", name, "-f", "-s")
		if _, err := os.Lstat(filepath.Join(l.path, name)); err == nil {
			t.Errorf("cleanup: lxc-destroy -f -s -P %s -n %s left %s behind", l.path, name, filepath.Join(l.path, name))
		}
		if left := waitNoCgroups(name, 2*time.Second); len(left) > 0 {
			t.Errorf("cleanup: cgroups of %s left after lxc-stop -k and lxc-destroy -f: %v", name, left)
		}
		for _, pid := range monitorPIDs(l.path, name) {
			t.Errorf("cleanup: monitor of %s (pid %d) still running after lxc-stop -k; killing it", name, pid)
			syscall.Kill(pid, syscall.SIGKILL)
		}
		// Its command socket, record and start request go with it.
		sock := strings.TrimSuffix(recordPath(l.path, name), ".run")
		for _, p := range []string{sock, sock + ".run", sock + ".req"} {
			if _, err := os.Lstat(p); err == nil {
				t.Errorf("cleanup: %s of %s left in the socket directory after lxc-stop -k and lxc-destroy -f", filepath.Base(p), name)
				os.Remove(p)
			}
		}
	})
}

// newContainer returns a fresh tracked name.
func (l *lab) newContainer() string {
	l.t.Helper()
	n := newName(l.t)
	l.track(n)
	return n
}

// createBusybox creates a tracked busybox container and returns its name.
func (l *lab) createBusybox(confLines ...string) string {
	l.t.Helper()
	requireBusybox(l.t)
	n := l.newContainer()
	l.mustRun("lxc-create", "-n", n, "-t", "busybox", "-f", l.conf(confLines...))
	return n
}

// startBusybox creates and starts a busybox container, waiting for RUNNING.
func (l *lab) startBusybox(startArgs ...string) string {
	l.t.Helper()
	n := l.createBusybox()
	l.mustRun("lxc-start", append([]string{"-n", n}, startArgs...)...)
	l.waitState(n, "RUNNING", 10*time.Second)
	return n
}

// state returns lxc-info -s's state word.
func (l *lab) state(name string) string {
	l.t.Helper()
	out, errs, code := l.run("lxc-info", "-n", name, "-s")
	if code != 0 {
		l.t.Fatalf("lxc-info -P %s -n %s -s: exit %d\nstdout: %s\nstderr: %s", l.path, name, code, out, errs)
	}
	f := strings.Fields(out)
	if len(f) != 2 || f[0] != "State:" {
		l.t.Fatalf("lxc-info -n %s -s: want \"State: X\", got %q", name, out)
	}
	return f[1]
}

// waitState polls lxc-info -s until the container is in state.
func (l *lab) waitState(name, state string, timeout time.Duration) {
	l.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		got := l.state(name)
		if got == state {
			return
		}
		if time.Now().After(deadline) {
			l.t.Fatalf("container %s: state %s after %v, want %s", name, got, timeout, state)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// initPID returns lxc-info -p's pid (0 when it prints none).
func (l *lab) initPID(name string) int {
	l.t.Helper()
	out, errs, code := l.run("lxc-info", "-n", name, "-p")
	if code != 0 {
		l.t.Fatalf("lxc-info -P %s -n %s -p: exit %d\nstdout: %s\nstderr: %s", l.path, name, code, out, errs)
	}
	f := strings.Fields(out)
	if len(f) == 0 {
		return 0
	}
	if len(f) != 2 || f[0] != "PID:" {
		l.t.Fatalf("lxc-info -n %s -p: want \"PID: N\", got %q", name, out)
	}
	pid, err := strconv.Atoi(f[1])
	if err != nil || pid <= 0 {
		l.t.Fatalf("lxc-info -n %s -p: bad pid in %q", name, out)
	}
	return pid
}

// statePID reads the state and init pid in one lxc-info call, so the two
// describe the same moment (pid 0 when none).
func (l *lab) statePID(name string) (string, int) {
	l.t.Helper()
	out, errs, code := l.run("lxc-info", "-n", name, "-s", "-p")
	if code != 0 {
		l.t.Fatalf("lxc-info -P %s -n %s -s -p: exit %d\nstdout: %s\nstderr: %s", l.path, name, code, out, errs)
	}
	state, pid := "", 0
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) == 2 && f[0] == "State:":
			state = f[1]
		case len(f) == 2 && f[0] == "PID:":
			pid, _ = strconv.Atoi(f[1])
		}
	}
	if state == "" {
		l.t.Fatalf("lxc-info -n %s -s -p: no State line in %q", name, out)
	}
	return state, pid
}

// waitRestarted polls until the container is RUNNING with an init other
// than old, and returns the new init's pid.
func (l *lab) waitRestarted(name string, old int, timeout time.Duration, after string) int {
	l.t.Helper()
	var state string
	var pid int
	if !waitFor(timeout, func() bool {
		state, pid = l.statePID(name)
		return state == "RUNNING" && pid > 0 && pid != old
	}) {
		l.t.Fatalf("%s: state %s, init %d (was %d) after %v, want RUNNING with a new init", after, state, pid, old, timeout)
	}
	return pid
}

// attach runs lxc-attach -n name -- cmd... and fails unless it exits 0.
func (l *lab) attach(name string, cmd ...string) string {
	l.t.Helper()
	return l.mustRun("lxc-attach", append([]string{"-n", name, "--"}, cmd...)...)
}

// assertEmptyLXCPath checks that a failed command left nothing at all,
// hidden temp dirs included, in the lxcpath.
func (l *lab) assertEmptyLXCPath(what string) {
	l.t.Helper()
	ents, err := os.ReadDir(l.path)
	if err != nil {
		l.t.Fatal(err)
	}
	if len(ents) > 0 {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		l.t.Errorf("%s: left %v in the lxcpath %s, want nothing", what, names, l.path)
	}
}

// cgroupDirs lists the cgroups golxc made for name in every hierarchy,
// including the "-N" suffixed ones of a name already in use.
func cgroupDirs(name string) []string {
	var dirs []string
	for _, kind := range []string{"payload", "monitor"} {
		for _, pat := range []string{"lxc.%s.%s", "lxc.%s.%s-[0-9]*"} {
			m, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup/*", fmt.Sprintf(pat, kind, name)))
			dirs = append(dirs, m...)
		}
	}
	return dirs
}

// waitNoCgroups waits for name's cgroups to vanish and returns those left.
func waitNoCgroups(name string, timeout time.Duration) []string {
	deadline := time.Now().Add(timeout)
	for {
		left := cgroupDirs(name)
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// assertNoCgroups fails the test if name's cgroups outlive ~2s.
func assertNoCgroups(t *testing.T, name, after string) {
	t.Helper()
	if left := waitNoCgroups(name, 2*time.Second); len(left) > 0 {
		t.Errorf("after %s: cgroups of %s remain: %v", after, name, left)
	}
}

// monitorPIDs finds the monitors of lxcpath/name: by their title,
// "[lxc monitor] <lxcpath> <name>", else the live monitor golxc's record
// of the container names (the lxcpath's shared monitor, the default).
func monitorPIDs(lxcpath, name string) []int {
	pids := titledMonitors(lxcpath, name)
	if len(pids) == 0 {
		if m := recordMonitor(lxcpath, name); m > 0 {
			pids = append(pids, m)
		}
	}
	return pids
}

// recordPath is golxc's record of the monitor of lxcpath/name, beside its
// command socket (monitor.RecordPath).
func recordPath(lxcpath, name string) string {
	h := fnv.New128a()
	h.Write([]byte(filepath.Clean(lxcpath) + "/" + name))
	return filepath.Join("/run/golxc/sock", hex.EncodeToString(h.Sum(nil))) + ".run"
}

// recordMonitor is the pid of the live monitor the record of
// lxcpath/name names; 0 when there is no record or that monitor is dead.
func recordMonitor(lxcpath, name string) int {
	b, err := os.ReadFile(recordPath(lxcpath, name))
	if err != nil {
		return 0
	}
	var r struct {
		Monitor struct {
			Pid   int    `json:"pid"`
			Start uint64 `json:"start"`
		} `json:"monitor"`
	}
	if json.Unmarshal(b, &r) != nil || r.Monitor.Pid <= 0 || pidGone(r.Monitor.Pid, r.Monitor.Start) || !alive(r.Monitor.Pid) {
		return 0
	}
	return r.Monitor.Pid
}

// titledMonitors finds the per-container monitors of lxcpath/name by
// their title.
func titledMonitors(lxcpath, name string) []int {
	want := "[lxc monitor] " + lxcpath + " " + name
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		cmdline := strings.TrimRight(strings.ReplaceAll(string(b), "\x00", " "), " ")
		if cmdline == want || strings.HasPrefix(cmdline, want+" ") {
			pids = append(pids, pid)
		}
	}
	return pids
}

// alive reports whether pid is a live, non-zombie process.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && len(s) > i+2 && s[i+2] != 'Z'
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// readTrim reads a file and trims its trailing whitespace.
func readTrim(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return strings.TrimSpace(string(b))
}

// syncBuffer is a bytes.Buffer a running command may write while the test
// reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
