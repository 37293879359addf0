package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/golxc/golxc/internal/monitor"
)

// point is the state of the host after one more start.
type point struct {
	running int
	start   time.Duration // this container's lxc-start -d
	hostKB  int           // MemAvailable drop since the first start; -1 when not sampled
}

type scaleResult struct {
	label   string
	points  []point
	stopped string // why the loop stopped before n, if it did
}

func scaleMain(args []string) int {
	fs := flag.NewFlagSet("bench scale", flag.ExitOnError)
	n := fs.Int("n", 1000, "containers to start")
	vsLXC := choice("no")
	fs.Var(&vsLXC, "vs-lxc", "start the same number with LXC's tools too: yes (the bare flag), no, or auto")
	png := fs.String("png", "bench-scale.png", "where to draw the plot")
	_ = fs.Parse(args)
	sets, err := toolsets(string(vsLXC))
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench scale:", err)
		return 2
	}
	dir, err := os.MkdirTemp("", "golxc-scale-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench scale:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	var results []scaleResult
	code := 0
	for _, t := range sets {
		if err := t.open(dir); err != nil {
			fmt.Fprintln(os.Stderr, "bench scale:", err)
			return 1
		}
		r, err := scale(t, *n, *png)
		if len(r.points) > 0 {
			results = append(results, r)
		}
		if err != nil {
			// Still drawn below: the way there is worth a look.
			fmt.Fprintln(os.Stderr, "bench scale:", err)
			t.close()
			code = 1
		}
	}
	if len(results) > 0 {
		if err := plot(*png, results); err != nil {
			fmt.Fprintln(os.Stderr, "bench scale: plot:", err)
			return 1
		}
		fmt.Println("plot:", *png)
	}
	return code
}

