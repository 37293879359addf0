package main

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

// measure is one timed operation, run the same way by every toolset.
type measure struct {
	what   string
	target float64 // the golxc/LXC ratio to reach (issue 14)
	step   func(t *toolset, run int) error
}

func suite(sets []*toolset, runs, memN, ociRuns int, ociOnly bool) error {
	dir, err := os.MkdirTemp("", "golxc-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if ociOnly {
		if err := sets[0].open(dir); err != nil {
			return err
		}
		defer sets[0].close()
		return ociImport(sets[0], ociRuns, dir)
	}
	for _, t := range sets {
		if err := t.open(dir); err != nil {
			return err
		}
		defer t.close()
		for _, c := range []string{"b1", "b2"} {
			if err := t.create(c); err != nil {
				return err
			}
		}
		if err := t.must("lxc-start", "-n", "b1"); err != nil {
			return err
		}
	}
	fmt.Printf("benchmarks: medians of %d runs (min .. max), toolsets interleaved run by run\n", runs)
	measures := []measure{
		{"lxc-info", 1.0, func(t *toolset, _ int) error { return t.must("lxc-info", "-n", "b1") }},
		{"lxc-attach -- /bin/true", 1.0, func(t *toolset, _ int) error {
			return t.must("lxc-attach", "-n", "b1", "--", "/bin/true")
		}},
		{"lxc-freeze + lxc-unfreeze", 1.0, func(t *toolset, _ int) error {
			if err := t.must("lxc-freeze", "-n", "b1"); err != nil {
				return err
			}
			return t.must("lxc-unfreeze", "-n", "b1")
		}},
		{"lxc-execute -- /bin/true", 0.75, func(t *toolset, _ int) error {
			return t.must("lxc-execute", "-n", "b2", "--", "/bin/true")
		}},
		{"lxc-start -d + lxc-stop -k", 0.75, func(t *toolset, _ int) error {
			if err := t.must("lxc-start", "-n", "b2"); err != nil {
				return err
			}
			return t.must("lxc-stop", "-k", "-n", "b2")
		}},
		{"lxc-create -t busybox + lxc-destroy", 0.25, func(t *toolset, run int) error {
			n := "cd" + strconv.Itoa(run)
			if err := t.must("lxc-create", "-n", n, "-t", "busybox", "-f", t.conf); err != nil {
				return err
			}
			return t.must("lxc-destroy", "-n", n)
		}},
	}
	for _, m := range measures {
		res, err := interleave(sets, runs, m.step)
		if err != nil {
			return fmt.Errorf("%s: %w", m.what, err)
		}
		report(m.what, m.target, res)
	}
	if err := ociImport(sets[0], ociRuns, dir); err != nil {
		return fmt.Errorf("lxc-create -t oci: %w", err)
	}
	if err := ociCycle(sets[0].bin, dir, runs); err != nil {
		return fmt.Errorf("golxc-runc: %w", err)
	}
	if err := autostartAll(sets, min(runs, 5), memN); err != nil {
		return err
	}
	return many(sets, runs, memN)
}

// autostartAll times lxc-autostart -a bringing up n containers with
// lxc.start.auto = 1, from all stopped (lxc-autostart -k -a, untimed).
func autostartAll(sets []*toolset, runs, n int) error {
	d := make([][]time.Duration, len(sets))
	for _, t := range sets {
		conf := t.conf + ".auto"
		if err := os.WriteFile(conf, []byte("lxc.net.0.type = empty\nlxc.start.auto = 1\n"), 0o644); err != nil {
			return err
		}
		for i := 0; i < n; i++ {
			name := "as" + strconv.Itoa(i)
			if err := t.must("lxc-create", "-n", name, "-t", "busybox", "-f", conf); err != nil {
				return err
			}
			t.made = append(t.made, name)
		}
		defer func() { _ = t.must("lxc-autostart", "-k", "-a") }()
	}
	for i := 0; i < runs; i++ {
		for j, t := range sets {
			if err := t.must("lxc-autostart", "-k", "-a"); err != nil {
				return err
			}
			t0 := time.Now()
			if err := t.must("lxc-autostart", "-a"); err != nil {
				return err
			}
			d[j] = append(d[j], time.Since(t0))
		}
	}
	res := make([]stats, len(sets))
	for j := range d {
		res[j] = sorted(d[j])
	}
	report(fmt.Sprintf("lxc-autostart -a, %d containers", n), 1.0, res)
	return nil
}

