// Package kernelcheck finds out whether a kernel has what containers need
// (namespaces, cgroups, devpts instances, network devices, seccomp,
// overlay ...), for lxc-checkconfig. It reads the kernel's build
// configuration when one is readable and otherwise probes the running
// kernel through /proc, /sys and /lib/modules. It only reads files.
package kernelcheck

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Status is what a check found.
type Status int

const (
	Enabled  Status = iota
	Missing         // an optional feature is missing
	Required        // an essential feature is missing
)

func (s Status) String() string {
	switch s {
	case Enabled:
		return "enabled"
	case Missing:
		return "missing"
	}
	return "required"
}

// Line is one "Name: status" line of the report.
type Line struct {
	Name   string
	Status Status
	Note   string   // after the status: ", loaded"
	List   []string // printed below the line, as " - item"
	Info   bool     // a line of facts (mount points, layout): no status
	Value  string   // for an Info line
	Module string   // for a module that may be loaded or not
}

// Section is a titled group of lines.
type Section struct {
	Title string
	Lines []Line
}

// Report is the result of Check.
type Report struct {
	Source    string // where the answers come from, one line
	Sections  []Section
	Essential bool // every essential feature is present
}

// Host says where Check looks.
type Host struct {
	// Root prefixes /proc, /sys and /lib/modules: "" for the running
	// system, a fixture directory in tests.
	Root string
	// Config is the kernel build configuration (CONFIG_X -> y, m, or a
	// value), nil when none was readable: then the running kernel is probed.
	Config     map[string]string
	ConfigPath string
	// Release is the kernel release (uname -r) the modules and the version
	// checks refer to.
	Release string
	// Foreign is set when Config is another kernel's (CONFIG=): whether a
	// module is loaded says nothing about it.
	Foreign bool
}

// FindConfig looks for the running kernel's build configuration: path when
// given (lxc-checkconfig's CONFIG=), else /proc/config.gz, then
// /boot/config-RELEASE and /lib/modules/RELEASE/build/.config. It returns
// "" and no error when none is readable.
func FindConfig(root, path, release string) (map[string]string, string, error) {
	if path != "" {
		cfg, err := ReadConfig(path)
		if err != nil {
			return nil, "", err
		}
		return cfg, path, nil
	}
	for _, p := range []string{"/proc/config.gz", "/boot/config-" + release, "/lib/modules/" + release + "/build/.config"} {
		cfg, err := ReadConfig(filepath.Join(root, p))
		if err == nil {
			return cfg, p, nil
		}
	}
	return nil, "", nil
}

// ReadConfig reads a kernel configuration file, gzip-compressed or not.
func ReadConfig(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read kernel config: %w", err)
	}
	defer f.Close()
	br := bufio.NewReader(f)
	var r io.Reader = br
	if magic, _ := br.Peek(2); bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("read kernel config %s: %w", path, err)
		}
		defer gz.Close()
		r = gz
	}
	cfg, err := ParseConfig(r)
	if err != nil {
		return nil, fmt.Errorf("read kernel config %s: %w", path, err)
	}
	return cfg, nil
}