// scale creates n busybox containers, starts them one after another with
// lxc-start -d (the loop a sysadmin's script runs), checks each RUNNING,
// times lxc-ls -f and lxc-info with them all running, then stops and
// destroys them and looks for anything left behind.
func scale(t *toolset, n int, png string) (scaleResult, error) {
	defer t.close()
	res := scaleResult{label: t.label}
	leaksBefore := snapshotHost(t, nil)
	names := make([]string, n)
	fmt.Printf("%s: creating %d containers\n", t.label, n)
	t0 := time.Now()
	for i := range names {
		names[i] = "scale" + strconv.Itoa(i)
		if err := t.create(names[i]); err != nil {
			return res, err
		}
		progress(i+1, n, t0)
	}
	fmt.Println()
	base, err := memAvailableKB()
	if err != nil {
		return res, err
	}
	fmt.Printf("%s: starting %d containers with lxc-start -d (load average %s)\n", t.label, n, loadAvg())
	// CPU by tenth of the run: the tools' and the monitors' (sampled at
	// each tenth's end), to tell growth with N from the host's other load.
	var toolCPU, lastTool time.Duration
	var lastMon monCPU
	var cpuTenths [][3]time.Duration // tool, monitors, inits
	var sampling time.Duration       // the CPU samples' /proc walks, not in the total
	t0 = time.Now()
	for i, name := range names {
		s0 := time.Now()
		cpu, err := t.mustCPU("lxc-start", "-n", name)
		took := time.Since(s0)
		if err != nil {
			res.stopped = fmt.Sprintf("start %d failed: %v", i+1, err)
			fmt.Printf("\n%s: %s\n", t.label, res.stopped)
			break
		}
		toolCPU += cpu
		if tenth := max(1, n/10); (i+1)%tenth == 0 {
			m0 := time.Now()
			mon, k := monitorCPU(t.lxcpath), time.Duration(tenth)
			sampling += time.Since(m0)
			cpuTenths = append(cpuTenths, [3]time.Duration{(toolCPU - lastTool) / k, (mon.monitors - lastMon.monitors) / k, (mon.inits - lastMon.inits) / k})
			lastTool, lastMon = toolCPU, mon
		}
		p := point{running: i + 1, start: took, hostKB: -1}
		if (i+1)%max(1, n/50) == 0 || i == n-1 {
			if m, err := memAvailableKB(); err == nil {
				p.hostKB = base - m
			}
		}
		res.points = append(res.points, p)
		progress(i+1, n, t0)
	}
	total := time.Since(t0) - sampling
	running := len(res.points)
	fmt.Println()
	if err := writePoints(strings.TrimSuffix(png, ".png")+"-"+strings.ToLower(t.label)+".csv", res.points); err != nil {
		fmt.Fprintln(os.Stderr, "bench scale:", err)
	}
	if running == 0 {
		return res, fmt.Errorf("%s: no container started: %s", t.label, res.stopped)
	}
	mon := monitorCPU(t.lxcpath)
	fmt.Printf("%s: %d started in %.2f s (%.1f ms each; load average now %s)\n", t.label, running, total.Seconds(), float64(total.Milliseconds())/float64(running), loadAvg())
	all := make([]time.Duration, running)
	for i, p := range res.points {
		all[i] = p.start
	}
	st := sorted(all)
	slow := 0
	for _, d := range st {
		if d > 100*time.Millisecond {
			slow++
		}
	}
	fmt.Printf("%s: start time p50 %s, p90 %s, p99 %s, max %s; %d over 100 ms\n", t.label,
		ms(st.quantile(0.5)), ms(st.quantile(0.9)), ms(st.quantile(0.99)), ms(st[len(st)-1]), slow)
	// CPU is what the host's other work does not change much: the
	// tools' own, and the monitors' with the init stages, per start; the
	// containers' own processes are not in it.
	fmt.Printf("%s: CPU per start: lxc-start %s, monitors %s, inits (the init stage, then init) %s\n", t.label,
		ms(toolCPU/time.Duration(running)), ms(mon.monitors/time.Duration(running)), ms(mon.inits/time.Duration(running)))
	fmt.Printf("%s: CPU per start by tenth of the run (ms, lxc-start/monitors/inits):", t.label)
	for _, d := range cpuTenths {
		fmt.Printf(" %.1f/%.1f/%.1f", float64(d[0].Microseconds())/1000, float64(d[1].Microseconds())/1000, float64(d[2].Microseconds())/1000)
	}
	fmt.Println()
	fmt.Printf("%s: start time by tenth of the run (median ms):", t.label)
	for k := 0; k < 10; k++ {
		lo, hi := k*running/10, (k+1)*running/10
		if hi <= lo {
			continue
		}
		var d []time.Duration
		for _, p := range res.points[lo:hi] {
			d = append(d, p.start)
		}
		fmt.Printf(" %.1f", float64(sorted(d).med().Microseconds())/1000)
	}
	fmt.Println()
	time.Sleep(2 * time.Second)
	if m, err := memAvailableKB(); err == nil {
		fmt.Printf("%s: host memory per running container %.2f MiB (MemAvailable drop / %d)\n", t.label, float64(base-m)/1024/float64(running), running)
	}
	out, err := t.cmd("lxc-ls", "-f", "-F", "NAME,STATE").Output()
	if err != nil {
		return res, fmt.Errorf("%s: lxc-ls -f: %w", t.label, err)
	}
	state := map[string]string{}
	for _, line := range strings.Split(string(out), "\n")[1:] {
		if f := strings.Fields(line); len(f) == 2 {
			state[f[0]] = f[1]
		}
	}
	for _, name := range names[:running] {
		if state[name] != "RUNNING" {
			return res, fmt.Errorf("%s: %s is %q after its start, not RUNNING", t.label, name, state[name])
		}
	}
	fmt.Printf("%s: all %d RUNNING (lxc-ls -f)\n", t.label, running)
	timed := func(what string, runs int, name string, args ...string) {
		var d []time.Duration
		for i := 0; i < runs; i++ {
			s0 := time.Now()
			if err := t.must(name, args...); err != nil {
				fmt.Printf("%s: %s: %v\n", t.label, what, err)
				return
			}
			d = append(d, time.Since(s0))
		}
		fmt.Printf("%s: %s with %d running: median %s of %d\n", t.label, what, running, ms(sorted(d).med()), runs)
	}
	timed("lxc-ls -f", 5, "lxc-ls", "-f")
	timed("lxc-info", 20, "lxc-info", "-n", names[running/2])
	if _, err := os.Stat(filepath.Join(t.bin, "lxc-autostart")); err == nil {
		if err := autostart(t, names); err != nil {
			return res, err
		}
	}
	fmt.Printf("%s: stopping and destroying\n", t.label)
	t0 = time.Now()
	for i, name := range names {
		_ = t.cmd("lxc-stop", "-k", "-n", name).Run()
		if err := t.must("lxc-destroy", "-n", name); err != nil {
			return res, err
		}
		progress(i+1, n, t0)
	}
	fmt.Println()
	t.made = nil
	t.close()
	left := snapshotHost(t, names).minus(leaksBefore)
	if len(left) > 0 {
		// Other work on the host makes and removes links and sockets
		// meanwhile: only what is still there a moment later counts.
		time.Sleep(2 * time.Second)
		left = snapshotHost(t, names).minus(leaksBefore)
	}
	if len(left) > 0 {
		return res, fmt.Errorf("%s: left behind after destroying all: %s", t.label, strings.Join(left, "; "))
	}
	fmt.Printf("%s: nothing left behind (cgroups, mounts, links, sockets, processes, files)\n", t.label)
	return res, nil
}

