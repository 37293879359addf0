package test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/golxc/golxc/internal/monitor"
)

// toolResult is one tool run of a concurrent batch.
type toolResult struct {
	what      string
	out, errs string
	code      int
}

// runAll runs every command (tool first) with at most par at a time (0:
// all at once) and returns their results in order.
func (l *lab) runAll(par int, cmds [][]string) []toolResult {
	l.t.Helper()
	if par <= 0 {
		par = len(cmds)
	}
	res := make([]toolResult, len(cmds))
	sem := make(chan struct{}, par)
	var wg sync.WaitGroup
	for i, c := range cmds {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			r := &res[i]
			r.what = fmt.Sprintf("%s -P %s %s", c[0], l.path, shellJoin(c[1:]))
			r.out, r.errs, r.code = l.runWith(runOpts{timeout: 2 * time.Minute}, c[0], c[1:]...)
		})
	}
	wg.Wait()
	return res
}

// failed reports the runs of res that did not exit 0, up to a few.
func failed(t *testing.T, res []toolResult, context string) {
	t.Helper()
	bad := 0
	for _, r := range res {
		if r.code == 0 {
			continue
		}
		if bad++; bad <= 5 {
			t.Errorf("%s: %s: exit %d, want 0\nstdout: %s\nstderr: %s", context, r.what, r.code, r.out, r.errs)
		}
	}
	if bad > 5 {
		t.Errorf("%s: %d of %d runs failed in all", context, bad, len(res))
	}
}

// TestLoadAttachInfo: 100 lxc-attach and 100 lxc-info at once against one
// container all succeed, and leave it as it was.
func TestLoadAttachInfo(t *testing.T) {
	t.Parallel()
	l := newRelLab(t)
	n := l.startBusybox()
	pid := l.initPID(n)
	mon := monitorPIDs(l.path, n)[0]
	fds := fdCount(mon)
	var cmds [][]string
	for i := range 200 {
		if i%2 == 0 {
			cmds = append(cmds, []string{"lxc-attach", "-n", n, "--", "/bin/true"})
		} else {
			cmds = append(cmds, []string{"lxc-info", "-n", n})
		}
	}
	res := l.runAll(0, cmds)
	failed(t, res, "100 lxc-attach and 100 lxc-info at once")
	for _, r := range res {
		if strings.HasPrefix(r.what, "lxc-info") && r.code == 0 && !strings.Contains(r.out, "RUNNING") {
			t.Errorf("%s under load: %q, want RUNNING", r.what, r.out)
			break
		}
	}
	if s, p := l.statePID(n); s != "RUNNING" || p != pid {
		t.Errorf("after 200 concurrent clients: %s is %s with init %d, want RUNNING with init %d", n, s, p, pid)
	}
	assertFDsBack(t, mon, fds, "100 lxc-attach and 100 lxc-info")
	// No attached process outlives its lxc-attach.
	procs := readTrim(t, "/sys/fs/cgroup/pids/lxc.payload."+n+"/cgroup.procs")
	for _, p := range strings.Fields(procs) {
		if pid, _ := strconv.Atoi(p); strings.Contains(cmdline(pid), "true") {
			t.Errorf("after 100 lxc-attach -- /bin/true: pid %s (%q) is still in the container", p, cmdline(pid))
		}
	}
	l.mustRun("lxc-stop", "-n", n, "-k")
	assertNoCgroups(t, n, "load, then lxc-stop -k")
}

