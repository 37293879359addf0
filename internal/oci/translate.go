package oci

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/golxc/golxc/internal/cgroup"
	"github.com/golxc/golxc/internal/containerinit"
	"github.com/golxc/golxc/internal/hooks"
	"github.com/golxc/golxc/internal/namespace"
	"github.com/golxc/golxc/internal/rootfs"
	"github.com/golxc/golxc/internal/security"
)

// Plan is what a bundle's config.json becomes for golxc's engine: the
// init stage's spec, the cgroup they go in and its settings.
type Plan struct {
	Init *containerinit.Spec
	// Cgroup is the container's cgroup path below each hierarchy's root
	// (linux.cgroupsPath without its leading "/").
	Cgroup string
	// Limits are the resources but the device rules, written before the
	// init enters the cgroup; Devices are written once its /dev is made.
	Limits, Devices []cgroup.Setting
	// Seccomp is the compiled filter (seccomp.Encode), also for exec.
	Seccomp []byte
	// Pinned are the namespaces to join, open: kept until the init stage
	// is spawned (Close), so that none ends and has its identity taken.
	Pinned []*os.File
}

// Close closes the plan's pinned namespaces.
func (p *Plan) Close() {
	for _, f := range p.Pinned {
		f.Close()
	}
	p.Pinned = nil
}

// defaultCgroupParent is where a container with no linux.cgroupsPath
// goes. Not below the runtime's own cgroup: that is its caller's, which
// it is not the runtime's to divide.
const defaultCgroupParent = "golxc-runc"

// Translate checks spec and turns it into a Plan. bundle is the bundle's
// absolute path. Every field golxc-runc does not implement, and that
// matters, is refused with its name.
func Translate(spec *specs.Spec, bundle, id string, layout *cgroup.Layout) (*Plan, error) {
	if err := refuseUnbuilt(spec); err != nil {
		return nil, err
	}
	if spec.Root == nil || spec.Root.Path == "" {
		return nil, errors.New("config.json: root.path is missing")
	}
	if spec.Process != nil && len(spec.Process.Args) == 0 {
		return nil, errors.New("config.json: process.args is missing")
	}
	if spec.Linux == nil {
		return nil, errors.New("config.json: linux is missing")
	}
	if h := spec.Hooks; h != nil {
		for _, ph := range []struct {
			name string
			hs   []specs.Hook
		}{{"prestart", h.Prestart}, {"createRuntime", h.CreateRuntime}, {"createContainer", h.CreateContainer},
			{"startContainer", h.StartContainer}, {"poststart", h.Poststart}, {"poststop", h.Poststop}} {
			if err := hooks.CheckOCI(ph.name, ph.hs); err != nil {
				return nil, fmt.Errorf("config.json: %w", err)
			}
		}
	}
	p := &Plan{Init: &containerinit.Spec{OCI: *spec, SetGroups: true, DevSymlinks: true}}
	if sp := spec.Process; sp != nil {
		label, err := security.OCILabel(security.DetectLSM("/"), sp.ApparmorProfile, sp.SelinuxLabel)
		if err != nil {
			return nil, fmt.Errorf("config.json: %w", err)
		}
		p.Init.LSM = label
	}
	done := false
	defer func() {
		if !done {
			p.Close()
		}
	}()
	oci := &p.Init.OCI
	// Copies of what is changed below: the caller's spec stays as read.
	// No process at all (runtime-spec allows it at create): the init
	// waits at the gate as root without capabilities, and start refuses.
	proc := specs.Process{Cwd: "/"}
	if spec.Process != nil {
		proc = *spec.Process
	}
	oci.Process = &proc
	root := *spec.Root
	oci.Root = &root
	linux := *spec.Linux
	oci.Linux = &linux
	if !filepath.IsAbs(root.Path) {
		root.Path = filepath.Join(bundle, root.Path)
	}
	if st, err := os.Stat(root.Path); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("config.json: root.path %s is not a directory", root.Path)
	}
	if proc.Cwd != "" && !filepath.IsAbs(proc.Cwd) {
		return nil, fmt.Errorf("config.json: process.cwd %q is not absolute", proc.Cwd)
	}
	if err := translateNamespaces(p); err != nil {
		return nil, err
	}
	if err := translateCapabilities(&proc); err != nil {
		return nil, err
	}
	for i, rl := range proc.Rlimits {
		if !containerinit.KnownRlimit(rl.Type) {
			return nil, fmt.Errorf("config.json: process.rlimits[%d].type %q is no resource of setrlimit(2)", i, rl.Type)
		}
	}
	if proc.OOMScoreAdj != nil {
		p.Init.ProcFiles = append(p.Init.ProcFiles, containerinit.ProcFile{Name: "oom_score_adj", Value: strconv.Itoa(*proc.OOMScoreAdj)})
	}
	for name := range linux.Sysctl {
		if _, ok := containerinit.SysctlNamespace(name); !ok {
			return nil, fmt.Errorf("config.json: linux.sysctl %s is host-wide, not a container's", name)
		}
	}
	cg, err := cgroupPath(linux.CgroupsPath, id)
	if err != nil {
		return nil, err
	}
	p.Cgroup = cg
	if p.Limits, err = Resources(layout, linux.Resources, false); err != nil {
		return nil, err
	}
	if linux.Resources != nil {
		if p.Devices, err = Resources(layout, &specs.LinuxResources{Devices: linux.Resources.Devices}, true); err != nil {
			return nil, err
		}
	} else if p.Devices, err = Resources(layout, &specs.LinuxResources{}, true); err != nil {
		return nil, err
	}
	if linux.Seccomp != nil {
		if p.Seccomp, err = compileSeccomp(linux.Seccomp); err != nil {
			return nil, err
		}
		p.Init.Seccomp = &containerinit.Seccomp{Program: p.Seccomp, AllowNesting: true}
		oci.Linux.Seccomp = nil
	}
	if err := translateMounts(p, bundle, layout); err != nil {
		return nil, err
	}
	if err := refuseUnsafe(p.Init); err != nil {
		return nil, err
	}
	if proc.Terminal {
		if !p.Init.Devpts {
			return nil, errors.New("config.json: process.terminal needs a devpts mount on /dev/pts")
		}
		p.Init.Console = true
	}
	done = true
	return p, nil
}

