package oci

import (
	"fmt"
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/golxc/golxc/internal/cgroup"
	"github.com/golxc/golxc/internal/rootfs"
)

// settings turns linux.resources into cgroup settings for the host's
// layout: a v1 hierarchy's file where the controller has one, else the
// cgroup2 file. Fields with no file here are refused by name.
type settings struct {
	layout *cgroup.Layout
	out    []cgroup.Setting
}

func (s *settings) v1(ctrl string) bool { return s.layout.V1For(ctrl) != nil }

// set adds key1 (v1 hierarchy of ctrl) or key2 (cgroup2); "" for a key a
// version lacks.
func (s *settings) set(ctrl, key1, key2, v1, v2 string) error {
	if s.v1(ctrl) {
		if key1 == "" {
			return fmt.Errorf("no cgroup v1 %s file for it", ctrl)
		}
		s.out = append(s.out, cgroup.Setting{Version: 1, Key: key1, Value: v1})
		return nil
	}
	if s.layout.Unified == "" || key2 == "" {
		return fmt.Errorf("the host has no %s controller", ctrl)
	}
	s.out = append(s.out, cgroup.Setting{Version: 2, Key: key2, Value: v2})
	return nil
}

func itoa(n int64) string   { return strconv.FormatInt(n, 10) }
func utoa(n uint64) string  { return strconv.FormatUint(n, 10) }
func limit2(n int64) string { return map[bool]string{true: "max", false: itoa(n)}[n < 0] }

