package cgroup

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

const hybridMountinfo = `22 1 0:20 / /sys rw,nosuid,nodev,noexec,relatime - sysfs sysfs rw
30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
32 30 0:29 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
33 30 0:30 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
35 30 0:32 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
36 30 0:33 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
37 30 0:34 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
38 30 0:35 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`

const hybridPid1 = `9:name=systemd:/
8:pids:/
7:blkio:/
6:freezer:/
5:devices:/
4:memory:/
3:cpuset:/
2:cpuacct:/
1:cpu:/
0::/
`

const v2Mountinfo = `24 1 0:22 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
35 24 0:30 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
`

const v1Mountinfo = `25 24 0:23 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
26 25 0:24 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:10 - cgroup cgroup rw,xattr,release_agent=/lib/systemd/systemd-cgroups-agent,name=systemd
27 25 0:25 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,cpu,cpuacct
28 25 0:26 / /sys/fs/cgroup/net_cls,net_prio rw,nosuid,nodev,noexec,relatime shared:12 - cgroup cgroup rw,net_cls,net_prio
29 25 0:27 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:13 - cgroup cgroup rw,memory
30 24 0:25 / /mnt/cpu\040bind rw,relatime shared:11 - cgroup cgroup rw,cpu,cpuacct
`

const v1Pid1 = `5:memory:/init.scope
4:net_cls,net_prio:/
3:cpu,cpuacct:/init.scope
1:name=systemd:/init.scope
`

// A container's view without a cgroup namespace: each mount's root is the
// container's own cgroup, and PID 1 sits in a child of it.
const nestedMountinfo = `100 90 0:40 /lxc.payload.outer /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
101 90 0:41 /lxc.payload.outer /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
102 90 0:42 /lxc.payload.outer /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`

const nestedPid1 = `2:memory:/lxc.payload.outer/sub
1:pids:/elsewhere
0::/lxc.payload.outer/init.scope
`

func TestParseLayout(t *testing.T) {
	tests := []struct {
		name        string
		mountinfo   string
		pid1        string
		controllers string // written to the unified base's cgroup.controllers
		wantV1      []Hierarchy
		wantUnified string
		wantCtrls   []string
		wantMode    string
	}{
		{
			name:      "hybrid host",
			mountinfo: hybridMountinfo, pid1: hybridPid1,
			controllers: "hugetlb\n",
			wantV1: []Hierarchy{
				{"/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpu", []string{"cpu"}},
				{"/sys/fs/cgroup/cpuacct", "/sys/fs/cgroup/cpuacct", []string{"cpuacct"}},
				{"/sys/fs/cgroup/cpuset", "/sys/fs/cgroup/cpuset", []string{"cpuset"}},
				{"/sys/fs/cgroup/memory", "/sys/fs/cgroup/memory", []string{"memory"}},
				{"/sys/fs/cgroup/devices", "/sys/fs/cgroup/devices", []string{"devices"}},
				{"/sys/fs/cgroup/freezer", "/sys/fs/cgroup/freezer", []string{"freezer"}},
				{"/sys/fs/cgroup/blkio", "/sys/fs/cgroup/blkio", []string{"blkio"}},
				{"/sys/fs/cgroup/pids", "/sys/fs/cgroup/pids", []string{"pids"}},
				{"/sys/fs/cgroup/systemd", "/sys/fs/cgroup/systemd", []string{"name=systemd"}},
			},
			wantUnified: "/sys/fs/cgroup/unified",
			wantCtrls:   []string{"hugetlb"},
			wantMode:    "hybrid",
		},
		{
			name:      "pure v2 host, PID 1 in init.scope",
			mountinfo: v2Mountinfo, pid1: "0::/init.scope\n",
			controllers: "cpuset cpu io memory pids\n",
			wantUnified: "/sys/fs/cgroup",
			wantCtrls:   []string{"cpuset", "cpu", "io", "memory", "pids"},
			wantMode:    "v2",
		},
		{
			name:      "pure v2 host, PID 1 in a sub-cgroup",
			mountinfo: v2Mountinfo, pid1: "0::/machine.slice/ct1\n",
			controllers: "memory pids\n",
			wantUnified: "/sys/fs/cgroup/machine.slice/ct1",
			wantCtrls:   []string{"memory", "pids"},
			wantMode:    "v2",
		},
		{
			name:      "v1 host with comounted cpu,cpuacct and a bind mount",
			mountinfo: v1Mountinfo, pid1: v1Pid1,
			wantV1: []Hierarchy{
				{"/sys/fs/cgroup/systemd", "/sys/fs/cgroup/systemd", []string{"name=systemd"}},
				{"/sys/fs/cgroup/cpu,cpuacct", "/sys/fs/cgroup/cpu,cpuacct", []string{"cpu", "cpuacct"}},
				{"/sys/fs/cgroup/net_cls,net_prio", "/sys/fs/cgroup/net_cls,net_prio", []string{"net_cls", "net_prio"}},
				{"/sys/fs/cgroup/memory", "/sys/fs/cgroup/memory", []string{"memory"}},
			},
			wantMode: "v1",
		},
		{
			name:      "hybrid systemd host, PID 1 in init.scope",
			mountinfo: hybridMountinfo,
			pid1:      strings.NewReplacer("9:name=systemd:/\n", "9:name=systemd:/init.scope\n", "0::/\n", "0::/init.scope\n").Replace(hybridPid1),
			wantV1: []Hierarchy{
				{"/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpu", []string{"cpu"}},
				{"/sys/fs/cgroup/cpuacct", "/sys/fs/cgroup/cpuacct", []string{"cpuacct"}},
				{"/sys/fs/cgroup/cpuset", "/sys/fs/cgroup/cpuset", []string{"cpuset"}},
				{"/sys/fs/cgroup/memory", "/sys/fs/cgroup/memory", []string{"memory"}},
				{"/sys/fs/cgroup/devices", "/sys/fs/cgroup/devices", []string{"devices"}},
				{"/sys/fs/cgroup/freezer", "/sys/fs/cgroup/freezer", []string{"freezer"}},
				{"/sys/fs/cgroup/blkio", "/sys/fs/cgroup/blkio", []string{"blkio"}},
				{"/sys/fs/cgroup/pids", "/sys/fs/cgroup/pids", []string{"pids"}},
				{"/sys/fs/cgroup/systemd", "/sys/fs/cgroup/systemd", []string{"name=systemd"}},
			},
			wantUnified: "/sys/fs/cgroup/unified",
			wantMode:    "hybrid",
		},
		{
			name:      "nested: mount root is a cgroup, PID 1 below it or outside it",
			mountinfo: nestedMountinfo, pid1: nestedPid1,
			wantV1: []Hierarchy{
				{"/sys/fs/cgroup/memory", "/sys/fs/cgroup/memory/sub", []string{"memory"}},
				{"/sys/fs/cgroup/pids", "/sys/fs/cgroup/pids", []string{"pids"}}, // clamped
			},
			wantUnified: "/sys/fs/cgroup/unified",
			wantMode:    "hybrid",
		},
		{
			name:     "nothing mounted",
			pid1:     "0::/\n",
			wantMode: "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			if tt.controllers != "" {
				dir := root + tt.wantUnified
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, "cgroup.controllers"), []byte(tt.controllers), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			l, err := ParseLayout(strings.NewReader(tt.mountinfo), strings.NewReader(tt.pid1), root)
			if err != nil {
				t.Fatalf("ParseLayout: %v", err)
			}
			var want []Hierarchy
			for _, h := range tt.wantV1 {
				want = append(want, Hierarchy{Mount: root + h.Mount, Base: root + h.Base, Controllers: h.Controllers})
			}
			if !reflect.DeepEqual(l.V1, want) {
				t.Errorf("V1 =\n%+v\nwant\n%+v", l.V1, want)
			}
			wantUnified := ""
			if tt.wantUnified != "" {
				wantUnified = root + tt.wantUnified
			}
			if l.Unified != wantUnified {
				t.Errorf("Unified = %q, want %q", l.Unified, wantUnified)
			}
			if !reflect.DeepEqual(l.UnifiedControllers, tt.wantCtrls) {
				t.Errorf("UnifiedControllers = %q, want %q", l.UnifiedControllers, tt.wantCtrls)
			}
			if got := l.Mode(); got != tt.wantMode {
				t.Errorf("Mode() = %q, want %q", got, tt.wantMode)
			}
		})
	}
}