// refuseUnbuilt names the first field of spec golxc-runc does not
// implement: ignoring it would run a container other than the one asked
// for (an LSM label, a scheduler policy ...).
func refuseUnbuilt(s *specs.Spec) error {
	var bad []string
	add := func(cond bool, field string) {
		if cond {
			bad = append(bad, field)
		}
	}
	if p := s.Process; p != nil {
		add(p.Scheduler != nil, "process.scheduler")
		add(p.IOPriority != nil, "process.ioPriority")
		add(p.ExecCPUAffinity != nil, "process.execCPUAffinity")
		add(p.User.Username != "", "process.user.username")
	}
	if l := s.Linux; l != nil {
		add(l.MountLabel != "", "linux.mountLabel")
		add(l.IntelRdt != nil, "linux.intelRdt")
		add(l.Personality != nil, "linux.personality")
		add(len(l.TimeOffsets) > 0, "linux.timeOffsets")
		add(l.MemoryPolicy != nil, "linux.memoryPolicy")
		add(len(l.NetDevices) > 0, "linux.netDevices")
	}
	add(s.Solaris != nil || s.Windows != nil || s.VM != nil || s.ZOS != nil || s.FreeBSD != nil, "a non-Linux platform section")
	if len(bad) > 0 {
		return fmt.Errorf("config.json: not built in golxc-runc: %s", strings.Join(bad, ", "))
	}
	return nil
}