// Resources translates r; deviceRules says whether the device rules are
// included (the runtime's default allow-list comes with them).
func Resources(layout *cgroup.Layout, r *specs.LinuxResources, deviceRules bool) ([]cgroup.Setting, error) {
	s := &settings{layout: layout}
	if r == nil {
		r = &specs.LinuxResources{}
	}
	wrap := func(field string, err error) error {
		if err != nil {
			return fmt.Errorf("linux.resources.%s: %w", field, err)
		}
		return nil
	}
	if m := r.Memory; m != nil {
		if m.Limit != nil {
			if err := wrap("memory.limit", s.set("memory", "memory.limit_in_bytes", "memory.max", itoa(*m.Limit), limit2(*m.Limit))); err != nil {
				return nil, err
			}
		}
		if m.Reservation != nil {
			if err := wrap("memory.reservation", s.set("memory", "memory.soft_limit_in_bytes", "memory.low", itoa(*m.Reservation), limit2(*m.Reservation))); err != nil {
				return nil, err
			}
		}
		if m.Swap != nil {
			// runtime-spec's swap is memory plus swap, v1's memsw; v2's
			// swap.max is the swap alone.
			v2 := limit2(*m.Swap)
			if *m.Swap > 0 && m.Limit != nil && *m.Limit > 0 {
				v2 = itoa(*m.Swap - *m.Limit)
			}
			if err := wrap("memory.swap", s.set("memory", "memory.memsw.limit_in_bytes", "memory.swap.max", itoa(*m.Swap), v2)); err != nil {
				return nil, err
			}
		}
		if m.Swappiness != nil {
			if err := wrap("memory.swappiness", s.set("memory", "memory.swappiness", "", utoa(*m.Swappiness), "")); err != nil {
				return nil, err
			}
		}
		if m.DisableOOMKiller != nil && *m.DisableOOMKiller {
			if err := wrap("memory.disableOOMKiller", s.set("memory", "memory.oom_control", "", "1", "")); err != nil {
				return nil, err
			}
		}
		if m.Kernel != nil {
			if err := wrap("memory.kernel", s.set("memory", "memory.kmem.limit_in_bytes", "", itoa(*m.Kernel), "")); err != nil {
				return nil, err
			}
		}
		if m.KernelTCP != nil {
			if err := wrap("memory.kernelTCP", s.set("memory", "memory.kmem.tcp.limit_in_bytes", "", itoa(*m.KernelTCP), "")); err != nil {
				return nil, err
			}
		}
		if m.UseHierarchy != nil || m.CheckBeforeUpdate != nil {
			return nil, fmt.Errorf("linux.resources.memory.useHierarchy and checkBeforeUpdate: not built in golxc-runc")
		}
	}
	if c := r.CPU; c != nil {
		if c.Shares != nil {
			// cgroup2's weight from v1 shares, the conversion OCI
			// runtimes agree on: [2, 262144] onto [1, 10000].
			w := 1 + ((int64(*c.Shares)-2)*9999)/262142
			if err := wrap("cpu.shares", s.set("cpu", "cpu.shares", "cpu.weight", utoa(*c.Shares), itoa(w))); err != nil {
				return nil, err
			}
		}
		if c.Period != nil {
			if err := wrap("cpu.period", s.set("cpu", "cpu.cfs_period_us", "", utoa(*c.Period), "")); err != nil && s.v1("cpu") {
				return nil, err
			}
		}
		if c.Quota != nil {
			period := "100000"
			if c.Period != nil {
				period = utoa(*c.Period)
			}
			if err := wrap("cpu.quota", s.set("cpu", "cpu.cfs_quota_us", "cpu.max", itoa(*c.Quota), limit2(*c.Quota)+" "+period)); err != nil {
				return nil, err
			}
		}
		if c.Cpus != "" {
			if err := wrap("cpu.cpus", s.set("cpuset", "cpuset.cpus", "cpuset.cpus", c.Cpus, c.Cpus)); err != nil {
				return nil, err
			}
		}
		if c.Mems != "" {
			if err := wrap("cpu.mems", s.set("cpuset", "cpuset.mems", "cpuset.mems", c.Mems, c.Mems)); err != nil {
				return nil, err
			}
		}
		if c.RealtimePeriod != nil || c.RealtimeRuntime != nil || c.Idle != nil || c.Burst != nil {
			return nil, fmt.Errorf("linux.resources.cpu.realtimePeriod, realtimeRuntime, idle and burst: not built in golxc-runc")
		}
	}
	if p := r.Pids; p != nil && p.Limit != nil {
		if err := wrap("pids.limit", s.set("pids", "pids.max", "pids.max", limit2(*p.Limit), limit2(*p.Limit))); err != nil {
			return nil, err
		}
	}
	if b := r.BlockIO; b != nil {
		if b.Weight != nil {
			if err := wrap("blockIO.weight", s.set("blkio", "blkio.weight", "io.bfq.weight", utoa(uint64(*b.Weight)), utoa(uint64(*b.Weight)))); err != nil {
				return nil, err
			}
		}
		if b.LeafWeight != nil {
			return nil, fmt.Errorf("linux.resources.blockIO.leafWeight: not built in golxc-runc")
		}
		for _, d := range b.WeightDevice {
			if d.Weight == nil {
				continue
			}
			v := fmt.Sprintf("%d:%d %d", d.Major, d.Minor, *d.Weight)
			if err := wrap("blockIO.weightDevice", s.set("blkio", "blkio.weight_device", "io.bfq.weight", v, v)); err != nil {
				return nil, err
			}
		}
		for _, t := range []struct {
			field, key1, key2 string
			devs              []specs.LinuxThrottleDevice
		}{
			{"throttleReadBpsDevice", "blkio.throttle.read_bps_device", "rbps", b.ThrottleReadBpsDevice},
			{"throttleWriteBpsDevice", "blkio.throttle.write_bps_device", "wbps", b.ThrottleWriteBpsDevice},
			{"throttleReadIOPSDevice", "blkio.throttle.read_iops_device", "riops", b.ThrottleReadIOPSDevice},
			{"throttleWriteIOPSDevice", "blkio.throttle.write_iops_device", "wiops", b.ThrottleWriteIOPSDevice},
		} {
			for _, d := range t.devs {
				v1 := fmt.Sprintf("%d:%d %d", d.Major, d.Minor, d.Rate)
				v2 := fmt.Sprintf("%d:%d %s=%d", d.Major, d.Minor, t.key2, d.Rate)
				if err := wrap("blockIO."+t.field, s.set("blkio", t.key1, "io.max", v1, v2)); err != nil {
					return nil, err
				}
			}
		}
	}
	for _, h := range r.HugepageLimits {
		k1 := "hugetlb." + h.Pagesize + ".limit_in_bytes"
		k2 := "hugetlb." + h.Pagesize + ".max"
		if err := wrap("hugepageLimits", s.set("hugetlb", k1, k2, utoa(h.Limit), utoa(h.Limit))); err != nil {
			return nil, err
		}
	}
	if r.Network != nil {
		return nil, fmt.Errorf("linux.resources.network: not built in golxc-runc")
	}
	if len(r.Rdma) > 0 {
		return nil, fmt.Errorf("linux.resources.rdma: not built in golxc-runc")
	}
	for k, v := range r.Unified {
		if s.layout.Unified == "" {
			return nil, fmt.Errorf("linux.resources.unified %s: the host has no cgroup2 hierarchy", k)
		}
		s.out = append(s.out, cgroup.Setting{Version: 2, Key: k, Value: v})
	}
	if deviceRules {
		if err := s.devices(r.Devices); err != nil {
			return nil, err
		}
	}
	return s.out, nil
}

