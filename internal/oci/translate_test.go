package oci

import (
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/golxc/golxc/internal/cgroup"
	"github.com/golxc/golxc/internal/seccomp"
)

func TestCheckID(t *testing.T) {
	for id, ok := range map[string]bool{
		"c1": true, "abc_def.1+2-3": true, "0": true,
		"": false, ".": false, "..": false, "../x": false, "a/b": false, "-x": false, ".x": false, "a b": false, strings.Repeat("a", 1025): false,
	} {
		if err := CheckID(id); (err == nil) != ok {
			t.Errorf("CheckID(%q) = %v, want ok=%v", id, err, ok)
		}
	}
}

func TestCgroupPath(t *testing.T) {
	for _, c := range []struct{ in, want, err string }{
		{"", "golxc-runc/c1", ""},
		{"/default/c1", "default/c1", ""},
		{"/a/b/", "a/b", ""},
		{"system.slice:cri:c1", "", "systemd"},
		{"rel/path", "", "relative"},
		{"/a/../b", "", ". or .."},
		{"/", "", "root cgroup"},
	} {
		got, err := cgroupPath(c.in, "c1")
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("cgroupPath(%q) = %q, %v; want an error with %q", c.in, got, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("cgroupPath(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func i64(n int64) *int64   { return &n }
func u64(n uint64) *uint64 { return &n }

func TestResources(t *testing.T) {
	v1 := &cgroup.Layout{V1: []cgroup.Hierarchy{
		{Mount: "/sys/fs/cgroup/memory", Base: "/sys/fs/cgroup/memory", Controllers: []string{"memory"}},
		{Mount: "/sys/fs/cgroup/cpu", Base: "/sys/fs/cgroup/cpu", Controllers: []string{"cpu", "cpuacct"}},
		{Mount: "/sys/fs/cgroup/pids", Base: "/sys/fs/cgroup/pids", Controllers: []string{"pids"}},
		{Mount: "/sys/fs/cgroup/devices", Base: "/sys/fs/cgroup/devices", Controllers: []string{"devices"}},
	}}
	v2 := &cgroup.Layout{Unified: "/sys/fs/cgroup", UnifiedControllers: []string{"memory", "cpu", "pids"}}
	res := &specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: i64(64 << 20), Swap: i64(128 << 20)},
		CPU:    &specs.LinuxCPU{Shares: u64(1024), Quota: i64(50000), Period: u64(100000)},
		Pids:   &specs.LinuxPids{Limit: i64(-1)},
	}
	str := func(ss []cgroup.Setting) string {
		var out []string
		for _, s := range ss {
			out = append(out, s.Key+"="+s.Value)
		}
		return strings.Join(out, " ")
	}
	got, err := Resources(v1, res, false)
	if err != nil {
		t.Fatal(err)
	}
	if want := "memory.limit_in_bytes=67108864 memory.memsw.limit_in_bytes=134217728 cpu.shares=1024 cpu.cfs_period_us=100000 cpu.cfs_quota_us=50000 pids.max=max"; str(got) != want {
		t.Errorf("v1: %s\nwant %s", str(got), want)
	}
	got, err = Resources(v2, res, false)
	if err != nil {
		t.Fatal(err)
	}
	if want := "memory.max=67108864 memory.swap.max=67108864 cpu.weight=39 cpu.max=50000 100000 pids.max=max"; str(got) != want {
		t.Errorf("v2: %s\nwant %s", str(got), want)
	}
	if _, err := Resources(v1, &specs.LinuxResources{Network: &specs.LinuxNetwork{}}, false); err == nil || !strings.Contains(err.Error(), "linux.resources.network") {
		t.Errorf("network resources: %v, want refused by name", err)
	}
	devs, err := Resources(v1, &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}}}, true)
	if err != nil {
		t.Fatal(err)
	}
	if devs[0].Key != "devices.deny" || devs[0].Value != "a *:* rwm" || !strings.Contains(str(devs), "devices.allow=c 1:3 rwm") {
		t.Errorf("devices: %s", str(devs))
	}
}

func TestCompileSeccomp(t *testing.T) {
	errno := uint(38)
	prog, err := compileSeccomp(&specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Syscalls: []specs.LinuxSyscall{
			{Names: []string{"mkdir", "no_such_call"}, Action: specs.ActErrno, ErrnoRet: &errno},
			{Names: []string{"personality"}, Action: specs.ActErrno, Args: []specs.LinuxSeccompArg{{Index: 0, Value: 8, Op: specs.OpNotEqual}}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	p, err := seccomp.Decode(prog)
	if err != nil || len(p) == 0 {
		t.Fatalf("decode: %v", err)
	}
	found := false
	for _, f := range p {
		// BPF_RET|BPF_K of SECCOMP_RET_ERRNO with the errno.
		found = found || f.Code == 0x06 && f.K == 0x00050000|38
	}
	if !found {
		t.Error("the program never returns ERRNO(38)")
	}
	if _, err := compileSeccomp(&specs.LinuxSeccomp{DefaultAction: specs.ActNotify}); err == nil {
		t.Error("SCMP_ACT_NOTIFY accepted")
	}
	if _, err := compileSeccomp(&specs.LinuxSeccomp{DefaultAction: specs.ActAllow, ListenerPath: "/x"}); err == nil {
		t.Error("listenerPath accepted")
	}
}

func TestRefuseUnbuilt(t *testing.T) {
	s := &specs.Spec{Process: &specs.Process{Scheduler: &specs.Scheduler{}, IOPriority: &specs.LinuxIOPriority{}}, Linux: &specs.Linux{IntelRdt: &specs.LinuxIntelRdt{}}}
	err := refuseUnbuilt(s)
	if err == nil {
		t.Fatal("accepted")
	}
	for _, f := range []string{"process.scheduler", "process.ioPriority", "linux.intelRdt"} {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("%v: does not name %s", err, f)
		}
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("%q: more than one line", err)
	}
}