// autostart stops every container, marks each lxc.start.auto = 1 and
// times one lxc-autostart -a bringing them all up.
func autostart(t *toolset, names []string) error {
	for _, name := range names {
		_ = t.cmd("lxc-stop", "-k", "-n", name).Run()
		f, err := os.OpenFile(filepath.Join(t.lxcpath, name, "config"), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		_, err = f.WriteString("lxc.start.auto = 1\n")
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	la := loadAvg()
	t0 := time.Now()
	cpu, err := t.mustCPU("lxc-autostart", "-a")
	if err != nil {
		return err
	}
	fmt.Printf("%s: lxc-autostart -a started %d in %.2f s (load average %s before, %s after; its own CPU %.2f s)\n",
		t.label, len(names), time.Since(t0).Seconds(), la, loadAvg(), cpu.Seconds())
	return nil
}

func progress(i, n int, t0 time.Time) {
	if i%25 == 0 || i == n {
		fmt.Printf("\r  %d/%d  %.1f s", i, n, time.Since(t0).Seconds())
	}
}

// hostState is what a run may leave behind, as strings to compare.
type hostState map[string]bool

func (h hostState) minus(before hostState) []string {
	var left []string
	for k := range h {
		if !before[k] {
			left = append(left, k)
		}
	}
	return left
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// snapshotHost lists what a container of t's lxcpath can leave on the
// host: cgroups named after its containers, mounts and processes naming
// the lxcpath, network links, golxc's socket files, files in the lxcpath.
func snapshotHost(t *toolset, names []string) hostState {
	h := hostState{}
	cgs, _ := filepath.Glob("/sys/fs/cgroup/*/lxc.*.scale[0-9]*")
	more, _ := filepath.Glob("/sys/fs/cgroup/*/lxc.*/scale[0-9]*")
	for _, c := range append(cgs, more...) {
		h["cgroup "+c] = true
	}
	if b, err := os.ReadFile("/proc/self/mountinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if strings.Contains(line, t.lxcpath) {
				h["mount "+line] = true
			}
		}
	}
	links, _ := filepath.Glob("/sys/class/net/*")
	for _, l := range links {
		h["link "+filepath.Base(l)] = true
	}
	// golxc's monitor sockets of this run's containers (the directory is
	// shared with every other golxc on the host).
	for _, n := range names {
		if p := monitor.SocketPath(t.lxcpath, n); exists(p) {
			h["socket "+p] = true
		}
	}
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		if b, err := os.ReadFile(p); err == nil && strings.Contains(string(b), t.lxcpath) {
			h["process "+filepath.Dir(p)+" "+strings.ReplaceAll(string(b), "\x00", " ")] = true
		}
	}
	_ = filepath.Walk(t.lxcpath, func(p string, info os.FileInfo, err error) error {
		if err == nil && p != t.lxcpath {
			h["file "+p] = true
		}
		return nil
	})
	return h
}

