package lxc

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/golxc/golxc/internal/cgroup"
	"github.com/golxc/golxc/internal/config"
	"github.com/golxc/golxc/internal/containerinit"
	"github.com/golxc/golxc/internal/monitor"
	"github.com/golxc/golxc/internal/namespace"
	"github.com/golxc/golxc/internal/rootfs"
	"github.com/golxc/golxc/internal/security"
	"github.com/golxc/golxc/internal/storage"
)

// defaultPath is the PATH a container's processes get unless the config
// says otherwise: the container's, never the host caller's.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// specOptions are what a start adds to the config.
type specOptions struct {
	Command []string // replaces lxc.init.cmd
	Execute bool     // lxc-execute: golxc's init, caller's stdio, no console
	// Terminal lists the standard descriptors where lxc-execute's caller
	// has a terminal: the command gets a pty of the container there.
	Terminal []int
	// ConsoleSize is the caller's window size (rows, columns) for the
	// console or the command's terminal; nil when it has none.
	ConsoleSize *specs.Box
	// Shared are the namespaces to join (lxc.namespace.share.*,
	// lxc-start --share-*), by kind (ResolveShares).
	Shared map[string]SharedNamespace
}

// buildSpec translates a container config into what the init stage does.
// Every refusal names the key and the value at fault.
func buildSpec(name string, cfg *config.Config, layout *cgroup.Layout, o specOptions) (*containerinit.Spec, []monitor.CgroupSetting, error) {
	s := &containerinit.Spec{}
	oci := &s.OCI
	oci.Version = specs.Version
	oci.Linux = &specs.Linux{}

	root := ""
	if cfg.Rootfs.Raw != "" {
		store, err := storage.Parse(cfg.Rootfs.Raw)
		if err != nil {
			return nil, nil, err
		}
		switch store.Kind {
		case storage.Overlay, storage.Loop:
			if len(cfg.IDMap) > 0 {
				return nil, nil, fmt.Errorf("lxc.rootfs.path %s: a %s rootfs with lxc.idmap is not supported yet", cfg.Rootfs.Raw, store.Kind)
			}
			// Mounted by the init stage in the container's own mount
			// namespace (storage.MountDetached); nothing on the host.
			s.RootStore = store.String()
			if _, err := os.Stat(store.Path); err != nil {
				return nil, nil, fmt.Errorf("lxc.rootfs.path %s: %w", cfg.Rootfs.Raw, err)
			}
			oci.Root = &specs.Root{Path: store.Path}
		default:
			root = store.Path
		}
	}
	if cfg.Rootfs.Mount != "" {
		return nil, nil, fmt.Errorf("lxc.rootfs.mount is not supported yet")
	}
	if root != "" {
		st, err := os.Stat(root)
		if err != nil {
			return nil, nil, fmt.Errorf("lxc.rootfs.path %s: no such directory", root)
		}
		if !st.IsDir() {
			return nil, nil, fmt.Errorf("lxc.rootfs.path %s: not a directory", root)
		}
		if isHostRoot(st) && len(o.Command) == 0 {
			// The host's own root under another name: its init is the
			// host's as surely as with no rootfs at all.
			return nil, nil, fmt.Errorf("lxc.rootfs.path %s is the host's root filesystem: it runs only an explicit command (lxc-start -n NAME -- COMMAND, or lxc-execute), never an init", root)
		}
		oci.Root = &specs.Root{Path: root}
	} else if len(o.Command) == 0 && s.RootStore == "" {
		// Without a root of its own the container sees the host's root
		// filesystem (lxc.container.conf(5), lxc.rootfs.path): an init
		// there is the host's own, which would take the host over.
		return nil, nil, ErrNoRootfs
	}
	oci.Hostname = cfg.UTSName
	if oci.Hostname == "" {
		if len(name) > hostNameMax {
			// Made by hand or by another tool: lxc-create refuses such names.
			return nil, nil, fmt.Errorf("container name %q is longer than %d bytes, too long for its host name: set lxc.uts.name", shortName(name), hostNameMax)
		}
		oci.Hostname = name
	}

	hostNet, veth := false, false
	for _, n := range cfg.Net {
		switch n.Type {
		case "empty", "":
		case "none":
			hostNet = true
		default:
			// veth, macvlan, ipvlan, vlan, phys (internal/network
			// refuses what it does not build).
			veth = true
		}
	}
	// A veth (or any interface to build) beside none gets a namespace of its own to be in, as LXC
	// 5.0.2 gives it.
	hostNet = hostNet && !veth
	if err := checkSupport(cfg); err != nil {
		return nil, nil, err
	}
	label, _, err := lsmLabel(cfg, security.DetectLSM("/"))
	if err != nil {
		return nil, nil, err
	}
	s.LSM = label
	maps, err := idMaps(cfg)
	if err != nil {
		return nil, nil, err
	}
	userns := len(cfg.IDMap) > 0
	if oci.Linux.Namespaces, err = namespaceSet(cfg, userns, hostNet, o.Shared); err != nil {
		return nil, nil, err
	}
	if userns {
		oci.Linux.UIDMappings, oci.Linux.GIDMappings = maps.UID, maps.GID
	}
	for name, ns := range o.Shared {
		k, err := namespace.ByName(name)
		if err != nil {
			return nil, nil, err
		}
		if s.JoinIDs == nil {
			s.JoinIDs = map[specs.LinuxNamespaceType]namespace.NamespaceID{}
		}
		s.JoinIDs[k.OCI] = ns.ID
	}
	if s.RootIDMap, err = rootIDMap(cfg, root, maps); err != nil {
		return nil, nil, err
	}

	if cfg.Autodev {
		size := cfg.AutodevTmpfsSize
		if size <= 0 {
			size = 500000
		}
		oci.Mounts = append(oci.Mounts, specs.Mount{Destination: "/dev", Type: "tmpfs", Source: "none",
			Options: []string{"nosuid", "mode=755", "size=" + strconv.Itoa(size)}})
		oci.Linux.Devices = append(oci.Linux.Devices, rootfs.DefaultDevices()...)
		s.DevSymlinks = true
	}
	caps, err := boundingSet(cfg)
	if err != nil {
		return nil, nil, err
	}
	if err := autoMounts(s, cfg.MountAuto, layout, slices.Contains(caps, "CAP_SYS_ADMIN")); err != nil {
		return nil, nil, err
	}
	if cfg.MountFstab != "" {
		return nil, nil, fmt.Errorf("lxc.mount.fstab is not supported yet")
	}
	for _, e := range cfg.MountEntries {
		target := e.Target
		if root != "" && strings.HasPrefix(target, root+"/") {
			// LXC accepts absolute targets that lie in the rootfs.
			target = strings.TrimPrefix(target, root)
		}
		m := specs.Mount{Source: e.Source, Destination: "/" + strings.TrimPrefix(target, "/"), Type: e.FSType}
		if e.FSType == "none" {
			m.Type = ""
		}
		for _, opt := range strings.Split(e.Options, ",") {
			if opt == "relative" && root == "" {
				return nil, nil, fmt.Errorf("lxc.mount.entry = %s: option relative needs lxc.rootfs.path", e.Raw)
			}
			if opt != "" {
				m.Options = append(m.Options, opt)
			}
		}
		oci.Mounts = append(oci.Mounts, m)
	}
	s.Devpts = true
	s.Console = !o.Execute && cfg.ConsolePath != "none"
	s.TTYs = cfg.TTYMax
	s.TTYDir = cfg.TTYDir
	s.PTYs = cfg.PTYMax

	p := &specs.Process{Cwd: cfg.InitCwd}
	p.User.UID, p.User.GID = uint32(cfg.InitUID), uint32(cfg.InitGID)
	switch {
	case len(o.Command) > 0:
		p.Args = o.Command
	case len(cfg.InitCmd) > 0:
		p.Args = cfg.InitCmd
	default:
		p.Args = []string{"/sbin/init"}
	}
	p.Env = initEnv(cfg.Environment)
	p.ConsoleSize = o.ConsoleSize
	p.Capabilities = &specs.LinuxCapabilities{Bounding: caps}
	p.NoNewPrivileges = cfg.NoNewPrivs
	if s.Seccomp, err = seccompFilter(cfg); err != nil {
		return nil, nil, err
	}
	oci.Process = p
	s.WrapInit = o.Execute
	if o.Execute {
		s.Terminal = o.Terminal
	}

	if err := processLimits(s, cfg); err != nil {
		return nil, nil, err
	}

	var cg []monitor.CgroupSetting
	for _, c := range cfg.Cgroup {
		cg = append(cg, monitor.CgroupSetting{Version: c.Version, Key: c.Key, Value: c.Value})
	}
	return s, cg, nil
}