// ParseConfig reads CONFIG_X=VALUE lines; "# CONFIG_X is not set" and other
// comments are skipped. The "# Linux/ARCH VERSION Kernel Configuration"
// header, when present, is kept under the key "version".
func ParseConfig(r io.Reader) (map[string]string, error) {
	cfg := map[string]string{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "# Linux") && strings.HasSuffix(line, "Kernel Configuration") {
			if f := strings.Fields(line); len(f) >= 3 {
				cfg["version"] = f[2]
			}
			continue
		}
		if k, v, ok := strings.Cut(line, "="); ok && strings.HasPrefix(k, "CONFIG_") {
			cfg[k] = strings.Trim(v, `"`)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(cfg) == 0 {
		return nil, errors.New("no CONFIG_ lines: not a kernel configuration")
	}
	return cfg, nil
}

// check is one feature: a config symbol, and a probe of the running kernel
// for when there is no config.
type check struct {
	name      string
	symbol    string // "" when only a probe decides
	module    string // the module that provides it, for ", loaded"
	essential bool
	probe     func(h *Host) bool
	// minVersion: on kernels from this version on, the feature is always
	// there and the symbol no longer exists.
	minVersion [2]int
}

// The checks lxc-checkconfig runs, by section: built when it runs (their
// probes are closures made by calls), not by an init in every golxc
// process.
func namespaceChecks() []check {
	return []check{
		{name: "Namespaces", symbol: "CONFIG_NAMESPACES", essential: true, probe: func(h *Host) bool { return h.exists("/proc/self/ns") }},
		{name: "Utsname namespace", symbol: "CONFIG_UTS_NS", essential: true, probe: nsProbe("uts")},
		{name: "Ipc namespace", symbol: "CONFIG_IPC_NS", essential: true, probe: nsProbe("ipc")},
		{name: "Pid namespace", symbol: "CONFIG_PID_NS", essential: true, probe: nsProbe("pid")},
		{name: "User namespace", symbol: "CONFIG_USER_NS", probe: func(h *Host) bool {
			n, err := strconv.Atoi(strings.TrimSpace(h.read("/proc/sys/user/max_user_namespaces")))
			return h.exists("/proc/self/ns/user") && (err != nil || n > 0)
		}},
		{name: "Network namespace", symbol: "CONFIG_NET_NS", essential: true, probe: nsProbe("net")},
		{name: "Cgroup namespace", symbol: "CONFIG_CGROUPS", essential: true, probe: nsProbe("cgroup")},
		{name: "Time namespace", symbol: "CONFIG_TIME_NS", probe: nsProbe("time")},
		{name: "Multiple /dev/pts instances", symbol: "CONFIG_DEVPTS_MULTIPLE_INSTANCES", essential: true, minVersion: [2]int{4, 7},
			probe: func(h *Host) bool { return h.filesystem("devpts") }},
	}
}

func cgroupChecks() []check {
	return []check{
		{name: "Cgroups", symbol: "CONFIG_CGROUPS", essential: true, probe: func(h *Host) bool { return h.exists("/proc/cgroups") }},
		{name: "Cgroup device", symbol: "CONFIG_CGROUP_DEVICE", probe: func(h *Host) bool { return h.controller("devices") || len(h.mounts("cgroup2")) > 0 }},
		{name: "Cgroup sched", symbol: "CONFIG_CGROUP_SCHED", probe: controllerProbe("cpu")},
		{name: "Cgroup cpu account", symbol: "CONFIG_CGROUP_CPUACCT", probe: func(h *Host) bool { return h.controller("cpuacct") || h.controller("cpu") }},
		{name: "Cgroup memory controller", symbol: "CONFIG_MEMCG", probe: controllerProbe("memory")},
		{name: "Cgroup cpuset", symbol: "CONFIG_CPUSETS", probe: controllerProbe("cpuset")},
		{name: "Cgroup pids", symbol: "CONFIG_CGROUP_PIDS", probe: controllerProbe("pids")},
		{name: "Cgroup freezer", symbol: "CONFIG_CGROUP_FREEZER", probe: func(h *Host) bool { return h.controller("freezer") || len(h.mounts("cgroup2")) > 0 }},
	}
}

func miscChecks() []check {
	return []check{
		{name: "Veth pair device", symbol: "CONFIG_VETH", module: "veth", probe: moduleProbe("veth")},
		{name: "Macvlan", symbol: "CONFIG_MACVLAN", module: "macvlan", probe: moduleProbe("macvlan")},
		{name: "Vlan", symbol: "CONFIG_VLAN_8021Q", module: "8021q", probe: moduleProbe("8021q")},
		{name: "Bridges", symbol: "CONFIG_BRIDGE", module: "bridge", probe: moduleProbe("bridge")},
		{name: "Overlay file system", symbol: "CONFIG_OVERLAY_FS", module: "overlay", probe: func(h *Host) bool {
			return h.filesystem("overlay") || moduleProbe("overlay")(h)
		}},
		{name: "Seccomp", symbol: "CONFIG_SECCOMP", probe: func(h *Host) bool { return strings.Contains(h.read("/proc/self/status"), "\nSeccomp:") }},
		{name: "Seccomp filter", symbol: "CONFIG_SECCOMP_FILTER", probe: func(h *Host) bool { return h.exists("/proc/sys/kernel/seccomp/actions_avail") }},
		{name: "File capabilities", symbol: "CONFIG_SECURITY_FILE_CAPABILITIES", minVersion: [2]int{2, 33},
			probe: func(h *Host) bool { return strings.Contains(h.read("/proc/self/status"), "\nCapBnd:") }},
		{name: "FUSE (for use with lxcfs)", symbol: "CONFIG_FUSE_FS", module: "fuse", probe: func(h *Host) bool {
			return h.filesystem("fuse") || moduleProbe("fuse")(h)
		}},
	}
}

func nsProbe(ns string) func(*Host) bool {
	return func(h *Host) bool { return h.exists("/proc/self/ns/" + ns) }
}

func controllerProbe(name string) func(*Host) bool {
	return func(h *Host) bool { return h.controller(name) }
}

// moduleProbe: a module is there when loaded, built in, or installed.
func moduleProbe(name string) func(*Host) bool {
	return func(h *Host) bool {
		if h.exists("/sys/module/" + name) {
			return true
		}
		dir := "/lib/modules/" + h.Release + "/"
		for _, list := range []string{"modules.builtin", "modules.dep"} {
			for _, line := range strings.Split(h.read(dir+list), "\n") {
				path, _, _ := strings.Cut(line, ":")
				base := filepath.Base(path)
				if base == name+".ko" || strings.HasPrefix(base, name+".ko.") {
					return true
				}
			}
		}
		return false
	}
}

func (h *Host) path(p string) string { return filepath.Join(h.Root, p) }

func (h *Host) exists(p string) bool {
	_, err := os.Stat(h.path(p))
	return err == nil
}

func (h *Host) read(p string) string {
	b, err := os.ReadFile(h.path(p))
	if err != nil {
		return ""
	}
	return string(b)
}

// controller reports whether /proc/cgroups lists name as enabled.
func (h *Host) controller(name string) bool {
	for _, line := range strings.Split(h.read("/proc/cgroups"), "\n") {
		f := strings.Fields(line)
		if len(f) == 4 && f[0] == name {
			return f[3] == "1"
		}
	}
	return false
}

// filesystem reports whether /proc/filesystems lists fs.
func (h *Host) filesystem(fs string) bool {
	for _, line := range strings.Split(h.read("/proc/filesystems"), "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && f[len(f)-1] == fs {
			return true
		}
	}
	return false
}

