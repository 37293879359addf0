package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// SystemConfigEnv names the environment variable that, when set, is the
// path of the system config instead of /etc/lxc/lxc.conf (or the user's
// ~/.config/lxc/lxc.conf): tests and packagers use it.
const SystemConfigEnv = "GOLXC_SYSTEM_CONFIG"

// System is the system configuration of lxc.system.conf(5): where
// containers live and the defaults of the tools.
type System struct {
	Path string // the file read; it need not exist

	LXCPath       string // lxc.lxcpath
	DefaultConfig string // lxc.default_config
	LVMVG         string // lxc.bdev.lvm.vg
	LVMThinPool   string // lxc.bdev.lvm.thin_pool
	ZFSRoot       string // lxc.bdev.zfs.root
	CgroupUse     string // lxc.cgroup.use: comma separated controllers; "" for all
	CgroupPattern string // lxc.cgroup.pattern; "" when not set
	// Monitor is golxc.monitor: MonitorShared (the default) or
	// MonitorPerContainer, LXC's process layout.
	Monitor string

	// Warnings holds lines of the file that are not system keys, as
	// "file:line: message".
	Warnings []string
}

// systemKey is one row of the system key table, in the order lxc-config -l
// lists them.
type systemKey struct {
	name string
	doc  string // one line, for lxc.system.conf(5)
	ptr  func(*System) *string
	def  func(home string, root bool) string // "" when the key has no default
}

var systemKeys = []systemKey{
	{name: "lxc.default_config", doc: "the config lxc-create seeds a new container's config from", ptr: func(s *System) *string { return &s.DefaultConfig },
		def: func(home string, root bool) string {
			if root {
				return "/etc/lxc/default.conf"
			}
			return filepath.Join(home, ".config", "lxc", "default.conf")
		}},
	{name: "lxc.lxcpath", doc: "the directory containers live in (the tools' -P default)", ptr: func(s *System) *string { return &s.LXCPath },
		def: func(home string, root bool) string {
			if root {
				return "/var/lib/lxc"
			}
			return filepath.Join(home, ".local", "share", "lxc")
		}},
	{name: "lxc.bdev.lvm.vg", doc: "LVM volume group of LVM-backed containers", ptr: func(s *System) *string { return &s.LVMVG }, def: func(string, bool) string { return "lxc" }},
	{name: "lxc.bdev.lvm.thin_pool", doc: "LVM thin pool of LVM-backed containers", ptr: func(s *System) *string { return &s.LVMThinPool }, def: func(string, bool) string { return "lxc" }},
	{name: "lxc.bdev.zfs.root", doc: "ZFS dataset under which ZFS-backed containers are made", ptr: func(s *System) *string { return &s.ZFSRoot }, def: func(string, bool) string { return "lxc" }},
	{name: "lxc.cgroup.use", doc: "comma-separated cgroup v1 controllers whose hierarchies containers use; unset: all", ptr: func(s *System) *string { return &s.CgroupUse }},
	{name: "lxc.cgroup.pattern", doc: "cgroup path of a container without lxc.cgroup.dir keys (%n: its name): P/payload and P/monitor", ptr: func(s *System) *string { return &s.CgroupPattern }},
	// golxc's own: LXC ignores it (with a warning), and lxc-config -l,
	// which lists LXC's keys, leaves it out.
	{name: "golxc.monitor", doc: "golxc only: shared (default: one monitor process per lxcpath) or per-container (a monitor process per container, LXC's layout)", ptr: func(s *System) *string { return &s.Monitor }, def: func(string, bool) string { return MonitorShared }},
}

// Values of golxc.monitor.
const (
	MonitorShared       = "shared"
	MonitorPerContainer = "per-container"
)

// SystemKeys lists the keys of the system config in lxc-config -l's order.
func SystemKeys() []string {
	var names []string
	for _, k := range systemKeys {
		if !strings.HasPrefix(k.name, "golxc.") {
			names = append(names, k.name)
		}
	}
	return names
}

