package cgroup

import "fmt"

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
	for _, s := range settings {
		if isDeviceKey(s.Key) {
			continue
		}
		if err := g.Set(s.Version, s.Key, s.Value); err != nil {
			return err // names the key, the file and the kernel's reason
		}
	}
	return nil
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
	var v1Lines, v2Lines bool
	for _, s := range settings {
		if isDeviceKey(s.Key) {
			v1Lines = v1Lines || s.Version == 1
			v2Lines = v2Lines || s.Version == 2
		}
	}
	hasV1 := g.v1With("devices") != nil
	var rules []DeviceRule
	for _, s := range settings {
		if !isDeviceKey(s.Key) {
			continue
		}
		switch {
		case s.Version == 1 && !hasV1 && v2Lines && g.v2 != nil:
			// confined by the v2 lines
		case s.Version == 2 && g.v2 == nil && v1Lines && hasV1:
			// confined by the v1 lines
		case s.Version == 2:
			r, err := ParseDeviceRule(s.Key == "devices.allow", s.Value)
			if err != nil {
				return fmt.Errorf("%s = %s: %w", configKey(2, s.Key), s.Value, err)
			}
			rules = append(rules, r)
		default:
			if err := g.Set(s.Version, s.Key, s.Value); err != nil {
				return err
			}
		}
	}
	if rules != nil {
		return g.SetDevicesV2(rules)
	}
	return nil
}
