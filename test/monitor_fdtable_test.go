package test

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fdSize is the FDSize of /proc/PID/status: the slots of the process's
// descriptor table, which an exec closes the close-on-exec files of but
// does not shrink, so a container's init still shows the size of the
// table its start was cloned from.
func fdSize(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(statusField(string(b), "FDSize"))
	if err != nil {
		t.Fatalf("FDSize of %d: %v", pid, err)
	}
	return n
}

// initFDs lists the descriptor numbers pid holds, sorted, comma-joined.
func initFDs(t *testing.T, pid int) string {
	t.Helper()
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	var fds []string
	for _, e := range ents {
		fds = append(fds, e.Name())
	}
	slices.Sort(fds)
	return strings.Join(fds, ",")
}

// TestSharedMonitorBigTableStart: a shared monitor running enough
// containers to hold hundreds of descriptors starts the next one from a
// thread whose descriptor table is a small private one
// (namespace.StartProcessFewFDs): the new container's init shows a small
// table, where before it was cloned from the monitor's whole one. A
// plain container, one with a veth and one with its own user namespace
// each work (init in its own cgroups, the veth's host end made and
// removed, the id maps written, lxc-attach reaches it, lxc-stop stops
// it) and the monitor keeps the descriptors it had.
func TestSharedMonitorBigTableStart(t *testing.T) {
	// Searchable by the container's root: the idmap case's template runs
	// as it.
	l := usernsLab(t)
	opts := runOpts{env: []string{"GOLXC_SHARED_MONITOR=1"}}
	start := func(l *lab, conf ...string) (string, int) {
		name := l.createBusybox(conf...)
		l.mustRunWith(opts, "lxc-start", "-n", name)
		return name, l.initPID(name)
	}
	first, firstInit := start(l)
	mons := monitorPIDs(l.path, first)
	if len(mons) != 1 {
		t.Fatalf("want one shared monitor of %s, found %v", first, mons)
	}
	mon := mons[0]
	if n := fdSize(t, firstInit); n > 256 {
		t.Fatalf("the first container's init has a table of %d slots: the monitor's own should be small", n)
	}
	// The detour is taken once descriptor 512 of the monitor is open
	// (~9 a container).
	bigFD := fmt.Sprintf("/proc/%d/fd/512", mon)
	for i := 0; ; i++ {
		if _, err := os.Readlink(bigFD); err == nil {
			break
		}
		if i == 100 {
			t.Fatalf("100 containers running and the monitor's descriptor 512 is not open: the test cannot reach a big table")
		}
		start(l)
	}
	if got := monitorPIDs(l.path, first); len(got) != 1 || got[0] != mon {
		t.Fatalf("the shared monitor changed: %v, was %d", got, mon)
	}
	// A plain container; one with a veth (its set-up runs on the
	// monitor's side, not on the spawning thread); one with its own user
	// namespace (its id maps are written from the spawning thread).
	pair := "gxf" + randomHex(t, 5)
	for _, v := range []struct {
		what string
		conf []string
	}{
		{"plain", nil},
		{"veth", []string{"lxc.net.0.type = veth", "lxc.net.0.veth.pair = " + pair}},
		{"idmap", idmapLines},
	} {
		t.Run(v.what, func(t *testing.T) {
			l := l.with(t)
			before, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", mon))
			if err != nil {
				t.Fatal(err)
			}
			name, init := start(l, v.conf...)
			if n := fdSize(t, init); n > 128 {
				t.Errorf("init of %s, started by a monitor of %d descriptors, has a table of %d slots: cloned from the monitor's whole table", name, len(before), n)
			}
			if out, errs, code := l.runWith(opts, "lxc-attach", "-n", name, "--", "/bin/true"); code != 0 {
				t.Errorf("lxc-attach -n %s -- /bin/true: exit %d\nstdout: %s\nstderr: %s", name, code, out, errs)
			}
			switch v.what {
			case "plain":
				// Born in its own cgroups as the first one was (the
				// spawning thread stepped into its v1 ones): the same
				// listing, names aside.
				want := strings.ReplaceAll(readCgroup(firstInit), first, name)
				if got := readCgroup(init); got != want {
					t.Errorf("init of %s is in\n%s\nwant (as %s's)\n%s", name, got, first, want)
				}
				// Nothing of the monitor's table crossed: its init holds
				// the descriptors the first one holds, by number.
				if got, want := initFDs(t, init), initFDs(t, firstInit); got != want {
					t.Errorf("init of %s holds descriptors %s, want %s's %s", name, got, first, want)
				}
			case "veth":
				if _, err := os.Stat("/sys/class/net/" + pair); err != nil {
					t.Errorf("the host end %s of %s's veth: %v", pair, name, err)
				}
			case "idmap":
				if m, err := os.ReadFile(fmt.Sprintf("/proc/%d/uid_map", init)); err != nil || !strings.Contains(string(m), "100000") {
					t.Errorf("init of %s has uid_map %q (%v), want its lxc.idmap", name, m, err)
				}
			}
			l.mustRunWith(opts, "lxc-stop", "-k", "-n", name)
			if v.what == "veth" {
				if _, err := os.Stat("/sys/class/net/" + pair); err == nil {
					t.Errorf("the host end %s of %s's veth is still there after its stop", pair, name)
				}
			}
			// The stop's last descriptors may close just after
			// lxc-stop returns.
			var after []os.DirEntry
			for i := 0; i < 50; i++ {
				if after, err = os.ReadDir(fmt.Sprintf("/proc/%d/fd", mon)); err != nil {
					t.Fatal(err)
				}
				if len(after) == len(before) {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			if len(after) != len(before) {
				t.Errorf("the monitor held %d descriptors before the start and stop, %d after", len(before), len(after))
			}
		})
	}
}
