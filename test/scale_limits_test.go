package test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// A shared monitor started under a small nofile limit (it keeps what its
// first starter had when it may not raise it to PID 1's) refuses a start
// while it still has room to serve the containers it runs: one line naming
// RLIMIT_NOFILE, at once (it was "does not answer" after 10 s of spawning
// new monitors), and those running are still listed and stopped.
func TestSharedMonitorFDLimit(t *testing.T) {
	t.Parallel()
	requireBusybox(t)
	l := newLab(t)
	const limit = 100
	names := make([]string, 10)
	for i := range names {
		names[i] = l.createBusybox()
	}
	first := exec.Command("prlimit", "--nofile="+strconv.Itoa(limit)+":"+strconv.Itoa(limit), "--",
		filepath.Join(binDir(t), "lxc-start"), "-P", l.path, "-n", names[0])
	if out, err := first.CombinedOutput(); err != nil {
		t.Fatalf("prlimit --nofile=%d lxc-start -n %s: %v: %s", limit, names[0], err, out)
	}
	mons := sharedMonitors(l.path)
	if len(mons) != 1 {
		t.Fatalf("shared monitors of %s: %v, want one", l.path, mons)
	}
	got := nofile(t, mons[0])
	if got != limit {
		// It raised its limit to PID 1's (CAP_SYS_RESOURCE in its
		// bounding set), as it should: no refusal to see here.
		if want := nofile(t, 1); got < want {
			t.Errorf("shared monitor's nofile limit %d: neither the %d it was started with nor PID 1's %d", got, limit, want)
		}
		return
	}
	started := 1
	for _, n := range names[1:] {
		_, errs, code := l.run("lxc-start", "-n", n)
		if code == 0 {
			started++
			continue
		}
		if code != 1 || !strings.Contains(errs, "RLIMIT_NOFILE") || strings.Count(strings.TrimSpace(errs), "\n") > 0 {
			t.Errorf("lxc-start -n %s refused at %d running: exit %d, %q; want exit 1 and one line naming RLIMIT_NOFILE", n, started, code, errs)
		}
		break
	}
	t.Logf("%d started under a nofile limit of %d before the refusal", started, limit)
	if started == len(names) {
		t.Fatalf("all %d started under a nofile limit of %d: nothing refused", started, limit)
	}
	if m := sharedMonitors(l.path); len(m) != 1 || m[0] != mons[0] {
		t.Errorf("after the refusal: shared monitors %v, want only %d", m, mons[0])
	}
	table := l.mustRun("lxc-ls", "-f", "-F", "NAME,STATE")
	state := map[string]string{}
	for _, line := range strings.Split(table, "\n") {
		if f := strings.Fields(line); len(f) == 2 {
			state[f[0]] = f[1]
		}
	}
	for _, n := range names[:started] {
		if state[n] != "RUNNING" {
			t.Errorf("lxc-ls -f at the limit: %s is %q, want RUNNING:\n%s", n, state[n], table)
		}
	}
	for _, n := range names[:started] {
		l.mustRun("lxc-stop", "-k", "-n", n)
	}
}

// nofile is pid's soft RLIMIT_NOFILE, from /proc/PID/limits.
func nofile(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/limits")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "Max open files"); ok {
			n, err := strconv.Atoi(strings.Fields(rest)[0])
			if err != nil {
				t.Fatalf("/proc/%d/limits: %q", pid, line)
			}
			return n
		}
	}
	t.Fatalf("/proc/%d/limits has no Max open files", pid)
	return 0
}
