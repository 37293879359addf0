// Command bench times golxc's tools as whole processes, as a sysadmin's
// script runs them, and measures what one more running container costs the
// host. It prints medians (and min/max) over repeated runs; it asserts
// nothing. Run as root: make bench.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

func main() {
	runs := flag.Int("runs", 30, "runs per measurement")
	memN := flag.Int("containers", 20, "containers started for the memory figure")
	flag.Parse()
	bin := os.Getenv("GOLXC_BIN")
	if bin == "" {
		bin = "bin"
	}
	if err := run(bin, *runs, *memN); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type bench struct {
	bin, lxcpath, conf string
	env                []string // added to the tools' environment
}

func (b *bench) tool(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(b.bin, name), append([]string{"-P", b.lxcpath}, args...)...)
	cmd.Stderr = os.Stderr
	cmd.Env = append(os.Environ(), b.env...)
	return cmd
}

func (b *bench) must(name string, args ...string) error {
	if out, err := b.tool(name, args...).Output(); err != nil {
		return fmt.Errorf("%s %s: %v (%s)", name, strings.Join(args, " "), err, out)
	}
	return nil
}

// timeIt runs setup (untimed), the timed steps, and returns the median,
// min and max of the steps' total time.
func timeIt(runs int, setup func() error, steps ...func() error) (med, lo, hi time.Duration, err error) {
	var d []time.Duration
	for i := 0; i < runs; i++ {
		if setup != nil {
			if err := setup(); err != nil {
				return 0, 0, 0, err
			}
		}
		t0 := time.Now()
		for _, s := range steps {
			if err := s(); err != nil {
				return 0, 0, 0, err
			}
		}
		d = append(d, time.Since(t0))
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return d[len(d)/2], d[0], d[len(d)-1], nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

func run(bin string, runs, memN int) error {
	abs, err := filepath.Abs(bin)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "golxc-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	b := &bench{bin: abs, lxcpath: filepath.Join(dir, "lxc"), conf: filepath.Join(dir, "bench.conf")}
	if err := os.WriteFile(b.conf, []byte("lxc.net.0.type = empty\n"), 0o644); err != nil {
		return err
	}
	var started []string
	defer func() {
		for _, n := range started {
			_ = b.tool("lxc-stop", "-q", "-k", "-n", n).Run()
			_ = b.tool("lxc-destroy", "-f", "-n", n).Run()
		}
	}()
	c := "bench1"
	if err := b.must("lxc-create", "-n", c, "-t", "busybox", "-f", b.conf); err != nil {
		return err
	}
	started = append(started, c)

	fmt.Printf("golxc benchmarks: medians of %d runs (min .. max)\n", runs)
	report := func(what string, med, lo, hi time.Duration, err error) error {
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		fmt.Printf("  %-36s %10s  (%s .. %s)\n", what, ms(med), ms(lo), ms(hi))
		return nil
	}
	med, lo, hi, err := timeIt(runs, nil,
		func() error { return b.must("lxc-start", "-n", c) },
		func() error { return b.must("lxc-stop", "-k", "-n", c) })
	if err := report("lxc-start -d + lxc-stop -k", med, lo, hi, err); err != nil {
		return err
	}
	if err := b.must("lxc-start", "-n", c); err != nil {
		return err
	}
	med, lo, hi, err = timeIt(runs, nil, func() error { return b.must("lxc-info", "-n", c) })
	if err := report("lxc-info", med, lo, hi, err); err != nil {
		return err
	}
	med, lo, hi, err = timeIt(runs, nil, func() error { return b.must("lxc-attach", "-n", c, "--", "/bin/true") })
	if err := report("lxc-attach -- /bin/true", med, lo, hi, err); err != nil {
		return err
	}
	if err := b.must("lxc-stop", "-k", "-n", c); err != nil {
		return err
	}
	med, lo, hi, err = timeIt(runs, nil, func() error { return b.must("lxc-execute", "-n", c, "--", "/bin/true") })
	if err := report("lxc-execute -- /bin/true", med, lo, hi, err); err != nil {
		return err
	}
	n := 0
	med, lo, hi, err = timeIt(runs, nil,
		func() error {
			n++
			return b.must("lxc-create", "-n", "cd"+strconv.Itoa(n), "-t", "busybox", "-f", b.conf)
		},
		func() error { return b.must("lxc-destroy", "-n", "cd"+strconv.Itoa(n)) })
	if err := report("lxc-create -t busybox + lxc-destroy", med, lo, hi, err); err != nil {
		return err
	}
	if err := ociCycle(abs, dir, runs); err != nil {
		return err
	}
	if err := memory(b, memN, &started, false); err != nil {
		return err
	}
	shared := *b
	shared.env = []string{"GOLXC_SHARED_MONITOR=1"}
	return memory(&shared, memN, &started, true)
}

// memory starts n busybox containers and reports what each costs the
// host (MemAvailable drop) and its monitor's private memory.
func memory(b *bench, n int, started *[]string, shared bool) error {
	var names []string
	prefix := "mem"
	if shared {
		prefix = "shm"
	}
	for i := 0; i < n; i++ {
		name := prefix + strconv.Itoa(i)
		if err := b.must("lxc-create", "-n", name, "-t", "busybox", "-f", b.conf); err != nil {
			return err
		}
		*started = append(*started, name)
		names = append(names, name)
	}
	settle := func() { time.Sleep(2 * time.Second) }
	settle()
	before, err := memAvailable()
	if err != nil {
		return err
	}
	for _, name := range names {
		if err := b.must("lxc-start", "-n", name); err != nil {
			return err
		}
	}
	settle()
	after, err := memAvailable()
	if err != nil {
		return err
	}
	var priv, pss []int
	if shared {
		if m, err := monitorKB("[lxc monitor] " + b.lxcpath + " (shared)"); err == nil {
			priv = append(priv, m["Anonymous"]/n)
			pss = append(pss, m["Pss"]/n)
		}
	} else {
		for _, name := range names {
			if m, err := monitorKB("[lxc monitor] " + b.lxcpath + " " + name); err == nil {
				priv = append(priv, m["Anonymous"])
				pss = append(pss, m["Pss"])
			}
		}
	}
	sort.Ints(priv)
	sort.Ints(pss)
	mode := "a monitor process each"
	if shared {
		mode = "GOLXC_SHARED_MONITOR=1"
	}
	fmt.Printf("memory, %d running busybox containers, %s:\n", n, mode)
	fmt.Printf("  %-36s %10.2f MiB\n", "host cost per container", float64(before-after)/float64(n)/1024)
	if len(priv) > 0 {
		fmt.Printf("  %-36s %10.2f MiB\n", "monitor PSS per container", float64(pss[len(pss)/2])/1024)
		fmt.Printf("  %-36s %10.2f MiB\n", "monitor anonymous memory per container", float64(priv[len(priv)/2])/1024)
	}
	for _, name := range names {
		_ = b.tool("lxc-stop", "-k", "-n", name).Run()
	}
	return nil
}

func memAvailable() (int, error) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "MemAvailable:"); ok {
			return strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
		}
	}
	return 0, fmt.Errorf("no MemAvailable in /proc/meminfo")
}

// monitorKB reads the smaps_rollup figures (Pss, Anonymous ...) in KiB of
// the process titled title.
func monitorKB(title string) (map[string]int, error) {
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil || !strings.HasPrefix(string(b), title+"\x00") {
			continue
		}
		s, err := os.ReadFile(filepath.Join(filepath.Dir(p), "smaps_rollup"))
		if err != nil {
			return nil, err
		}
		m := map[string]int{}
		for _, line := range strings.Split(string(s), "\n") {
			if f := strings.Fields(line); len(f) == 3 && f[2] == "kB" {
				if v, err := strconv.Atoi(f[1]); err == nil {
					m[strings.TrimSuffix(f[0], ":")] = v
				}
			}
		}
		return m, nil
	}
	return nil, fmt.Errorf("no process titled %q", title)
}