// TestLoadParallelContainers: 50 containers started at once all run, and
// all stop and go cleanly.
func TestLoadParallelContainers(t *testing.T) {
	t.Parallel()
	requireBusybox(t)
	l := newRelLab(t)
	conf := l.conf()
	names := make([]string, 50)
	var create, start, info, stop, destroy [][]string
	for i := range names {
		names[i] = l.newContainer()
		create = append(create, []string{"lxc-create", "-n", names[i], "-t", "busybox", "-f", conf})
		start = append(start, []string{"lxc-start", "-n", names[i]})
		info = append(info, []string{"lxc-info", "-n", names[i], "-s", "-p"})
		stop = append(stop, []string{"lxc-stop", "-n", names[i], "-t", "30"})
		destroy = append(destroy, []string{"lxc-destroy", "-n", names[i]})
	}
	t0 := time.Now()
	phase := func(what string) {
		t.Logf("%s: %v", what, time.Since(t0).Round(time.Millisecond))
		t0 = time.Now()
	}
	failed(t, l.runAll(4, create), "50 lxc-create, 4 at a time")
	phase("50 lxc-create, 4 at a time")
	if t.Failed() {
		t.FailNow()
	}
	failed(t, l.runAll(0, start), "50 lxc-start at once")
	phase("50 lxc-start at once")
	res := l.runAll(0, info)
	failed(t, res, "lxc-info of 50 started containers")
	for _, r := range res {
		if r.code == 0 && !strings.Contains(r.out, "RUNNING") {
			t.Errorf("%s after 50 parallel starts: %q, want RUNNING", r.what, r.out)
		}
	}
	for _, n := range names {
		if m := monitorPIDs(l.path, n); len(m) != 1 {
			t.Errorf("after 50 parallel starts: %s has monitors %v, want one", n, m)
		}
	}
	failed(t, l.runAll(0, stop), "50 clean lxc-stop at once")
	phase("50 clean lxc-stop at once")
	failed(t, l.runAll(0, destroy), "50 lxc-destroy at once")
	phase("50 lxc-destroy at once")
	for _, n := range names {
		if _, err := os.Lstat(filepath.Join(l.path, n)); err == nil {
			t.Errorf("after 50 lxc-destroy: %s is still there", n)
		}
		assertNoCgroups(t, n, "50 parallel stops and destroys")
		if m := monitorPIDs(l.path, n); len(m) > 0 {
			t.Errorf("after 50 parallel stops: %s still has monitors %v", n, m)
		}
	}
	l.assertEmptyLXCPath("50 parallel destroys")
}

// monitorAddr is a container's command socket (README: a file under
// /run/golxc/sock, named by a hash of lxcpath and name).
func monitorAddr(t *testing.T, lxcpath, name string) string {
	t.Helper()
	return monitor.SocketPath(lxcpath, name)
}