// systemIdentity says whose defaults apply: root's system-wide ones or the
// user's under $HOME (lxc.system.conf(5)).
func systemIdentity() (home string, root bool) {
	if os.Geteuid() == 0 {
		return "", true
	}
	home, err := os.UserHomeDir()
	if err != nil {
		// No home: the system-wide paths are the only ones that exist.
		return "", true
	}
	return home, false
}

// SystemConfigPath is the system config file: $GOLXC_SYSTEM_CONFIG when set,
// else /etc/lxc/lxc.conf for root and ~/.config/lxc/lxc.conf for a user.
func SystemConfigPath() string {
	if p := os.Getenv(SystemConfigEnv); p != "" {
		return p
	}
	home, root := systemIdentity()
	if root {
		return "/etc/lxc/lxc.conf"
	}
	return filepath.Join(home, ".config", "lxc", "lxc.conf")
}

// LoadSystem reads the system config at SystemConfigPath. A missing file
// gives LXC's defaults.
func LoadSystem() (*System, error) {
	return ReadSystem(SystemConfigPath())
}

// ReadSystem reads the system config at path over LXC's defaults. A missing
// file gives the defaults; a key with an empty value keeps its default.
func ReadSystem(path string) (*System, error) {
	home, root := systemIdentity()
	s := &System{Path: path}
	for _, k := range systemKeys {
		if k.def != nil {
			*k.ptr(s) = k.def(home, root)
		}
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read system config: %w", err)
	}
	for _, e := range ParseDocument(b).Entries() {
		k := findSystemKey(e.Key)
		if k == nil {
			if len(s.Warnings) < maxWarnings {
				s.Warnings = append(s.Warnings, fmt.Sprintf("%s:%d: ignoring %q: not a system config key (lxc.system.conf(5))", path, e.Line, e.Key))
			}
			continue
		}
		if e.Value == "" {
			continue
		}
		if strings.ContainsRune(e.Value, 0) {
			return nil, &ParseError{File: path, Line: e.Line, Key: e.Key, Err: fmt.Errorf("%w for %q: NUL byte", ErrInvalidValue, e.Key)}
		}
		if k.name == "golxc.monitor" && e.Value != MonitorShared && e.Value != MonitorPerContainer {
			return nil, &ParseError{File: path, Line: e.Line, Key: e.Key, Err: fmt.Errorf("%w %q for golxc.monitor: want %s or %s", ErrInvalidValue, e.Value, MonitorShared, MonitorPerContainer)}
		}
		*k.ptr(s) = e.Value
	}
	return s, nil
}

func findSystemKey(name string) *systemKey {
	for i := range systemKeys {
		if systemKeys[i].name == name {
			return &systemKeys[i]
		}
	}
	return nil
}

// Get returns a system key's value, and whether it has one (set in the file
// or by default).
func (s *System) Get(key string) (string, bool, error) {
	k := findSystemKey(key)
	if k == nil {
		return "", false, fmt.Errorf("%w %q", ErrUnsupportedKey, key)
	}
	v := *k.ptr(s)
	return v, v != "", nil
}

// CgroupControllers is lxc.cgroup.use as a list: the v1 controllers whose
// hierarchies get the container's cgroups. Empty means all of them.
// Spaces around the names are dropped, as are empty entries.
func (s *System) CgroupControllers() []string {
	var out []string
	for _, c := range strings.Split(s.CgroupUse, ",") {
		if c = strings.TrimSpace(c); c != "" {
			out = append(out, c)
		}
	}
	return out
}

// CgroupTree expands lxc.cgroup.pattern for the container name: "%n" is
// the name, the only escape lxc.system.conf(5) documents (LXC 5.0.2
// replaces no other, so any other "%" stays as it is). "" when no pattern
// is set. The container's cgroup is <tree>/payload and its monitor's
// <tree>/monitor, as LXC 5.0.2 places them.
func (s *System) CgroupTree(name string) string {
	if s.CgroupPattern == "" {
		return ""
	}
	return strings.ReplaceAll(s.CgroupPattern, "%n", name)
}