// ErrNoRootfs refuses to boot an init in a container whose config names
// no root filesystem: only an explicit command runs there.
var ErrNoRootfs = errors.New("lxc.rootfs.path is not set: a container without a root filesystem of its own runs only an explicit command (lxc-start -n NAME -- COMMAND, or lxc-execute), never an init")

// HostRootWarnings returns the line a tool prints when a start of cfg with
// command (lxc-start -- CMD, lxc-execute) runs on the host's root
// filesystem, so nobody does that unawares; nil otherwise.
func HostRootWarnings(cfg *config.Config, command []string) []string {
	if len(command) == 0 {
		return nil
	}
	if cfg.Rootfs.Raw == "" {
		return []string{"lxc.rootfs.path is not set: the container shares the host's root filesystem"}
	}
	if st, err := os.Stat(cfg.Rootfs.Path); err == nil && isHostRoot(st) {
		return []string{"lxc.rootfs.path " + cfg.Rootfs.Path + " is the host's root: the container shares the host's root filesystem"}
	}
	return nil
}

// isHostRoot reports whether st is the directory the host sees as "/".
func isHostRoot(st os.FileInfo) bool {
	root, err := os.Stat("/")
	return err == nil && os.SameFile(st, root)
}

// checkSupport refuses the first key that holds a value golxc would
// otherwise ignore, naming it and the file and line that set it. The
// security modules' keys are lsmLabel's.
func checkSupport(cfg *config.Config) error {
	for _, k := range cfg.SetKeys() {
		if k.Support == config.NotBuilt {
			if at := cfg.Origin(k.Key); at != "" {
				return fmt.Errorf("%s: %s is not supported yet", at, k.Key)
			}
			return fmt.Errorf("%s is not supported yet", k.Key)
		}
	}
	return nil
}