// mounts lists the mount points of a file system type, from
// /proc/self/mounts.
func (h *Host) mounts(fstype string) []string {
	var mps []string
	for _, line := range strings.Split(h.read("/proc/self/mounts"), "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && f[2] == fstype {
			mps = append(mps, f[1])
		}
	}
	return mps
}

// version returns the kernel's major and minor numbers, from the config's
// header or the release; ok is false when neither says.
func (h *Host) version() (int, int, bool) {
	for _, v := range []string{h.Config["version"], h.Release} {
		parts := strings.SplitN(v, ".", 3)
		if len(parts) < 2 {
			continue
		}
		major, err1 := strconv.Atoi(parts[0])
		minor, err2 := strconv.Atoi(strings.TrimRightFunc(parts[1], func(r rune) bool { return r < '0' || r > '9' }))
		if err1 == nil && err2 == nil {
			return major, minor, true
		}
	}
	return 0, 0, false
}

func (h *Host) run(c check) Line {
	ok := false
	var note string
	if major, minor, known := h.version(); c.minVersion != [2]int{} && known &&
		(major > c.minVersion[0] || major == c.minVersion[0] && minor >= c.minVersion[1]) {
		ok = true
	} else if h.Config != nil && c.symbol != "" {
		v := h.Config[c.symbol]
		ok = v == "y" || v == "m"
		if v == "m" && c.module != "" && !h.Foreign {
			if h.exists("/sys/module/" + c.module) {
				note = ", loaded"
			} else {
				note = ", not loaded"
			}
		}
	} else {
		ok = c.probe(h)
	}
	l := Line{Name: c.name, Note: note}
	switch {
	case ok:
		l.Status = Enabled
	case c.essential:
		l.Status = Required
	default:
		l.Status = Missing
	}
	return l
}