// mustCPU is must, and the CPU time (user and system) the tool took.
func (t *toolset) mustCPU(name string, args ...string) (time.Duration, error) {
	cmd := t.cmd(name, args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("%s: %s %s: %v: %s", t.label, name, strings.Join(args, " "), err, lastLine(out))
	}
	return cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), nil
}

// monitorCPU is the CPU time the live monitors of lxcpath have used, with
// that of the children they reaped, and their live children's own (each
// container's init, which ran the init stage before it exec'd init; not
// what init reaped since): golxc's shared monitor, or LXC's one per
// container, each titled "[lxc monitor] LXCPATH ...". A live process's
// time is its threads' schedstat (nanoseconds: stat's clock ticks round
// each of a thousand monitors or inits that ran for less than 10 ms to
// nothing); the reaped children's is only in ticks.
func monitorCPU(lxcpath string) monCPU {
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	var total monCPU
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil || !strings.HasPrefix(string(b), "[lxc monitor] "+lxcpath+" ") {
			continue
		}
		dir := filepath.Dir(p)
		total.monitors += liveCPU(dir) + reapedCPU(dir)
		kids, _ := filepath.Glob(filepath.Join(dir, "task", "*", "children"))
		for _, k := range kids {
			b, _ := os.ReadFile(k)
			for _, pid := range strings.Fields(string(b)) {
				total.inits += liveCPU(filepath.Join("/proc", pid))
			}
		}
	}
	return total
}

// monCPU is monitorCPU's: the monitors' own (with what they reaped), and
// their live children's.
type monCPU struct{ monitors, inits time.Duration }

// liveCPU is the time on CPU of the live threads of the process at
// /proc/PID dir, from their schedstat.
func liveCPU(dir string) time.Duration {
	stats, _ := filepath.Glob(filepath.Join(dir, "task", "*", "schedstat"))
	var total time.Duration
	for _, st := range stats {
		b, err := os.ReadFile(st)
		if err != nil {
			continue
		}
		if f := strings.Fields(string(b)); len(f) > 0 {
			ns, _ := strconv.ParseInt(f[0], 10, 64)
			total += time.Duration(ns)
		}
	}
	return total
}

// reapedCPU is cutime + cstime of the process at /proc/PID dir: its
// reaped children's CPU time.
func reapedCPU(dir string) time.Duration {
	st, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		return 0
	}
	// After the ")" that ends the command name, cutime and cstime are
	// fields 14 and 15 (stat(5)'s 16 and 17).
	f := strings.Fields(string(st[strings.LastIndexByte(string(st), ')')+1:]))
	if len(f) < 15 {
		return 0
	}
	var ticks int64
	for _, v := range f[13:15] {
		t, _ := strconv.ParseInt(v, 10, 64)
		ticks += t
	}
	return time.Duration(ticks) * time.Second / 100 // USER_HZ
}

// loadAvg is /proc/loadavg's 1-minute figure: the other work on the host
// that the times above include.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(b))[0]
}

// writePoints saves each start's time and the host memory samples, one
// line per start, for a closer look than the plot gives.
func writePoints(file string, points []point) error {
	var b strings.Builder
	b.WriteString("running,start_ms,host_mem_drop_kib\n")
	for _, p := range points {
		mem := ""
		if p.hostKB >= 0 {
			mem = strconv.Itoa(p.hostKB)
		}
		fmt.Fprintf(&b, "%d,%.3f,%s\n", p.running, ms64(p.start), mem)
	}
	return os.WriteFile(file, []byte(b.String()), 0o644)
}

// quantile is the q-quantile (0..1) of the sample, nearest rank.
func (s stats) quantile(q float64) time.Duration {
	return s[min(len(s)-1, int(q*float64(len(s))))]
}
