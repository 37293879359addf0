package test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// asRecorder is a directory of the lab's bound into each autostart
// container, whose start hook appends its name to start as it comes up
// and whose init appends it to stop when it is asked to halt (the busybox
// template's lxc.signal.halt is SIGUSR1; TERM and PWR are trapped too):
// the order of the lines is the order in which lxc-autostart acted.
type asRecorder struct{ dir string }

func newASRecorder(l *lab) *asRecorder {
	l.t.Helper()
	d := filepath.Join(l.aux, "rec")
	if err := os.MkdirAll(d, 0o755); err != nil {
		l.t.Fatal(err)
	}
	return &asRecorder{dir: d}
}

// create makes a busybox container whose init records its start and
// halt, with the given autostart lines.
func (r *asRecorder) create(l *lab, lines ...string) string {
	l.t.Helper()
	n := l.newContainer()
	script := fmt.Sprintf("trap 'echo %[1]s >>/rec/stop; exit 0' TERM USR1 PWR; while :; do sleep 1 & wait; done", n)
	conf := append([]string{
		"lxc.mount.entry = " + r.dir + " rec none bind,create=dir 0 0",
		// The start is recorded by the start hook, which runs before the
		// container is RUNNING (lxc-start's return): a line init wrote
		// could come after the next level's under load.
		"lxc.hook.start = echo " + n + " >>/rec/start; :",
		"lxc.init.cmd = /bin/sh -c \"" + script + "\"",
	}, lines...)
	requireBusybox(l.t)
	l.mustRun("lxc-create", "-n", n, "-t", "busybox", "-f", l.conf(conf...))
	return n
}

// lines returns the names recorded in file (start or stop), waiting a
// little for want of them (an init writes its line as it starts).
func (r *asRecorder) lines(t *testing.T, file string, want int) []string {
	t.Helper()
	var got []string
	waitFor(5*time.Second, func() bool {
		b, _ := os.ReadFile(filepath.Join(r.dir, file))
		got = strings.Fields(string(b))
		return len(got) >= want
	})
	return got
}

func (r *asRecorder) reset(t *testing.T) {
	for _, f := range []string{"start", "stop"} {
		if err := os.Remove(filepath.Join(r.dir, f)); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
}

// assertLevels checks that got holds the names of levels, each level's
// in any order (they start together) but the levels one after the other.
func assertLevels(t *testing.T, what string, got []string, levels ...[]string) {
	t.Helper()
	var want int
	for _, lv := range levels {
		want += len(lv)
	}
	if len(got) != want {
		t.Fatalf("%s: recorded %v, want the levels %v", what, got, levels)
	}
	i := 0
	for _, lv := range levels {
		part := slices.Clone(got[i : i+len(lv)])
		slices.Sort(part)
		exp := slices.Sorted(slices.Values(lv))
		if !slices.Equal(part, exp) {
			t.Fatalf("%s: recorded %v, want the levels %v (in that order)", what, got, levels)
		}
		i += len(lv)
	}
}

func TestAutostartOrderDelayGroupsStop(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	r := newASRecorder(l)
	// Order -1 < 0 < 5; a delay after first; b2 and b3 share order 5.
	first := r.create(l, "lxc.start.auto = 1", "lxc.start.order = -1", "lxc.start.delay = 1")
	mid := r.create(l, "lxc.start.auto = 1")
	b2 := r.create(l, "lxc.start.auto = 1", "lxc.start.order = 5")
	b3 := r.create(l, "lxc.start.auto = 1", "lxc.start.order = 5")
	boot := r.create(l, "lxc.start.auto = 1", "lxc.group = onboot", "lxc.start.order = 9")
	web := r.create(l, "lxc.start.auto = 1", "lxc.group = web")
	off := r.create(l, "lxc.start.order = 3")

	// No -g: the containers with no group and lxc.start.auto only.
	l.mustRun("lxc-autostart")
	assertLevels(t, "lxc-autostart", r.lines(t, "start", 4), []string{first}, []string{mid}, []string{b2, b3})
	for _, n := range []string{boot, web, off} {
		if st := l.state(n); st != "STOPPED" {
			t.Errorf("%s (onboot, web or no lxc.start.auto): %s after lxc-autostart, want STOPPED", n, st)
		}
	}
	// Again: the running ones are left alone, the start list is empty.
	if out := l.mustRun("lxc-autostart", "-L"); out != "" {
		t.Errorf("lxc-autostart -L with all of them running: %q, want nothing", out)
	}
	// The onboot group first, then the NULL group (the boot unit's -g).
	r.reset(t)
	l.mustRun("lxc-autostart", "-k")
	r.reset(t)
	l.mustRun("lxc-autostart", "-g", "onboot,")
	assertLevels(t, "lxc-autostart -g onboot,", r.lines(t, "start", 5), []string{boot}, []string{first}, []string{mid}, []string{b2, b3})
	if st := l.state(web); st != "STOPPED" {
		t.Errorf("%s (web): %s after -g onboot,, want STOPPED", web, st)
	}
	// -s: down in the reverse order, every group with -a.
	want := fmt.Sprintf("%s\n%s\n%s\n%s\n%s\n", b3, b2, mid, first, boot)
	if b2 > b3 {
		want = fmt.Sprintf("%s\n%s\n%s\n%s\n%s\n", b2, b3, mid, first, boot)
	}
	// -a takes one pass: boot (order 9) goes first down.
	wantA := boot + "\n" + strings.TrimSuffix(want, boot+"\n")
	if out := l.mustRun("lxc-autostart", "-L", "-s", "-a"); out != wantA {
		t.Errorf("lxc-autostart -L -s -a: %q, want %q", out, wantA)
	}
	l.mustRun("lxc-autostart", "-s", "-a", "-t", "20")
	assertLevels(t, "lxc-autostart -s -a", r.lines(t, "stop", 5), []string{boot}, []string{b2, b3}, []string{mid}, []string{first})
	for _, n := range []string{first, mid, b2, b3, boot, web, off} {
		if st := l.state(n); st != "STOPPED" {
			t.Errorf("%s: %s after lxc-autostart -s -a, want STOPPED", n, st)
		}
		assertNoCgroups(t, n, "lxc-autostart -s -a")
	}
	// -A -a: every container, lxc.start.auto or not; -k kills them all.
	r.reset(t)
	l.mustRun("lxc-autostart", "-a", "-A")
	r.lines(t, "start", 7)
	l.mustRun("lxc-autostart", "-k", "-a", "-A")
	for _, n := range []string{first, mid, b2, b3, boot, web, off} {
		if st := l.state(n); st != "STOPPED" {
			t.Errorf("%s: %s after lxc-autostart -k -a -A, want STOPPED", n, st)
		}
		assertNoCgroups(t, n, "lxc-autostart -k -a -A")
	}
	if b, _ := os.ReadFile(filepath.Join(r.dir, "stop")); len(b) != 0 {
		t.Errorf("lxc-autostart -k: the containers were asked to halt (%q), want a kill", b)
	}
}

// TestAutostartFailure: a container that cannot start is named on stderr
// and makes the exit 2, as LXC's; the others still start.
func TestAutostartFailure(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	r := newASRecorder(l)
	good := r.create(l, "lxc.start.auto = 1", "lxc.start.order = 2")
	bad := r.create(l, "lxc.start.auto = 1", "lxc.start.order = 1")
	if err := os.RemoveAll(filepath.Join(l.path, bad, "rootfs")); err != nil {
		t.Fatal(err)
	}
	_, errs, code := l.run("lxc-autostart")
	if code != 2 || !strings.Contains(errs, bad) || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
		t.Errorf("lxc-autostart with %s broken: exit %d, stderr %q; want exit 2 and one line naming it", bad, code, errs)
	}
	if st := l.state(good); st != "RUNNING" {
		t.Errorf("%s: %s, want RUNNING after another container failed", good, st)
	}
	if _, _, code := l.run("lxc-autostart", "extra"); code != 1 {
		t.Errorf("lxc-autostart extra: exit %d, want 1", code)
	}
	if _, _, code := l.run("lxc-autostart", "-s", "-t", "-5"); code != 1 {
		t.Errorf("lxc-autostart -s -t -5: exit %d, want 1", code)
	}
}