// Check runs every check against h.
func Check(h *Host) *Report {
	r := &Report{Essential: true}
	if h.Config != nil {
		r.Source = "Kernel configuration found at " + h.ConfigPath
	} else {
		r.Source = "Kernel configuration not found; probing the running kernel (/proc, /sys, /lib/modules)"
	}
	section := func(title string, checks []check) Section {
		s := Section{Title: title}
		for _, c := range checks {
			l := h.run(c)
			if l.Status == Required {
				r.Essential = false
			}
			s.Lines = append(s.Lines, l)
		}
		return s
	}
	r.Sections = append(r.Sections, section("Namespaces", namespaceChecks()))

	cg := section("Control groups", cgroupChecks())
	v1, v2 := h.mounts("cgroup"), h.mounts("cgroup2")
	layout := "none"
	switch {
	case len(v1) > 0 && len(v2) > 0:
		layout = "hybrid (v1 and v2)"
	case len(v1) > 0:
		layout = "legacy (v1)"
	case len(v2) > 0:
		layout = "unified (v2)"
	}
	mounted := Line{Name: "Cgroup hierarchies mounted", Status: Enabled}
	if layout == "none" {
		// No hierarchy, no container: golxc puts every container in one.
		mounted.Status = Required
		r.Essential = false
	}
	info := []Line{
		mounted,
		{Name: "Cgroup v1 mount points", Info: true, List: v1},
		{Name: "Cgroup v2 mount points", Info: true, List: v2},
		{Name: "Cgroup layout", Info: true, Value: layout},
	}
	cg.Lines = append(cg.Lines[:1], append(info, cg.Lines[1:]...)...)
	r.Sections = append(r.Sections, cg)
	r.Sections = append(r.Sections, section("Misc", miscChecks()))
	return r
}

// Colours of lxc-checkconfig's statuses on a terminal.
const (
	green  = "\033[1;32m"
	yellow = "\033[1;33m"
	red    = "\033[1;31m"
	normal = "\033[0;39m"
)

// Write prints the report as lxc-checkconfig does; colour is for a
// terminal only.
func (r *Report) Write(w io.Writer, colour bool) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, r.Source)
	for _, s := range r.Sections {
		fmt.Fprintf(bw, "\n--- %s ---\n", s.Title)
		for _, l := range s.Lines {
			switch {
			case l.Info && l.Value != "":
				fmt.Fprintf(bw, "%s: %s\n", l.Name, l.Value)
			case l.Info:
				fmt.Fprintf(bw, "%s:\n", l.Name)
				for _, it := range l.List {
					fmt.Fprintf(bw, " - %s\n", it)
				}
			default:
				st := l.Status.String()
				if colour {
					c := map[Status]string{Enabled: green, Missing: yellow, Required: red}[l.Status]
					st = c + st + normal
				}
				fmt.Fprintf(bw, "%s: %s%s\n", l.Name, st, l.Note)
			}
		}
	}
	return bw.Flush()
}