// TestMonitorGarbageClient: clients that send garbage, hang up mid-request,
// flood or idle do not stop the monitor serving the others, nor its
// container.
func TestMonitorGarbageClient(t *testing.T) {
	t.Parallel()
	l := newRelLab(t)
	n := l.startBusybox()
	pid := l.initPID(n)
	addr := monitorAddr(t, l.path, n)
	mon := monitorPIDs(l.path, n)[0]
	fds := fdCount(mon)
	dial := func(t *testing.T) net.Conn {
		t.Helper()
		c, err := net.Dial("unix", addr)
		if err != nil {
			t.Fatalf("dial %s: %v", addr, err)
		}
		c.SetDeadline(time.Now().Add(20 * time.Second))
		return c
	}
	random := make([]byte, 8192)
	rand.Read(random)
	huge := bytes.Repeat([]byte("x"), 1<<20)

	cases := []struct {
		name string
		talk func(t *testing.T, c net.Conn)
	}{
		{"connect and hang up", func(t *testing.T, c net.Conn) {}},
		{"random bytes", func(t *testing.T, c net.Conn) { c.Write(append(random, '\n')) }},
		{"random bytes, no newline, hang up", func(t *testing.T, c net.Conn) { c.Write(random) }},
		{"NUL bytes and invalid UTF-8", func(t *testing.T, c net.Conn) { c.Write([]byte("\x00\x00\xff\xfe{\"cmd\":\"st\xffate\"}\n")) }},
		{"half a request, hang up", func(t *testing.T, c net.Conn) { c.Write([]byte(`{"v":1,"cmd":"sta`)) }},
		{"wrong types", func(t *testing.T, c net.Conn) {
			c.Write([]byte(`{"v":"1","cmd":5,"signal":"x","states":7}` + "\n"))
			readAnswer(c)
		}},
		{"unknown command", func(t *testing.T, c net.Conn) {
			c.Write([]byte(`{"v":1,"cmd":"selfdestruct"}` + "\n"))
			readAnswer(c)
		}},
		{"future version", func(t *testing.T, c net.Conn) {
			c.Write([]byte(`{"v":99999,"cmd":"state"}` + "\n"))
			readAnswer(c)
		}},
		{"deep JSON", func(t *testing.T, c net.Conn) {
			c.Write([]byte(strings.Repeat("[", 30000) + "\n"))
			readAnswer(c)
		}},
		{"a 1 MiB line", func(t *testing.T, c net.Conn) { c.Write(append(huge, '\n')) }},
		{"a wait, then hang up", func(t *testing.T, c net.Conn) {
			c.Write([]byte(`{"v":1,"cmd":"wait","states":["FROZEN"]}` + "\n"))
			time.Sleep(50 * time.Millisecond)
		}},
		{"a wait, half-close", func(t *testing.T, c net.Conn) {
			c.Write([]byte(`{"v":1,"cmd":"wait","states":["FROZEN"],"timeout_ms":100000}` + "\n"))
			c.(*net.UnixConn).CloseWrite()
			time.Sleep(50 * time.Millisecond)
		}},
		{"1000 requests, answers never read", func(t *testing.T, c net.Conn) {
			c.Write(bytes.Repeat([]byte(`{"v":1,"cmd":"state"}`+"\n"), 1000))
		}},
		{"a pidfd request, answer never read", func(t *testing.T, c net.Conn) {
			c.Write([]byte(`{"v":1,"cmd":"pidfd"}` + "\n"))
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := l.with(t)
			conn := dial(t)
			c.talk(t, conn)
			conn.Close()
			if s, p := l.statePID(n); s != "RUNNING" || p != pid {
				t.Errorf("after a client did %q: lxc-info -n %s says %s/%d, want RUNNING/%d", c.name, n, s, p, pid)
			}
		})
	}

	// Many idle clients at once do not starve the others.
	var idle []net.Conn
	for range 200 {
		idle = append(idle, dial(t))
	}
	if s, p := l.statePID(n); s != "RUNNING" || p != pid {
		t.Errorf("with 200 idle clients connected: lxc-info -n %s says %s/%d, want RUNNING/%d", n, s, p, pid)
	}
	l.attach(n, "/bin/true")
	for _, c := range idle {
		c.Close()
	}
	assertFDsBack(t, mon, fds, "the garbage and idle clients hung up")
	if m := monitorPIDs(l.path, n); len(m) != 1 {
		t.Errorf("after the garbage clients: monitors %v, want one", m)
	}
	l.mustRun("lxc-stop", "-n", n, "-k")
	assertNoCgroups(t, n, "garbage clients, then lxc-stop -k")
}

// readAnswer reads (and drops) one answer line, up to the deadline.
func readAnswer(c net.Conn) {
	buf := make([]byte, 1)
	for {
		if n, err := c.Read(buf); err != nil || n == 0 || buf[0] == '\n' {
			return
		}
	}
}

// fdCount is how many descriptors pid has open (-1 when it is gone).
func fdCount(pid int) int {
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return -1
	}
	return len(ents)
}

// assertFDsBack waits for the monitor's descriptor count to return to
// before (connections close asynchronously) and fails if it does not.
func assertFDsBack(t *testing.T, mon, before int, after string) {
	t.Helper()
	var now int
	if !waitFor(5*time.Second, func() bool { now = fdCount(mon); return now <= before }) {
		ents, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", mon))
		var targets []string
		for _, e := range ents {
			l, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", mon, e.Name()))
			targets = append(targets, e.Name()+"->"+l)
		}
		t.Errorf("after %s: the monitor (pid %d) has %d descriptors open, was %d: %v", after, mon, now, before, targets)
	}
}