// translateNamespaces checks the namespaces and records the identity of
// each one to join, as the engine wants it. Each is opened here and kept
// open in p.Pinned until the stage is spawned: the namespace cannot end
// meanwhile, so no other can take its identity (nsfs inode numbers are
// reused) before the engine opens the path again and checks it.
func translateNamespaces(p *Plan) error {
	s := p.Init
	l := s.OCI.Linux
	seen := map[specs.LinuxNamespaceType]bool{}
	var joinedUser *os.File
	pinned := map[int]*os.File{}
	for i, n := range l.Namespaces {
		k, ok := namespace.ByOCI(n.Type)
		if !ok {
			return fmt.Errorf("config.json: linux.namespaces: unknown type %q", n.Type)
		}
		if seen[n.Type] {
			return fmt.Errorf("config.json: linux.namespaces: %s twice", n.Type)
		}
		seen[n.Type] = true
		if n.Path == "" {
			continue
		}
		f, err := openNamespaceFile(n.Path)
		if err != nil {
			return fmt.Errorf("config.json: %s namespace %s: %w", n.Type, n.Path, err)
		}
		p.Pinned = append(p.Pinned, f)
		pinned[i] = f
		id, err := namespace.FDNamespace(int(f.Fd()))
		if err != nil {
			return fmt.Errorf("config.json: %s namespace %s: %w", n.Type, n.Path, err)
		}
		// NS_GET_NSTYPE (ioctl_ns(2)): the CLONE_NEW* flag of the
		// namespace, so that a path to another kind is refused here.
		if typ, err := unix.IoctlRetInt(int(f.Fd()), unix.NS_GET_NSTYPE); err != nil || typ != k.Flag {
			return fmt.Errorf("config.json: %s is not a %s namespace", n.Path, n.Type)
		}
		if n.Type == specs.UserNamespace {
			// Entered by the engine's raw fork (namespace.Spawn), the
			// container's new namespaces made under it.
			if err := checkJoinedUser(f, n.Path); err != nil {
				return fmt.Errorf("config.json: %w", err)
			}
			joinedUser = f
		}
		if s.JoinIDs == nil {
			s.JoinIDs = map[specs.LinuxNamespaceType]namespace.NamespaceID{}
		}
		s.JoinIDs[n.Type] = id
	}
	if !seen[specs.MountNamespace] {
		return errors.New("config.json: linux.namespaces has no mount namespace: golxc-runc builds the root in one of the container's own")
	}
	userns := seen[specs.UserNamespace]
	if joinedUser != nil {
		// runtime-spec's maps are a new user namespace's; a joined one
		// has its own. As runc (1.2) does: none given is fine (the
		// namespace's apply), the same ones are (containerd and CRI-O
		// pass both), others are refused, by the engine once the stage
		// is in the namespace and its maps can be read (an nsfs file of
		// a namespace no process is in shows none).
		if (len(l.UIDMappings) > 0) != (len(l.GIDMappings) > 0) {
			return errors.New("config.json: linux.uidMappings and gidMappings of a user namespace joined by path go together, or neither is given")
		}
		for i, n := range l.Namespaces {
			if n.Path == "" || n.Type == specs.UserNamespace {
				continue
			}
			if err := ownedBy(pinned[i], joinedUser); err != nil {
				return fmt.Errorf("config.json: %s namespace %s: %w", n.Type, n.Path, err)
			}
		}
	} else if userns != (len(l.UIDMappings) > 0) || userns != (len(l.GIDMappings) > 0) {
		return errors.New("config.json: linux.uidMappings and gidMappings go with a new user namespace, and it needs both")
	}
	if userns && len(l.UIDMappings) > 0 {
		if err := (namespace.IDMaps{UID: l.UIDMappings, GID: l.GIDMappings}).Validate(); err != nil {
			return fmt.Errorf("config.json: %w", err)
		}
	}
	return nil
}

