package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// toolset is one implementation of the lxc-* tools (golxc's or LXC's) with
// an lxcpath and a container config of its own.
type toolset struct {
	label, bin    string
	env           []string // added to the tools' environment
	lxcpath, conf string
	made          []string // containers created, destroyed at the end
	pivotsBefore  map[string]bool
}

// open gives the toolset a fresh lxcpath under dir and the benchmark's
// container config: no network, so that only the tools are timed.
func (t *toolset) open(dir string) error {
	t.lxcpath = filepath.Join(dir, strings.ToLower(t.label))
	t.conf = filepath.Join(dir, strings.ToLower(t.label)+".conf")
	t.pivotsBefore = pivots()
	return os.WriteFile(t.conf, []byte("lxc.net.0.type = empty\n"), 0o644)
}

func (t *toolset) cmd(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(t.bin, name), append([]string{"-P", t.lxcpath}, args...)...)
	cmd.Env = append(os.Environ(), t.env...)
	return cmd
}

// must runs a tool and turns a failure into an error carrying its output.
func (t *toolset) must(name string, args ...string) error {
	out, err := t.cmd(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %s %s: %v: %s", t.label, name, strings.Join(args, " "), err, lastLine(out))
	}
	return nil
}

func (t *toolset) create(name string) error {
	if err := t.must("lxc-create", "-n", name, "-t", "busybox", "-f", t.conf); err != nil {
		return err
	}
	t.made = append(t.made, name)
	return nil
}

// close stops and destroys what the toolset made and removes the empty
// lxc.pivot cgroups LXC's start leaves behind, when they were not there
// before the benchmark.
func (t *toolset) close() {
	for _, n := range t.made {
		_ = t.cmd("lxc-stop", "-k", "-n", n).Run()
		_ = t.cmd("lxc-destroy", "-f", "-n", n).Run()
	}
	t.made = nil
	for p := range pivots() {
		if !t.pivotsBefore[p] {
			_ = os.Remove(p)
		}
	}
}

func pivots() map[string]bool {
	m := map[string]bool{}
	ps, _ := filepath.Glob("/sys/fs/cgroup/*/lxc.pivot")
	for _, p := range ps {
		m[p] = true
	}
	return m
}

func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}

// stats is a sorted sample of durations.
type stats []time.Duration

func (s stats) med() time.Duration { return s[len(s)/2] }

func sorted(d []time.Duration) stats {
	s := append(stats(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

func memAvailableKB() (int, error) {
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

// processKB reads the smaps_rollup figures (Pss, Anonymous ...) in KiB of
// every process whose command line starts with title.
func processKB(title string) []map[string]int {
	var all []map[string]int
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil || !strings.HasPrefix(string(b), title) {
			continue
		}
		s, err := os.ReadFile(filepath.Join(filepath.Dir(p), "smaps_rollup"))
		if err != nil {
			continue
		}
		m := map[string]int{}
		for _, line := range strings.Split(string(s), "\n") {
			if f := strings.Fields(line); len(f) == 3 && f[2] == "kB" {
				if v, err := strconv.Atoi(f[1]); err == nil {
					m[strings.TrimSuffix(f[0], ":")] = v
				}
			}
		}
		all = append(all, m)
	}
	return all
}
