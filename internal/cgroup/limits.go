package cgroup

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
)

// Setting is one lxc.cgroup.KEY (Version 1) or lxc.cgroup2.KEY (Version
// 2) line of a container's config.
type Setting struct {
	Version int
	Key     string
	Value   string
}

func isDeviceKey(k string) bool { return k == "devices.allow" || k == "devices.deny" }

// ApplyLimits writes a container's cgroup settings but the device lines,
// in file order, before its init stage enters the group.
func (g *Group) ApplyLimits(settings []Setting) error {
	if g.err != nil {
		return g.err
	}
	for _, s := range orderLimits(settings) {
		if isDeviceKey(s.Key) {
			continue
		}
		if err := g.Set(s.Version, s.Key, s.Value); err != nil {
			return err // names the key, the file and the kernel's reason
		}
	}
	return nil
}

// orderLimits returns settings in file order but for v1's
// memory.memsw.limit_in_bytes, moved after the last
// memory.limit_in_bytes, as LXC does: the kernel refuses a memory+swap
// limit below the memory limit, which is unlimited until written.
func orderLimits(settings []Setting) []Setting {
	last := -1
	for i, s := range settings {
		if s.Version == 1 && s.Key == "memory.limit_in_bytes" {
			last = i
		}
	}
	var out, memsw []Setting
	for i, s := range settings {
		if s.Version == 1 && s.Key == "memory.memsw.limit_in_bytes" && i < last {
			memsw = append(memsw, s)
			continue
		}
		out = append(out, s)
		if i == last {
			out = append(out, memsw...)
		}
	}
	return out
}

// ApplyDevices applies the device lines, once the container's /dev and
// ptys are made (as LXC does: a config may refuse the very nodes that
// setup makes) and before its init runs. Each version's lines are the
// device controller of that version: v1's are written to devices.allow
// and devices.deny, which the kernel applies line by line; v2's are
// compiled into one device program (SetDevicesV2). A config that carries
// both sets, as Debian's common.conf does, is confined by whichever the
// host has: with no cgroup2 hierarchy the v2 lines are dropped when v1
// lines are there, with no v1 device hierarchy the other way round; with
// neither applicable the start fails rather than run a container its
// config meant to confine.
func (g *Group) ApplyDevices(settings []Setting) error {
	if g.err != nil {
		return g.err
	}
	v1, v2 := deviceLines(settings, g.v1With("devices") != nil, g.v2 != nil)
	for _, s := range v1 {
		if err := g.Set(1, s.Key, s.Value); err != nil {
			return err
		}
	}
	var rules []DeviceRule
	for _, s := range v2 {
		r, err := ParseDeviceRule(s.Key == "devices.allow", s.Value)
		if err != nil {
			return fmt.Errorf("%s = %s: %w", configKey(2, s.Key), s.Value, err)
		}
		rules = append(rules, r)
	}
	if v2 != nil {
		return g.SetDevicesV2(rules)
	}
	return nil
}

// deviceLines picks the device lines to apply on a host with (hasV1) or
// without a v1 devices hierarchy and with or without cgroup2 (hasV2):
// each version's own, but a set the host cannot apply is dropped when
// the other set can be. Lines left for a missing hierarchy stay, so that
// the start fails naming them.
func deviceLines(settings []Setting, hasV1, hasV2 bool) (v1, v2 []Setting) {
	for _, s := range settings {
		if isDeviceKey(s.Key) {
			if s.Version == 1 {
				v1 = append(v1, s)
			} else {
				v2 = append(v2, s)
			}
		}
	}
	if !hasV1 && hasV2 && v2 != nil {
		v1 = nil
	}
	if !hasV2 && hasV1 && v1 != nil {
		v2 = nil
	}
	return v1, v2
}

// v2Controllers are the cgroup2 controllers whose files a lxc.cgroup2
// key may name; other prefixes are core files (cgroup.*) or not a
// controller the base has to enable.
var v2Controllers = []string{"cpu", "cpuset", "io", "memory", "pids", "hugetlb", "rdma", "misc"}

// EnableFor enables, in the base's cgroup.subtree_control, the cgroup2
// controllers the lxc.cgroup2 settings need, as LXC does: a group's
// memory.max exists only when its parent enables memory. A controller the
// base does not offer (this host's cgroup2 may have none: they are bound
// to the v1 hierarchies) fails in one line naming the key. The groups are
// made right under the base, so the base is the only level to enable.
func (l *Layout) EnableFor(settings []Setting) error {
	return l.enableFor(nil, settings)
}

// EnableFor is Layout.EnableFor for a group below intermediate
// directories (lxc.cgroup.dir): the controllers are enabled in the base
// and in each cgroup2 directory between it and the group, as a
// controller's files exist only where the parent enables it.
func (g *Group) EnableFor(settings []Setting) error {
	return g.layout.enableFor(g, settings)
}

func (l *Layout) enableFor(g *Group, settings []Setting) error {
	var ctrls, keys []string
	for _, s := range settings {
		if s.Version != 2 || isDeviceKey(s.Key) {
			continue
		}
		ctrl, _, _ := strings.Cut(s.Key, ".")
		if !slices.Contains(v2Controllers, ctrl) {
			continue
		}
		if l.Unified != "" && !slices.Contains(l.UnifiedControllers, ctrl) {
			return fmt.Errorf("set %s: the host's cgroup2 does not offer the %s controller here (not in %s)",
				configKey(2, s.Key), ctrl, filepath.Join(l.Unified, "cgroup.controllers"))
		}
		if !slices.Contains(ctrls, ctrl) {
			ctrls = append(ctrls, ctrl)
			keys = append(keys, configKey(2, s.Key))
		}
	}
	if len(ctrls) == 0 {
		return nil
	}
	if err := l.EnableControllers(ctrls...); err != nil {
		return fmt.Errorf("set %s: %w", strings.Join(keys, ", "), err)
	}
	if g == nil || g.v2 == nil {
		return nil
	}
	for _, dir := range parentsOf(g.v2.path, g.name) {
		if err := l.enableIn(dir, ctrls); err != nil {
			return fmt.Errorf("set %s: %w", strings.Join(keys, ", "), err)
		}
	}
	return nil
}