// TestAutostartListLikeLXC compares -L with Debian's lxc-autostart on the
// same containers (configs only: nothing runs), for the selections where
// golxc means to agree with LXC 5.0.2.
func TestAutostartListLikeLXC(t *testing.T) {
	if _, err := os.Stat("/usr/bin/lxc-autostart"); err != nil {
		t.Skip("Debian's lxc-autostart is not installed")
	}
	t.Parallel()
	l := newLab(t)
	mk := func(name string, lines ...string) {
		d := filepath.Join(l.path, name)
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		conf := append([]string{"lxc.uts.name = " + name, "lxc.net.0.type = empty", "lxc.rootfs.path = dir:" + d + "/rootfs"}, lines...)
		if err := os.WriteFile(filepath.Join(d, "config"), []byte(strings.Join(conf, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mk("a", "lxc.start.auto = 1", "lxc.start.order = 5", "lxc.start.delay = 0")
	mk("b", "lxc.start.auto = 1", "lxc.start.order = 1", "lxc.start.delay = 2")
	mk("c", "lxc.start.auto = 1", "lxc.start.order = 10")
	mk("d", "lxc.start.auto = 1", "lxc.group = onboot", "lxc.start.order = 3")
	mk("e", "lxc.start.auto = 1", "lxc.group = web", "lxc.group = onboot")
	mk("f", "lxc.start.auto = 0", "lxc.start.order = 7")
	mk("g", "lxc.start.order = 2")
	mk("h", "lxc.start.auto = 1", "lxc.group = web", "lxc.start.delay = 1")
	mk("aa", "lxc.start.auto = 1", "lxc.start.order = 5")
	mk("ab", "lxc.start.auto = 1", "lxc.start.order = -5")
	for _, args := range [][]string{{}, {"-a"}, {"-A"}, {"-a", "-A"}, {"-g", "onboot"}, {"-g", "onboot,"},
		{"-g", "web,onboot"}, {"-g", "web", "-g", ""}, {"-g", "web,"}, {"-g", "nosuch"}, {"-s"}, {"-k", "-a"}, {"-r", "-A"}} {
		args = append([]string{"-L"}, args...)
		want, wcode := debianLXC(t, "lxc-autostart", append([]string{"-P", l.path}, args...)...)
		got, errs, code := l.run("lxc-autostart", args...)
		if got != want || code != wcode || errs != "" {
			t.Errorf("lxc-autostart %s: golxc %q (exit %d, stderr %q), LXC %q (exit %d)", shellJoin(args), got, code, errs, want, wcode)
		}
	}
	// LXC 5.0.2 drops the groups named after the NULL group; golxc follows
	// lxc-autostart(1)'s example: -g dns,web,,onboot starts onboot last.
	got, _, _ := l.run("lxc-autostart", "-L", "-g", "dns,web,,onboot")
	if want := "e 0\nh 1\nab 0\nb 2\na 0\naa 0\nc 0\nd 0\n"; got != want {
		t.Errorf("lxc-autostart -L -g dns,web,,onboot: %q, want %q", got, want)
	}
}