// TestMonitorWedged: a monitor that does not answer (SIGSTOP) makes the
// tools fail in bounded time, not hang, and not lie about the state.
func TestMonitorWedged(t *testing.T) {
	t.Parallel()
	l := newRelLab(t)
	n := l.startBusybox()
	m := monitorPIDs(l.path, n)
	if len(m) != 1 {
		t.Fatalf("want one monitor of %s, got %v", n, m)
	}
	mon := m[0]
	if err := syscall.Kill(mon, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	// The stop takes effect once every thread of the monitor has come
	// back to user space (one in an uninterruptible system call finishes
	// it first): the tools are run once it has.
	if !waitFor(10*time.Second, func() bool {
		tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/status", mon))
		for _, f := range tasks {
			if b, _ := os.ReadFile(f); !strings.Contains(string(b), "State:\tT") {
				return false
			}
		}
		return len(tasks) > 0
	}) {
		t.Fatalf("the monitor %d of %s did not stop on SIGSTOP", mon, n)
	}
	continued := false
	t.Cleanup(func() {
		if !continued {
			syscall.Kill(mon, syscall.SIGCONT)
		}
	})
	var (
		mu   sync.Mutex
		bugs []string
	)
	bug := func(s string) {
		mu.Lock()
		defer mu.Unlock()
		bugs = append(bugs, s)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		out, errs, code := l.runWith(runOpts{timeout: 30 * time.Second}, "lxc-info", "-n", n)
		if code == 0 || code == -1 || len(nonEmptyLines(errs)) != 1 {
			t.Errorf("lxc-info -P %s -n %s with its monitor stopped: exit %d, want a failure with one line on stderr\nstdout: %s\nstderr: %s", l.path, n, code, out, errs)
		}
	})
	wg.Go(func() {
		out, errs, code := l.runWith(runOpts{timeout: 30 * time.Second}, "lxc-ls", "-f")
		for _, line := range strings.Split(out, "\n") {
			if f := strings.Fields(line); len(f) > 1 && f[0] == n && f[1] == "STOPPED" {
				bug(fmt.Sprintf("lxc-ls -f (exit %d, stderr %q) lists %s as STOPPED while its init runs under a monitor that does not answer", code, errs, n))
			}
		}
	})
	wg.Go(func() {
		out, errs, code := l.runWith(runOpts{timeout: 30 * time.Second}, "lxc-start", "-n", n)
		if code == -1 || (code != 0 && len(nonEmptyLines(errs)) != 1) {
			t.Errorf("lxc-start -P %s -n %s with its monitor stopped: exit %d, want an answer (one line if a failure)\nstdout: %s\nstderr: %s", l.path, n, code, out, errs)
		}
	})
	wg.Go(func() {
		// lxc-stop -t 2 is bounded by its own timeout, whatever the
		// monitor does: give it 20s.
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, filepath.Join(binDir(t), "lxc-stop"), "-P", l.path, "-n", n, "-t", "2")
		out, _ := cmd.CombinedOutput()
		if ctx.Err() != nil {
			bug(fmt.Sprintf("lxc-stop -P %s -n %s -t 2 with its monitor stopped: still waiting after 20s (output %q)", l.path, n, out))
		}
	})
	wg.Wait()
	if len(monitorPIDs(l.path, n)) != 1 {
		t.Errorf("with its monitor stopped, lxc-start -n %s made a second one: %v", n, monitorPIDs(l.path, n))
	}
	syscall.Kill(mon, syscall.SIGCONT)
	continued = true
	// The monitor serves again (the stop above may have reached it).
	if s := l.state(n); s != "RUNNING" && s != "STOPPING" && s != "STOPPED" {
		t.Errorf("lxc-info -n %s once its monitor continues: state %s", n, s)
	}
	if _, errs, code := l.run("lxc-stop", "-n", n, "-k"); code != 0 && code != 2 {
		t.Errorf("lxc-stop -n %s -k once its monitor continues: exit %d (%q), want 0 or 2", n, code, errs)
	}
	l.waitState(n, "STOPPED", 10*time.Second)
	if len(bugs) > 0 {
		knownBug(t, strings.Join(bugs, "; "))
	}
}
