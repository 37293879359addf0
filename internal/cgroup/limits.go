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

// Apply writes a container's cgroup settings, in file order, before its
// init runs. The device lines of each version are the device controller
// of that version: v1's are written to devices.allow and devices.deny,
// which the kernel applies line by line; v2's are compiled into one
// device program (SetDevicesV2). A config that carries both sets, as
// Debian's common.conf does, is confined by whichever the host has: on a
// host with no cgroup2 hierarchy the v2 lines are dropped when v1 lines
// are there, and on one with no v1 device hierarchy the other way round;
// with neither set applicable the start fails rather than run a container
// its config meant to confine.
func (g *Group) Apply(settings []Setting) error {
	if g.err != nil {
		return g.err
	}
	var v1Devices, v2Devices bool
	for _, s := range settings {
		if isDeviceKey(s.Key) {
			v1Devices = v1Devices || s.Version == 1
			v2Devices = v2Devices || s.Version == 2
		}
	}
	hasV1Devices := g.v1With("devices") != nil
	var rules []DeviceRule
	for _, s := range settings {
		key := configKey(s.Version, s.Key)
		if isDeviceKey(s.Key) {
			switch {
			case s.Version == 1 && !hasV1Devices && v2Devices && g.v2 != nil:
				continue // confined by the v2 lines
			case s.Version == 2 && g.v2 == nil && v1Devices && hasV1Devices:
				continue // confined by the v1 lines
			case s.Version == 2:
				r, err := ParseDeviceRule(s.Key == "devices.allow", s.Value)
				if err != nil {
					return fmt.Errorf("%s = %s: %w", key, s.Value, err)
				}
				rules = append(rules, r)
				continue
			}
		}
		if err := g.Set(s.Version, s.Key, s.Value); err != nil {
			return err // names the key, the file and the kernel's reason
		}
	}
	if rules != nil {
		return g.SetDevicesV2(rules)
	}
	return nil
}