// lsmLabel is what the exec of the container's init runs as under the
// host's security modules (h), with a warning for a module the config
// asks something of and the host does not run (LXC starts such a
// container without the label; so does golxc).
func lsmLabel(cfg *config.Config, h security.HostLSM) (security.Label, []string, error) {
	c := security.LSMConfig{
		AppArmorProfile: cfg.AppArmor.Profile,
		AllowIncomplete: cfg.AppArmor.AllowIncomplete,
		AllowNesting:    cfg.AppArmor.AllowNesting,
		AppArmorRaw:     cfg.AppArmor.Raw,
		SELinuxContext:  cfg.SELinux.Context,
		SELinuxKeyring:  cfg.SELinux.KeyringContext,
	}
	for _, k := range cfg.SetKeys() {
		switch k.Support {
		case config.NeedsAppArmor:
			c.AppArmorKeys = append(c.AppArmorKeys, k.Key)
		case config.NeedsSELinux:
			c.SELinuxKeys = append(c.SELinuxKeys, k.Key)
		}
	}
	current := "unconfined"
	if h.AppArmor {
		current = security.CurrentAppArmor("/proc")
	}
	return security.PlanLabel(h, c, current)
}

// StartWarnings returns what a start of cfg goes on without and the tool
// should print: security module keys on a host without that module.
func StartWarnings(cfg *config.Config) []string {
	_, w, _ := lsmLabel(cfg, security.DetectLSM("/"))
	return append(w, seccompWarnings(cfg)...)
}

// initEnv is the environment of the container's init: LXC's container=lxc,
// the container's PATH, then lxc.environment.
func initEnv(extra []string) []string {
	env := []string{"container=lxc", "PATH=" + defaultPath, "TERM=linux", "HOME=/root"}
	for _, e := range extra {
		k, v, ok := strings.Cut(e, "=")
		if !ok {
			var set bool
			if v, set = os.LookupEnv(k); !set {
				continue
			}
		}
		env = setEnv(env, k, v)
	}
	return env
}

func setEnv(env []string, k, v string) []string {
	for i, e := range env {
		if strings.HasPrefix(e, k+"=") {
			env[i] = k + "=" + v
			return env
		}
	}
	return append(env, k+"="+v)
}

// boundingSet is every capability but lxc.cap.drop, or only lxc.cap.keep.
func boundingSet(cfg *config.Config) ([]string, error) {
	if len(cfg.CapKeep) > 0 && len(cfg.CapDrop) > 0 {
		return nil, fmt.Errorf("lxc.cap.drop and lxc.cap.keep are both set: use one of them")
	}
	if len(cfg.CapKeep) > 0 {
		var keep []string
		for _, k := range cfg.CapKeep {
			if k == "none" {
				continue
			}
			n, err := security.CapNumber(k)
			if err != nil {
				return nil, fmt.Errorf("lxc.cap.keep: %w", err)
			}
			keep = append(keep, security.CapName(n))
		}
		return keep, nil
	}
	drop := map[string]bool{}
	for _, d := range cfg.CapDrop {
		n, err := security.CapNumber(d)
		if err != nil {
			return nil, fmt.Errorf("lxc.cap.drop: %w", err)
		}
		drop[security.CapName(n)] = true
	}
	var caps []string
	for _, c := range security.AllCaps() {
		if !drop[c] {
			caps = append(caps, c)
		}
	}
	return caps, nil
}

