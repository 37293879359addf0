//go:build soak

package test

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"
)

// soakCycles is how many start/stop cycles TestSoak runs; GOLXC_SOAK_CYCLES
// overrides it.
const soakCycles = 1000

// TestSoak: 1000 start/stop cycles of one container, alternating a busybox
// init stopped with -k and an init that exits at once, with a clean stop
// every 50th, leave the host as they found it. Run by `make soak`
// (go test -tags soak -run Soak -v -timeout 60m ./test/); the figures it
// logs go in the release note.
func TestSoak(t *testing.T) {
	cycles := soakCycles
	if s := os.Getenv("GOLXC_SOAK_CYCLES"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			t.Fatalf("GOLXC_SOAK_CYCLES=%q: want a positive number", s)
		}
		cycles = n
	}
	l := newRelLab(t)
	n := l.createBusybox()
	before := snapshotHost(t)
	durations := map[cycleKind][]time.Duration{}
	var all []time.Duration
	var failures []string
	t0 := time.Now()
	for i := range cycles {
		kind := cycleKindOf(i, 50)
		c0 := time.Now()
		err := l.cycle(n, kind)
		d := time.Since(c0)
		durations[kind] = append(durations[kind], d)
		all = append(all, d)
		if err != nil {
			failures = append(failures, fmt.Sprintf("cycle %d (%s): %v", i, kind, err))
			if len(failures) >= 10 {
				t.Errorf("stopping after %d failed cycles", len(failures))
				break
			}
			// Leave a clean slate for the next cycle.
			l.run("lxc-stop", "-n", n, "-k")
		}
		if (i+1)%100 == 0 {
			t.Logf("%d cycles, %v", i+1, time.Since(t0).Round(time.Second))
		}
	}
	elapsed := time.Since(t0)
	leaks := hostLeaks(t, l, before)
	cgroupsLeft := cgroupDirs(n)
	monitorsLeft := monitorPIDs(l.path, n)
	locksExtra := lockDirExtra(l.path, n)

	t.Logf("soak: %d cycles in %v: %.1f cycles/s", len(all), elapsed.Round(time.Millisecond), float64(len(all))/elapsed.Seconds())
	t.Logf("soak: all cycles: median %v, p99 %v, max %v", quantile(all, 0.5), quantile(all, 0.99), quantile(all, 1))
	for _, k := range []cycleKind{cycleKill, cycleTrue, cycleClean} {
		if d := durations[k]; len(d) > 0 {
			t.Logf("soak: %-20s x%-4d median %v, p99 %v, max %v", k.String()+":", len(d), quantile(d, 0.5), quantile(d, 0.99), quantile(d, 1))
		}
	}
	t.Logf("soak: failed cycles %d; left over: %d cgroups of %s, %d monitors, %d stray lock files, %d host differences (mounts, links, monitors)",
		len(failures), len(cgroupsLeft), n, len(monitorsLeft), len(locksExtra), len(leaks))
	for _, f := range failures {
		t.Error(f)
	}
	for _, leak := range leaks {
		t.Errorf("after %d cycles: %s", len(all), leak)
	}
	if len(cgroupsLeft) > 0 {
		t.Errorf("after %d cycles: cgroups left: %v", len(all), cgroupsLeft)
	}
	if len(monitorsLeft) > 0 {
		t.Errorf("after %d cycles: monitors left: %v", len(all), monitorsLeft)
	}
	if len(locksExtra) > 0 {
		t.Errorf("after %d cycles: the lock dir holds %v besides the lock of %s", len(all), locksExtra, n)
	}
}

// quantile returns the q-quantile (0..1) of ds, by nearest rank.
func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(q*float64(len(s))+0.5) - 1
	i = max(0, min(i, len(s)-1))
	return s[i].Round(100 * time.Microsecond)
}