// translateCapabilities checks process.capabilities against what the
// engine applies: the bounding set, which root's exec turns into its
// permitted and effective sets. Sets that differ from it are refused.
func translateCapabilities(p *specs.Process) error {
	c := p.Capabilities
	if c == nil {
		// No capabilities at all, as runtime-spec reads a missing set.
		p.Capabilities = &specs.LinuxCapabilities{Bounding: []string{}}
		return nil
	}
	for _, set := range []struct {
		name  string
		names []string
	}{{"bounding", c.Bounding}, {"effective", c.Effective}, {"permitted", c.Permitted}, {"inheritable", c.Inheritable}, {"ambient", c.Ambient}} {
		for _, n := range set.names {
			if _, err := security.CapNumber(n); err != nil {
				return fmt.Errorf("config.json: process.capabilities.%s: %w", set.name, err)
			}
		}
	}
	norm := func(s []string) []string {
		out := slices.Clone(s)
		slices.Sort(out)
		return slices.Compact(out)
	}
	b := norm(c.Bounding)
	for _, c := range c.Inheritable {
		// Root's exec would otherwise gain an inheritable capability
		// beyond the bounding set.
		if !slices.Contains(b, c) {
			return fmt.Errorf("config.json: process.capabilities.inheritable %s is not in the bounding set", c)
		}
	}
	for _, a := range c.Ambient {
		// An ambient capability must be inheritable and permitted to be
		// raised; a user other than root keeps it across its exec.
		if !slices.Contains(b, a) || !slices.Contains(c.Inheritable, a) || (p.User.UID != 0 && !slices.Contains(c.Permitted, a)) {
			return fmt.Errorf("config.json: process.capabilities.ambient %s is not in the bounding, inheritable and permitted sets", a)
		}
	}
	// A user other than root keeps none of its effective and permitted
	// sets across the exec of a program without file capabilities (no
	// ambient set): only the bounding set has an effect, as with runc.
	if p.User.UID == 0 {
		if !slices.Equal(norm(c.Effective), b) || !slices.Equal(norm(c.Permitted), b) {
			return errors.New("config.json: process.capabilities: effective and permitted sets other than the bounding set are not built in golxc-runc")
		}
	}
	return nil
}

// cgroupPath checks linux.cgroupsPath (cgroupfs form) and returns the
// path below each hierarchy's root.
func cgroupPath(p, id string) (string, error) {
	if p == "" {
		return defaultCgroupParent + "/" + id, nil
	}
	if strings.Count(p, ":") == 2 && !strings.HasPrefix(p, "/") {
		return "", fmt.Errorf("config.json: linux.cgroupsPath %q is systemd's slice:prefix:name form: the systemd cgroup driver is not built in golxc-runc", p)
	}
	if !strings.HasPrefix(p, "/") {
		return "", fmt.Errorf("config.json: linux.cgroupsPath %q is relative (below the runtime's own cgroup): give an absolute path", p)
	}
	if strings.Trim(p, "/") == "" {
		return "", fmt.Errorf("config.json: linux.cgroupsPath %q is the root cgroup", p)
	}
	for _, seg := range strings.Split(strings.Trim(p, "/"), "/") {
		if seg == "" || seg == "." || seg == ".." {
			return "", fmt.Errorf("config.json: linux.cgroupsPath %q has an empty, . or .. part", p)
		}
	}
	return strings.Trim(p, "/"), nil
}

// translateMounts makes bind sources absolute (relative ones are the
// bundle's), gives the container's devpts to the engine, and turns a
// cgroup mount into binds of the container's own cgroups.
func translateMounts(p *Plan, bundle string, layout *cgroup.Layout) error {
	var out []specs.Mount
	for i, m := range p.Init.OCI.Mounts {
		if !filepath.IsAbs(m.Destination) {
			return fmt.Errorf("config.json: mounts[%d].destination %q is not absolute", i, m.Destination)
		}
		bind := m.Type == "bind" || slices.Contains(m.Options, "bind") || slices.Contains(m.Options, "rbind")
		if bind && !filepath.IsAbs(m.Source) {
			m.Source = filepath.Join(bundle, m.Source)
		}
		switch {
		case m.Type == "devpts" && filepath.Clean(m.Destination) == "/dev/pts":
			// Mounted in its place, always a new instance (the host's
			// ptys must not show), with /dev/ptmx pointed into it; the
			// engine allocates the console there.
			p.Init.Devpts, p.Init.DevptsInMounts = true, true
			if !slices.Contains(m.Options, "newinstance") {
				m.Options = append(slices.Clone(m.Options), "newinstance")
			}
		case m.Type == "cgroup" || m.Type == "cgroup2":
			out = append(out, cgroupBinds(m, p.Cgroup, layout)...)
			continue
		}
		im, err := idmapMount(p.Init, i, m, bind)
		if err != nil {
			return err
		}
		if im != nil {
			im.Index = len(out)
			p.Init.IDMapMounts = append(p.Init.IDMapMounts, *im)
		}
		out = append(out, m)
	}
	p.Init.OCI.Mounts = out
	// The default devices of runtime-spec's config-linux.md.
	l := p.Init.OCI.Linux
	devs := slices.Clone(l.Devices)
	for _, d := range rootfs.DefaultDevices() {
		if !slices.ContainsFunc(devs, func(x specs.LinuxDevice) bool { return filepath.Clean(x.Path) == d.Path }) {
			devs = append(devs, d)
		}
	}
	for i, d := range devs {
		switch d.Type {
		case "c", "u", "b", "p":
		default:
			return fmt.Errorf("config.json: linux.devices[%d] %s: unknown type %q", i, d.Path, d.Type)
		}
		if d.Type == "u" {
			devs[i].Type = "c"
		}
		if d.UID != nil || d.GID != nil {
			if (d.UID != nil && *d.UID != 0) || (d.GID != nil && *d.GID != 0) {
				return fmt.Errorf("config.json: linux.devices[%d] %s: an owner other than root is not built in golxc-runc", i, d.Path)
			}
		}
	}
	l.Devices = devs
	return nil
}