// interleave runs step runs times for each toolset, alternating between
// them so that a noisy moment of the machine hurts both alike.
func interleave(sets []*toolset, runs int, step func(*toolset, int) error) ([]stats, error) {
	d := make([][]time.Duration, len(sets))
	for i := 0; i < runs; i++ {
		for j, t := range sets {
			t0 := time.Now()
			if err := step(t, i); err != nil {
				return nil, err
			}
			d[j] = append(d[j], time.Since(t0))
		}
	}
	res := make([]stats, len(sets))
	for j := range d {
		res[j] = sorted(d[j])
	}
	return res, nil
}

func report(what string, target float64, res []stats) {
	line := fmt.Sprintf("  %-36s golxc %9s (%s .. %s)", what, ms(res[0].med()), ms(res[0][0]), ms(res[0][len(res[0])-1]))
	if len(res) > 1 {
		ratio := float64(res[0].med()) / float64(res[1].med())
		line += fmt.Sprintf("  LXC %9s  ratio %.2f (target <= %.2f%s)", ms(res[1].med()), ratio, target, verdict(ratio, target))
	}
	fmt.Println(line)
}

func verdict(ratio, target float64) string {
	if ratio <= target {
		return ", met"
	}
	return ", NOT met"
}

// many starts memN containers with each toolset (and golxc with a
// monitor per container, beside its default shared one), reports the host
// memory each costs and times lxc-ls -f with them all running.
func many(sets []*toolset, runs, memN int) error {
	type mem struct {
		label       string
		hostKB, pss float64
		loop        time.Duration
	}
	var mems []mem
	variants := append([]*toolset(nil), sets...)
	shared := *sets[0]
	shared.label, shared.env, shared.made = "golxc, per-container monitors", []string{"GOLXC_SHARED_MONITOR=0"}, nil
	shared.lxcpath += "-percontainer"
	variants = append(variants[:1], append([]*toolset{&shared}, variants[1:]...)...)
	defer shared.close()
	for _, t := range variants {
		var names []string
		for i := 0; i < memN; i++ {
			n := "m" + strconv.Itoa(i)
			if err := t.create(n); err != nil {
				return err
			}
			names = append(names, n)
		}
		time.Sleep(2 * time.Second)
		before, err := memAvailableKB()
		if err != nil {
			return err
		}
		t0 := time.Now()
		for _, n := range names {
			if err := t.must("lxc-start", "-n", n); err != nil {
				return err
			}
		}
		loop := time.Since(t0)
		time.Sleep(2 * time.Second)
		after, err := memAvailableKB()
		if err != nil {
			return err
		}
		var pss float64
		monitors := processKB("[lxc monitor] " + t.lxcpath + " ")
		for _, m := range monitors {
			pss += float64(m["Pss"])
		}
		mems = append(mems, mem{t.label, float64(before-after) / float64(memN), pss / float64(memN), loop})
	}
	// lxc-ls -f with memN running in each lxcpath (golxc's default
	// monitors and LXC's), interleaved.
	lsSets := []*toolset{variants[0]}
	if len(variants) > 2 {
		lsSets = append(lsSets, variants[2])
	}
	res, err := interleave(lsSets, runs, func(t *toolset, _ int) error { return t.must("lxc-ls", "-f") })
	if err != nil {
		return fmt.Errorf("lxc-ls -f: %w", err)
	}
	report(fmt.Sprintf("lxc-ls -f at %d running", memN), 0.25, res)
	fmt.Printf("%d busybox containers started one after another with lxc-start -d:\n", memN)
	for _, m := range mems {
		fmt.Printf("  %-36s %8.0f ms the loop, host cost %.2f MiB each, monitor PSS %.2f MiB each\n",
			m.label, float64(m.loop.Milliseconds()), m.hostKB/1024, m.pss/1024)
	}
	if len(mems) > 2 {
		fmt.Printf("  memory ratio golxc/LXC (default monitors): host %.2f, monitor PSS %.2f (target <= 1.00)\n",
			mems[0].hostKB/mems[2].hostKB, mems[0].pss/mems[2].pss)
	}
	return nil
}