// defaultDevices are the device rules every OCI container gets whatever
// its own say: its default nodes (rootfs.DefaultDevices), the console and
// the ptys of its devpts, and mknod of any node, which the nodes' own
// rules still gate at open.
func defaultDevices() []specs.LinuxDeviceCgroup {
	out := []specs.LinuxDeviceCgroup{
		{Allow: true, Type: "c", Major: i64p(-1), Minor: i64p(-1), Access: "m"},
		{Allow: true, Type: "b", Major: i64p(-1), Minor: i64p(-1), Access: "m"},
	}
	for _, d := range rootfs.DefaultDevices() {
		out = append(out, specs.LinuxDeviceCgroup{Allow: true, Type: d.Type, Major: i64p(d.Major), Minor: i64p(d.Minor), Access: "rwm"})
	}
	return append(out,
		specs.LinuxDeviceCgroup{Allow: true, Type: "c", Major: i64p(5), Minor: i64p(1), Access: "rwm"},
		specs.LinuxDeviceCgroup{Allow: true, Type: "c", Major: i64p(5), Minor: i64p(2), Access: "rwm"},
		specs.LinuxDeviceCgroup{Allow: true, Type: "c", Major: i64p(136), Minor: i64p(-1), Access: "rwm"})
}

func i64p(n int64) *int64 { return &n }

// devices adds the device rules, the spec's then the defaults, as
// devices.allow/deny lines of the host's device controller.
func (s *settings) devices(rules []specs.LinuxDeviceCgroup) error {
	version := 2
	if s.v1("devices") {
		version = 1
	}
	for i, d := range append(append([]specs.LinuxDeviceCgroup{}, rules...), defaultDevices()...) {
		typ := d.Type
		if typ == "" {
			typ = "a"
		}
		num := func(p *int64) string {
			if p == nil || *p < 0 {
				return "*"
			}
			return itoa(*p)
		}
		access := d.Access
		if access == "" {
			access = "rwm"
		}
		line := typ + " " + num(d.Major) + ":" + num(d.Minor) + " " + access
		if typ == "a" {
			line = "a *:* " + access
		}
		if _, err := cgroup.ParseDeviceRule(d.Allow, line); err != nil {
			return fmt.Errorf("linux.resources.devices[%d]: %w", i, err)
		}
		key := "devices.deny"
		if d.Allow {
			key = "devices.allow"
		}
		s.out = append(s.out, cgroup.Setting{Version: version, Key: key, Value: line})
	}
	return nil
}