// idmapMount is mount i made idmapped (runtime-spec: uidMappings and
// gidMappings on it, or the option idmap or ridmap), nil for a plain one.
// Only a bind can be: the parent clones its source's mount. Without maps
// of its own it takes the container's user namespace's.
func idmapMount(s *containerinit.Spec, i int, m specs.Mount, bind bool) (*containerinit.IDMapMount, error) {
	idmap, ridmap := slices.Contains(m.Options, "idmap"), slices.Contains(m.Options, "ridmap")
	maps := len(m.UIDMappings) > 0 || len(m.GIDMappings) > 0
	if !idmap && !ridmap && !maps {
		return nil, nil
	}
	if !bind {
		return nil, fmt.Errorf("config.json: mounts[%d] (%s on %s): only a bind mount can be idmapped here", i, m.Type, m.Destination)
	}
	if maps {
		if len(m.UIDMappings) == 0 || len(m.GIDMappings) == 0 {
			return nil, fmt.Errorf("config.json: mounts[%d] (%s): an idmapped mount needs both uidMappings and gidMappings", i, m.Destination)
		}
		if err := (namespace.IDMaps{UID: m.UIDMappings, GID: m.GIDMappings}).Validate(); err != nil {
			return nil, fmt.Errorf("config.json: mounts[%d] (%s): %w", i, m.Destination, err)
		}
	} else if !s.HasNamespace(specs.UserNamespace) && s.JoinIDs[specs.UserNamespace] == (namespace.NamespaceID{}) {
		return nil, fmt.Errorf("config.json: mounts[%d] (%s): idmap without uidMappings and gidMappings takes the container's user namespace, and it has none", i, m.Destination)
	}
	var opts []string
	for _, o := range m.Options {
		if o != "idmap" && o != "ridmap" {
			opts = append(opts, o)
		}
	}
	return &containerinit.IDMapMount{Source: m.Source, Rbind: slices.Contains(m.Options, "rbind"), Ridmap: ridmap,
		UIDMappings: m.UIDMappings, GIDMappings: m.GIDMappings, Options: opts}, nil
}

// cgroupBinds gives a cgroup mount the container's own cgroups: a tmpfs
// on the destination and, for each hierarchy, a bind of the container's
// directory there, with the mount's options (ro ...). Without a cgroup
// namespace a fresh cgroup mount would show the host's whole tree.
func cgroupBinds(m specs.Mount, cg string, layout *cgroup.Layout) []specs.Mount {
	var flags []string
	for _, o := range m.Options {
		if o == "ro" || o == "nosuid" || o == "nodev" || o == "noexec" {
			flags = append(flags, o)
		}
	}
	out := []specs.Mount{{Destination: m.Destination, Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "nodev", "noexec", "mode=755", "size=64k"}}}
	for _, h := range layout.V1 {
		out = append(out, specs.Mount{Destination: filepath.Join(m.Destination, filepath.Base(h.Mount)), Type: "bind", Source: filepath.Join(h.Base, cg),
			Options: append([]string{"rbind"}, flags...)})
	}
	if layout.Unified != "" {
		dst := filepath.Join(m.Destination, "unified")
		if len(layout.V1) == 0 {
			out = out[:0]
			dst = m.Destination
		}
		out = append(out, specs.Mount{Destination: dst, Type: "bind", Source: filepath.Join(layout.Unified, cg),
			Options: append([]string{"rbind"}, flags...)})
	}
	return out
}