func TestParseLayoutErrors(t *testing.T) {
	_, err := ParseLayout(strings.NewReader(hybridMountinfo), strings.NewReader("garbage\n"), t.TempDir())
	if err == nil || !strings.Contains(err.Error(), `bad line "garbage"`) {
		t.Fatalf("err = %v, want a bad line error", err)
	}
}

func TestBasePath(t *testing.T) {
	tests := []struct {
		name, mountRoot, pid1, want string
	}{
		{"root", "/", "/", "/m"},
		{"sub-cgroup", "/", "/a/b", "/m/a/b"},
		{"init.scope pruned", "/", "/init.scope", "/m"},
		{"nested init.scope pruned", "/", "/ct/init.scope", "/m/ct"},
		{"init.scope only as last part", "/", "/init.scope/x", "/m/init.scope/x"},
		{"under mount root", "/lxc.payload.x", "/lxc.payload.x/y", "/m/y"},
		{"equal to mount root", "/lxc.payload.x", "/lxc.payload.x", "/m"},
		{"outside mount root clamped", "/lxc.payload.x", "/lxc.payload.xy", "/m"},
		{"cgroup namespace escape clamped", "/", "/../../lxc.payload.x", "/m"},
		{"relative path clamped", "/", "foo", "/m"},
		{"empty clamped", "/", "", "/m"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := basePath("/m", tt.mountRoot, tt.pid1); got != tt.want {
				t.Errorf("basePath(/m, %q, %q) = %q, want %q", tt.mountRoot, tt.pid1, got, tt.want)
			}
		})
	}
}

func TestLayoutUse(t *testing.T) {
	l := &Layout{
		V1: []Hierarchy{
			{Mount: "/c/cpu,cpuacct", Controllers: []string{"cpu", "cpuacct"}},
			{Mount: "/c/memory", Controllers: []string{"memory"}},
			{Mount: "/c/pids", Controllers: []string{"pids"}},
			{Mount: "/c/systemd", Controllers: []string{"name=systemd"}},
		},
		Unified: "/c/unified",
	}
	if got := l.Use(nil); got != l {
		t.Errorf("Use(nil) is a new layout")
	}
	got := l.Use([]string{"memory", "cpuacct", "nosuch"})
	var mounts []string
	for _, h := range got.V1 {
		mounts = append(mounts, h.Mount)
	}
	if want := []string{"/c/cpu,cpuacct", "/c/memory"}; !slices.Equal(mounts, want) {
		t.Errorf("Use kept %q, want %q", mounts, want)
	}
	if got.Unified != "/c/unified" {
		t.Errorf("Use dropped the unified hierarchy")
	}
	if len(l.V1) != 4 {
		t.Errorf("Use changed its receiver")
	}
}