// autoMounts adds the mounts of lxc.mount.auto, in the order LXC makes
// them: proc, sys, cgroup (lxc.container.conf(5)), and the masked paths
// every golxc container gets. sysAdmin says whether the container keeps
// CAP_SYS_ADMIN.
func autoMounts(s *containerinit.Spec, auto []string, layout *cgroup.Layout, sysAdmin bool) error {
	var proc, sys, cg string
	cgForce := false
	for _, a := range auto {
		a, force := strings.CutSuffix(a, ":force")
		kind, mode, _ := strings.Cut(a, ":")
		switch kind {
		case "proc":
			proc = or(mode, "mixed")
		case "sys":
			// A bare "sys" is sys:mixed (lxc.container.conf(5)).
			sys = or(mode, "mixed")
		case "cgroup", "cgroup-full":
			// In the container's cgroup namespace the root of every
			// hierarchy is the container's own cgroup, so the full
			// hierarchy is the container's subtree and cgroup-full mounts
			// what cgroup does (as LXC 5 does). A bare cgroup is rw with
			// CAP_SYS_ADMIN, mixed without; both leave the container's
			// own cgroup, the only one it sees, writable.
			cg = or(mode, "mixed")
			cgForce = force
		case "shmounts":
			return fmt.Errorf("lxc.mount.auto = %s is not supported yet", a)
		}
	}
	oci := &s.OCI
	base := []string{"nosuid", "nodev", "noexec"}
	// A bind of a path of the container's own /proc or /sys onto itself,
	// to be made read-only (or kept writable) apart from the rest.
	self := func(p string) specs.Mount {
		return specs.Mount{Destination: p, Source: p, Type: "bind", Options: []string{"bind", "relative"}}
	}
	if proc != "" {
		oci.Mounts = append(oci.Mounts, specs.Mount{Destination: "/proc", Type: "proc", Source: "proc", Options: base})
		if proc == "mixed" {
			// /proc/sys read-only but for /proc/sys/net, which belongs
			// to the container's network namespace (lxc.container.conf(5)).
			oci.Mounts = append(oci.Mounts, self("/proc/sys"), self("/proc/sys/net"))
			oci.Linux.ReadonlyPaths = append(oci.Linux.ReadonlyPaths, "/proc/sys")
			oci.Linux.ReadonlyPaths = append(oci.Linux.ReadonlyPaths, rootfs.ProcReadonlyPaths()...)
		}
	}
	switch sys {
	case "":
	case "ro":
		oci.Mounts = append(oci.Mounts, specs.Mount{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "nodev", "noexec", "ro"}})
	case "rw":
		oci.Mounts = append(oci.Mounts, specs.Mount{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: base})
	default:
		// sys:mixed: read-only but for /sys/devices/virtual/net, the
		// container's own network devices (sysfs shows the network
		// namespace of whoever mounts it). The writable bind is made
		// first; /sys is then remounted read-only in place.
		oci.Mounts = append(oci.Mounts, specs.Mount{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: base},
			self("/sys/devices/virtual/net"))
		oci.Linux.ReadonlyPaths = append(oci.Linux.ReadonlyPaths, "/sys")
	}
	// LXC leaves the cgroup file systems to the container when it can
	// mount them itself in its cgroup namespace (it keeps CAP_SYS_ADMIN),
	// unless :force asks (lxc.container.conf(5)).
	if cg != "" && (cgForce || !sysAdmin) {
		oci.Mounts = append(oci.Mounts, cgroupMounts(layout, cg == "ro")...)
	}
	oci.Linux.MaskedPaths = append(oci.Linux.MaskedPaths, rootfs.MaskedPaths()...)
	return nil
}

// cgroupMounts mounts the container's view of each hierarchy under
// /sys/fs/cgroup. Made in the container's cgroup namespace, each mount's
// root is the container's own cgroup.
func cgroupMounts(layout *cgroup.Layout, ro bool) []specs.Mount {
	opts := []string{"nosuid", "nodev", "noexec"}
	if ro {
		opts = append(opts, "ro")
	}
	if len(layout.V1) == 0 && layout.Unified != "" {
		return []specs.Mount{{Destination: "/sys/fs/cgroup", Type: "cgroup2", Source: "cgroup2", Options: opts}}
	}
	// Read-write whatever the mode, as LXC's (lxc.container.conf(5)).
	ms := []specs.Mount{{Destination: "/sys/fs/cgroup", Type: "tmpfs", Source: "none", Options: []string{"nosuid", "nodev", "noexec", "mode=755", "size=10240k"}}}
	for _, h := range layout.V1 {
		data := strings.Join(h.Controllers, ",")
		if strings.HasPrefix(data, "name=") {
			data = "none," + data
		}
		ms = append(ms, specs.Mount{Destination: "/sys/fs/cgroup/" + filepath.Base(h.Mount), Type: "cgroup", Source: "cgroup",
			Options: append(append([]string{}, opts...), data)})
	}
	if layout.Unified != "" {
		ms = append(ms, specs.Mount{Destination: "/sys/fs/cgroup/unified", Type: "cgroup2", Source: "cgroup2", Options: opts})
	}
	return ms
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
