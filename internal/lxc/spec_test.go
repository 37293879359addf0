package lxc

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/golxc/golxc/internal/cgroup"
	"github.com/golxc/golxc/internal/config"
	"github.com/golxc/golxc/internal/monitor"
	"github.com/golxc/golxc/internal/rootfs"
	"github.com/golxc/golxc/internal/security"
)

// Host layouts, in the formats of /proc/self/mountinfo and /proc/1/cgroup
// (proc(5)); the same shapes as internal/cgroup's fixtures.
const (
	hybridMountinfo = `22 1 0:20 / /sys rw,nosuid,nodev,noexec,relatime - sysfs sysfs rw
30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
31 30 0:28 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
33 30 0:30 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
38 30 0:35 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`
	hybridPid1 = `6:name=systemd:/init.scope
5:pids:/
4:memory:/
3:cpuset:/
2:cpu,cpuacct:/
0::/init.scope
`
	v2Mountinfo = `24 1 0:22 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
35 24 0:30 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
`
	v2Pid1 = "0::/init.scope\n"

	v1Mountinfo = `25 24 0:23 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
27 25 0:25 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,cpu,cpuacct
29 25 0:27 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:13 - cgroup cgroup rw,memory
`
	v1Pid1 = `5:memory:/
3:cpu,cpuacct:/
`
)

func layoutOf(t *testing.T, mountinfo, pid1 string) *cgroup.Layout {
	t.Helper()
	l, err := cgroup.ParseLayout(strings.NewReader(mountinfo), strings.NewReader(pid1), t.TempDir())
	if err != nil {
		t.Fatalf("ParseLayout: %v", err)
	}
	return l
}

// specConfig is a config with a real rootfs directory and the given keys
// applied in order.
func specConfig(t *testing.T, keys ...[2]string) (*config.Config, string) {
	t.Helper()
	root := t.TempDir()
	cfg := config.New()
	if err := cfg.Set("lxc.rootfs.path", "dir:"+root); err != nil {
		t.Fatal(err)
	}
	for _, kv := range keys {
		if err := cfg.Set(kv[0], kv[1]); err != nil {
			t.Fatalf("Set(%s, %s): %v", kv[0], kv[1], err)
		}
	}
	return cfg, root
}

func kv(k, v string) [2]string { return [2]string{k, v} }

func nsTypes(s *specs.Spec) []specs.LinuxNamespaceType {
	var out []specs.LinuxNamespaceType
	for _, n := range s.Linux.Namespaces {
		out = append(out, n.Type)
	}
	return out
}

func mountIndex(ms []specs.Mount, dst string) int {
	return slices.IndexFunc(ms, func(m specs.Mount) bool { return m.Destination == dst })
}

func TestBuildSpecNamespaces(t *testing.T) {
	layout := layoutOf(t, v2Mountinfo, v2Pid1)
	always := []specs.LinuxNamespaceType{specs.PIDNamespace, specs.MountNamespace, specs.UTSNamespace, specs.IPCNamespace, specs.CgroupNamespace}
	tests := []struct {
		name    string
		keys    [][2]string
		wantNet bool
		wantErr []string // substrings of the refusal
	}{
		{name: "no network configured", wantNet: true},
		{name: "empty", keys: [][2]string{kv("lxc.net.0.type", "empty")}, wantNet: true},
		{name: "none shares the host's", keys: [][2]string{kv("lxc.net.0.type", "none")}, wantNet: false},
		{name: "none among empties", keys: [][2]string{kv("lxc.net.0.type", "empty"), kv("lxc.net.1.type", "none")}, wantNet: false},
		{name: "veth", keys: [][2]string{kv("lxc.net.0.type", "veth")}, wantNet: true},
		{name: "veth beside none", keys: [][2]string{kv("lxc.net.0.type", "none"), kv("lxc.net.1.type", "veth")}, wantNet: true},
		{name: "phys", keys: [][2]string{kv("lxc.net.0.type", "phys"), kv("lxc.net.0.link", "x0")}, wantNet: true},
		{name: "macvlan at index 3 beside none", keys: [][2]string{kv("lxc.net.0.type", "none"), kv("lxc.net.3.type", "macvlan")}, wantNet: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, _ := specConfig(t, tt.keys...)
			s, _, err := buildSpec("c1", cfg, layout, specOptions{})
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatalf("buildSpec accepted %v", tt.keys)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not name %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("buildSpec: %v", err)
			}
			got := nsTypes(&s.OCI)
			for _, n := range always {
				if !slices.Contains(got, n) {
					t.Errorf("namespaces %v lack %s", got, n)
				}
			}
			if slices.Contains(got, specs.UserNamespace) {
				t.Errorf("namespaces %v hold a user namespace: golxc runs privileged containers", got)
			}
			if has := slices.Contains(got, specs.NetworkNamespace); has != tt.wantNet {
				t.Errorf("network namespace = %v, want %v (namespaces %v)", has, tt.wantNet, got)
			}
			if has := s.HasNamespace(specs.NetworkNamespace); has != tt.wantNet {
				t.Errorf("HasNamespace(network) = %v, want %v", has, tt.wantNet)
			}
		})
	}
}

func TestBuildSpecRootfs(t *testing.T) {
	layout := layoutOf(t, v2Mountinfo, v2Pid1)
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "no", "such", "rootfs")
	tests := []struct {
		name     string
		value    string // lxc.rootfs.path
		keys     [][2]string
		command  []string
		wantRoot string // "" with no error: no Root
		wantErr  []string
	}{
		{name: "plain dir", value: dir, wantRoot: dir},
		{name: "dir: prefix", value: "dir:" + dir, wantRoot: dir},
		{name: "unset with a command shares the host's", value: "", command: []string{"/bin/true"}, wantRoot: ""},
		// The host's own init on the host's root filesystem: never.
		{name: "unset without a command", value: "", wantErr: []string{"lxc.rootfs.path is not set", "explicit command"}},
		{name: "unset with lxc.init.cmd", value: "", keys: [][2]string{kv("lxc.init.cmd", "/sbin/init")}, wantErr: []string{"lxc.rootfs.path is not set"}},
		{name: "the host's root", value: "dir:/", wantErr: []string{"lxc.rootfs.path /", "host's root"}},
		{name: "the host's root, spelt otherwise", value: "/usr/..", wantErr: []string{"host's root"}},
		{name: "the host's root with a command", value: "/", command: []string{"/bin/true"}, wantRoot: "/"},
		{name: "missing", value: missing, wantErr: []string{"lxc.rootfs.path", missing}},
		{name: "missing with dir:", value: "dir:" + missing, wantErr: []string{"lxc.rootfs.path", missing}},
		{name: "a file", value: file, wantErr: []string{"lxc.rootfs.path", file, "not a directory"}},
		{name: "overlay", value: "overlay:/lower:/upper", wantErr: []string{"lxc.rootfs.path", "overlay:/lower:/upper"}},
		{name: "loop", value: "loop:/img", wantErr: []string{"lxc.rootfs.path", "loop:/img"}},
		{name: "rootfs.mount", value: dir, keys: [][2]string{kv("lxc.rootfs.mount", "/mnt")}, wantErr: []string{"lxc.rootfs.mount"}},
		{name: "rootfs.options", value: dir, keys: [][2]string{kv("lxc.rootfs.options", "ro")}, wantErr: []string{"lxc.rootfs.options"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config.New()
			if err := cfg.Set("lxc.rootfs.path", tt.value); err != nil {
				t.Fatal(err)
			}
			for _, k := range tt.keys {
				if err := cfg.Set(k[0], k[1]); err != nil {
					t.Fatal(err)
				}
			}
			s, _, err := buildSpec("c1", cfg, layout, specOptions{Command: tt.command})
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatalf("buildSpec accepted lxc.rootfs.path = %q", tt.value)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not name %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("buildSpec: %v", err)
			}
			switch {
			case tt.wantRoot == "" && s.OCI.Root != nil:
				t.Errorf("Root = %+v, want none", s.OCI.Root)
			case tt.wantRoot != "" && (s.OCI.Root == nil || s.OCI.Root.Path != tt.wantRoot):
				t.Errorf("Root = %+v, want %q", s.OCI.Root, tt.wantRoot)
			}
		})
	}
}

func TestHostRootWarnings(t *testing.T) {
	withRoot, _ := specConfig(t)
	hostRootCfg := config.New()
	if err := hostRootCfg.Set("lxc.rootfs.path", "/"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		cfg     *config.Config
		command []string
		want    int
	}{
		{name: "own rootfs", cfg: withRoot, command: []string{"/bin/true"}, want: 0},
		{name: "host's, with a command", cfg: config.New(), command: []string{"/bin/true"}, want: 1},
		// Refused by buildSpec instead: nothing to warn about.
		{name: "host's, no command", cfg: config.New(), want: 0},
		{name: "rootfs /, with a command", cfg: hostRootCfg, command: []string{"/bin/true"}, want: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := HostRootWarnings(tt.cfg, tt.command)
			if len(w) != tt.want {
				t.Fatalf("HostRootWarnings = %q, want %d line(s)", w, tt.want)
			}
			if tt.want == 1 && !strings.Contains(w[0], "shares the host's root filesystem") {
				t.Errorf("HostRootWarnings = %q, want it to say the host's root filesystem is shared", w)
			}
		})
	}
}

// A name too long for a host name (made by hand or another tool; lxc-create
// refuses it) needs lxc.uts.name; with it, the container starts.
func TestBuildSpecLongName(t *testing.T) {
	layout := layoutOf(t, v2Mountinfo, v2Pid1)
	long := strings.Repeat("n", 65)
	cfg, _ := specConfig(t)
	if _, _, err := buildSpec(long, cfg, layout, specOptions{}); err == nil || !strings.Contains(err.Error(), "lxc.uts.name") {
		t.Errorf("buildSpec(65-byte name, no lxc.uts.name) = %v, want an error naming lxc.uts.name", err)
	}
	cfg, _ = specConfig(t, kv("lxc.uts.name", "short"))
	s, _, err := buildSpec(long, cfg, layout, specOptions{})
	if err != nil || s.OCI.Hostname != "short" {
		t.Errorf("buildSpec(65-byte name, lxc.uts.name = short): %v, hostname %q", err, s.OCI.Hostname)
	}
	cfg, _ = specConfig(t)
	s, _, err = buildSpec(strings.Repeat("n", 64), cfg, layout, specOptions{})
	if err != nil || s.OCI.Hostname != strings.Repeat("n", 64) {
		t.Errorf("buildSpec(64-byte name): %v, want the name as host name", err)
	}
}

func TestBuildSpecHostname(t *testing.T) {
	layout := layoutOf(t, v2Mountinfo, v2Pid1)
	cfg, _ := specConfig(t)
	s, _, err := buildSpec("c1", cfg, layout, specOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if s.OCI.Hostname != "c1" {
		t.Errorf("Hostname = %q, want the container's name", s.OCI.Hostname)
	}
	cfg, _ = specConfig(t, kv("lxc.uts.name", "web"))
	if s, _, err = buildSpec("c1", cfg, layout, specOptions{}); err != nil {
		t.Fatal(err)
	}
	if s.OCI.Hostname != "web" {
		t.Errorf("Hostname = %q, want lxc.uts.name's web", s.OCI.Hostname)
	}
}

func TestBuildSpecAutodev(t *testing.T) {
	layout := layoutOf(t, v2Mountinfo, v2Pid1)
	wantDevs := map[string][2]int64{
		"/dev/null": {1, 3}, "/dev/zero": {1, 5}, "/dev/full": {1, 7},
		"/dev/random": {1, 8}, "/dev/urandom": {1, 9}, "/dev/tty": {5, 0},
	}
	tests := []struct {
		name     string
		keys     [][2]string
		wantDev  bool
		wantSize string
	}{
		{name: "default is on", keys: [][2]string{kv("lxc.mount.auto", "proc sys cgroup")}, wantDev: true, wantSize: "size=500000"},
		{name: "tmpfs size", keys: [][2]string{kv("lxc.autodev.tmpfs.size", "1048576"), kv("lxc.mount.auto", "proc")}, wantDev: true, wantSize: "size=1048576"},
		{name: "off", keys: [][2]string{kv("lxc.autodev", "0"), kv("lxc.mount.auto", "proc")}, wantDev: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, _ := specConfig(t, append(tt.keys, kv("lxc.mount.entry", "tmpfs run tmpfs nosuid 0 0"))...)
			s, _, err := buildSpec("c1", cfg, layout, specOptions{})
			if err != nil {
				t.Fatal(err)
			}
			ms := s.OCI.Mounts
			if !tt.wantDev {
				if i := mountIndex(ms, "/dev"); i >= 0 {
					t.Errorf("autodev off, yet a /dev mount: %+v", ms[i])
				}
				if len(s.OCI.Linux.Devices) != 0 || s.DevSymlinks {
					t.Errorf("autodev off, yet devices %v, DevSymlinks %v", s.OCI.Linux.Devices, s.DevSymlinks)
				}
				return
			}
			if len(ms) == 0 || ms[0].Destination != "/dev" || ms[0].Type != "tmpfs" {
				t.Fatalf("Mounts[0] = %+v, want the /dev tmpfs first", ms)
			}
			if !slices.Contains(ms[0].Options, tt.wantSize) || !slices.Contains(ms[0].Options, "mode=755") || !slices.Contains(ms[0].Options, "nosuid") {
				t.Errorf("/dev options %v, want nosuid, mode=755, %s", ms[0].Options, tt.wantSize)
			}
			if !s.DevSymlinks {
				t.Error("DevSymlinks = false with autodev")
			}
			got := map[string][2]int64{}
			for _, d := range s.OCI.Linux.Devices {
				if d.Type != "c" {
					t.Errorf("device %s type %q, want c", d.Path, d.Type)
				}
				if d.FileMode == nil || *d.FileMode != 0o666 {
					t.Errorf("device %s mode %v, want 0666", d.Path, d.FileMode)
				}
				got[d.Path] = [2]int64{d.Major, d.Minor}
			}
			if !reflect.DeepEqual(got, wantDevs) {
				t.Errorf("devices %v, want %v", got, wantDevs)
			}
		})
	}
}

func TestBuildSpecMountAuto(t *testing.T) {
	v2 := layoutOf(t, v2Mountinfo, v2Pid1)
	hybrid := layoutOf(t, hybridMountinfo, hybridPid1)
	v1 := layoutOf(t, v1Mountinfo, v1Pid1)
	if hybrid.Mode() != "hybrid" || v2.Mode() != "v2" || v1.Mode() != "v1" {
		t.Fatalf("fixture modes %q %q %q, want hybrid v2 v1", hybrid.Mode(), v2.Mode(), v1.Mode())
	}

	type mnt struct{ dst, typ, data string } // data: the last option of a cgroup v1 mount
	hybridMixed := []mnt{
		{"/sys/fs/cgroup", "tmpfs", ""},
		{"/sys/fs/cgroup/cpu,cpuacct", "cgroup", "cpu,cpuacct"},
		{"/sys/fs/cgroup/cpuset", "cgroup", "cpuset"},
		{"/sys/fs/cgroup/memory", "cgroup", "memory"},
		{"/sys/fs/cgroup/pids", "cgroup", "pids"},
		{"/sys/fs/cgroup/systemd", "cgroup", "none,name=systemd"},
		{"/sys/fs/cgroup/unified", "cgroup2", ""},
	}
	v1Mixed := []mnt{
		{"/sys/fs/cgroup", "tmpfs", ""},
		{"/sys/fs/cgroup/cpu,cpuacct", "cgroup", "cpu,cpuacct"},
		{"/sys/fs/cgroup/memory", "cgroup", "memory"},
	}
	v2Only := []mnt{{"/sys/fs/cgroup", "cgroup2", ""}}
	const noAdmin = "sys_admin"

	tests := []struct {
		name     string
		auto     string
		drop     string // lxc.cap.drop
		layout   *cgroup.Layout
		wantProc bool
		procRO   bool   // /proc/sys read-only but /proc/sys/net
		sys      string // "", "ro", "rw", "mixed"
		wantCg   []mnt
		cgRO     bool
		wantErr  string
	}{
		{name: "proc:mixed", auto: "proc:mixed", layout: v2, wantProc: true, procRO: true},
		{name: "proc is proc:mixed", auto: "proc", layout: v2, wantProc: true, procRO: true},
		{name: "proc:rw", auto: "proc:rw", layout: v2, wantProc: true, procRO: false},
		{name: "sys:ro", auto: "sys:ro", layout: v2, sys: "ro"},
		{name: "sys:rw", auto: "sys:rw", layout: v2, sys: "rw"},
		{name: "sys:mixed", auto: "sys:mixed", layout: v2, sys: "mixed"},
		{name: "sys is sys:mixed", auto: "sys", layout: v2, sys: "mixed"},
		// With CAP_SYS_ADMIN the container mounts its cgroups itself, in
		// its cgroup namespace, unless :force (LXC 5.0.2 does the same).
		{name: "cgroup:mixed with sys_admin", auto: "cgroup:mixed", layout: hybrid},
		{name: "cgroup:mixed:force on hybrid", auto: "cgroup:mixed:force", layout: hybrid, wantCg: hybridMixed},
		{name: "cgroup:mixed on hybrid", auto: "cgroup:mixed", drop: noAdmin, layout: hybrid, wantCg: hybridMixed},
		{name: "cgroup on hybrid", auto: "cgroup", drop: noAdmin, layout: hybrid, wantCg: hybridMixed},
		{name: "cgroup:force on hybrid", auto: "cgroup:force", layout: hybrid, wantCg: hybridMixed},
		{name: "cgroup:ro on hybrid", auto: "cgroup:ro", drop: noAdmin, layout: hybrid, wantCg: hybridMixed, cgRO: true},
		{name: "cgroup:ro:force on hybrid", auto: "cgroup:ro:force", layout: hybrid, wantCg: hybridMixed, cgRO: true},
		{name: "cgroup:rw:force on hybrid", auto: "cgroup:rw:force", layout: hybrid, wantCg: hybridMixed},
		{name: "cgroup:mixed on v1", auto: "cgroup:mixed", drop: noAdmin, layout: v1, wantCg: v1Mixed},
		{name: "cgroup:mixed on v2", auto: "cgroup:mixed", drop: noAdmin, layout: v2, wantCg: v2Only},
		{name: "cgroup:ro on v2", auto: "cgroup:ro:force", layout: v2, wantCg: v2Only, cgRO: true},
		{name: "cgroup-full:mixed is cgroup:mixed", auto: "cgroup-full:mixed:force", layout: hybrid, wantCg: hybridMixed},
		{name: "cgroup-full:ro is cgroup:ro", auto: "cgroup-full:ro", drop: noAdmin, layout: hybrid, wantCg: hybridMixed, cgRO: true},
		{name: "cgroup-full without sys_admin", auto: "cgroup-full", drop: noAdmin, layout: v2, wantCg: v2Only},
		{name: "all three on hybrid", auto: "proc:mixed sys:ro cgroup:mixed:force", layout: hybrid,
			wantProc: true, procRO: true, sys: "ro", wantCg: hybridMixed},
		{name: "shmounts refused", auto: "shmounts:/srv/shared", layout: v2, wantErr: "shmounts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys := [][2]string{kv("lxc.autodev", "0"), kv("lxc.mount.auto", tt.auto)}
			if tt.drop != "" {
				keys = append(keys, kv("lxc.cap.drop", tt.drop))
			}
			cfg, _ := specConfig(t, keys...)
			s, _, err := buildSpec("c1", cfg, tt.layout, specOptions{})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("buildSpec(lxc.mount.auto = %s) = %v, want an error naming %q", tt.auto, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			ms := s.OCI.Mounts
			lin := s.OCI.Linux
			isBindOfItself := func(p string) bool {
				i := mountIndex(ms, p)
				return i >= 0 && ms[i].Source == p && slices.Contains(ms[i].Options, "bind") && slices.Contains(ms[i].Options, "relative")
			}

			pi := mountIndex(ms, "/proc")
			if (pi >= 0) != tt.wantProc {
				t.Fatalf("/proc mount present = %v, want %v (mounts %+v)", pi >= 0, tt.wantProc, ms)
			}
			if tt.wantProc {
				if ms[pi].Type != "proc" {
					t.Errorf("/proc type %q, want proc", ms[pi].Type)
				}
				for _, o := range []string{"nosuid", "nodev", "noexec"} {
					if !slices.Contains(ms[pi].Options, o) {
						t.Errorf("/proc options %v lack %s", ms[pi].Options, o)
					}
				}
			}
			for _, p := range append([]string{"/proc/sys"}, rootfs.ProcReadonlyPaths()...) {
				if ro := slices.Contains(lin.ReadonlyPaths, p); ro != tt.procRO {
					t.Errorf("%s read-only = %v, want %v (ReadonlyPaths %v)", p, ro, tt.procRO, lin.ReadonlyPaths)
				}
			}
			if tt.procRO {
				// /proc/sys is bound onto itself to be remounted read-only in
				// place, /proc/sys/net bound above it stays writable.
				ps, pn := mountIndex(ms, "/proc/sys"), mountIndex(ms, "/proc/sys/net")
				if !isBindOfItself("/proc/sys") || !isBindOfItself("/proc/sys/net") || ps > pn || pi > ps {
					t.Errorf("proc:mixed mounts %+v, want /proc, then /proc/sys and /proc/sys/net bound onto themselves", ms)
				}
				if slices.Contains(lin.ReadonlyPaths, "/proc/sys/net") {
					t.Errorf("/proc/sys/net is read-only: %v", lin.ReadonlyPaths)
				}
			} else if mountIndex(ms, "/proc/sys") >= 0 {
				t.Errorf("proc:rw, yet a /proc/sys mount: %+v", ms)
			}
			// Every container gets the runtimes' masked paths.
			if !reflect.DeepEqual(lin.MaskedPaths, rootfs.MaskedPaths()) {
				t.Errorf("MaskedPaths %v, want %v", lin.MaskedPaths, rootfs.MaskedPaths())
			}

			si := mountIndex(ms, "/sys")
			if (si >= 0) != (tt.sys != "") {
				t.Fatalf("/sys mount present = %v, want %v (mounts %+v)", si >= 0, tt.sys != "", ms)
			}
			if si >= 0 {
				if ms[si].Type != "sysfs" {
					t.Errorf("/sys type %q, want sysfs", ms[si].Type)
				}
				mountedRO := slices.Contains(ms[si].Options, "ro")
				remountRO := slices.Contains(lin.ReadonlyPaths, "/sys")
				net := isBindOfItself("/sys/devices/virtual/net")
				want := map[string][3]bool{"ro": {true, false, false}, "rw": {false, false, false}, "mixed": {false, true, true}}[tt.sys]
				if got := [3]bool{mountedRO, remountRO, net}; got != want {
					t.Errorf("sys:%s: mounted ro %v, remounted ro %v, writable /sys/devices/virtual/net %v; want %v (mounts %+v)", tt.sys, got[0], got[1], got[2], want, ms)
				}
				if net && mountIndex(ms, "/sys/devices/virtual/net") < si {
					t.Errorf("/sys/devices/virtual/net bound before /sys is mounted")
				}
			}
			if tt.wantProc && si >= 0 && pi > si {
				t.Errorf("/proc mounted after /sys: LXC's order is proc, sys, cgroup")
			}

			var cg []mnt
			for _, m := range ms {
				if !strings.HasPrefix(m.Destination, "/sys/fs/cgroup") {
					continue
				}
				data := ""
				if m.Type == "cgroup" && len(m.Options) > 0 {
					data = m.Options[len(m.Options)-1]
				}
				cg = append(cg, mnt{m.Destination, m.Type, data})
				if m.Type != "tmpfs" {
					if ro := slices.Contains(m.Options, "ro"); ro != tt.cgRO {
						t.Errorf("%s read-only = %v, want %v (options %v)", m.Destination, ro, tt.cgRO, m.Options)
					}
				} else if slices.Contains(m.Options, "ro") {
					// lxc.container.conf(5): the tmpfs is always read-write.
					t.Errorf("the /sys/fs/cgroup tmpfs is read-only: %v", m.Options)
				}
			}
			if !reflect.DeepEqual(cg, tt.wantCg) {
				t.Errorf("cgroup mounts\n got %v\nwant %v", cg, tt.wantCg)
			}
			if si >= 0 && len(cg) > 0 && si > mountIndex(ms, "/sys/fs/cgroup") {
				t.Errorf("/sys mounted after /sys/fs/cgroup would hide it")
			}
		})
	}
}

func TestBuildSpecMountEntries(t *testing.T) {
	layout := layoutOf(t, v2Mountinfo, v2Pid1)
	cfg, root := specConfig(t,
		kv("lxc.autodev", "0"),
		kv("lxc.mount.auto", "proc:mixed"),
		kv("lxc.mount.entry", "/srv/data mnt/data none bind,ro,create=dir 0 0"),
		kv("lxc.mount.entry", "tmpfs /run tmpfs nosuid,nodev,size=10m 0 0"),
	)
	if err := cfg.Set("lxc.mount.entry", "/srv/log "+root+"/var/log none rbind 0 0"); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Set("lxc.mount.entry", `/srv/a\040b opt/with\040space none bind 0 0`); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Set("lxc.mount.entry", "proc proc2 proc defaults 0 0"); err != nil {
		t.Fatal(err)
	}
	s, _, err := buildSpec("c1", cfg, layout, specOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "nodev", "noexec"}},
		{Destination: "/proc/sys", Type: "bind", Source: "/proc/sys", Options: []string{"bind", "relative"}},
		{Destination: "/proc/sys/net", Type: "bind", Source: "/proc/sys/net", Options: []string{"bind", "relative"}},
		{Destination: "/mnt/data", Type: "", Source: "/srv/data", Options: []string{"bind", "ro", "create=dir"}},
		{Destination: "/run", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "nodev", "size=10m"}},
		{Destination: "/var/log", Type: "", Source: "/srv/log", Options: []string{"rbind"}},
		{Destination: "/opt/with space", Type: "", Source: "/srv/a b", Options: []string{"bind"}},
		{Destination: "/proc2", Type: "proc", Source: "proc", Options: []string{"defaults"}},
	}
	if !reflect.DeepEqual(s.OCI.Mounts, want) {
		t.Errorf("Mounts\n got %+v\nwant %+v", s.OCI.Mounts, want)
	}
	// fstype none is a bind, made by the options rootfs acts on.
	for _, i := range []int{3, 5, 6} {
		if o := rootfs.ParseOptions(s.OCI.Mounts[i].Options); o.Flags&unix.MS_BIND == 0 {
			t.Errorf("mount %s: options %v are not a bind", s.OCI.Mounts[i].Destination, s.OCI.Mounts[i].Options)
		}
	}
	if o := rootfs.ParseOptions(s.OCI.Mounts[5].Options); o.Flags&unix.MS_REC == 0 {
		t.Errorf("rbind without MS_REC")
	}

	t.Run("fstab refused", func(t *testing.T) {
		cfg, _ := specConfig(t, kv("lxc.mount.fstab", "/etc/fstab.c1"))
		if _, _, err := buildSpec("c1", cfg, layout, specOptions{}); err == nil || !strings.Contains(err.Error(), "lxc.mount.fstab") {
			t.Errorf("buildSpec with lxc.mount.fstab = %v, want a refusal naming the key", err)
		}
	})
}

// A rootfs path written with a trailing slash is the same directory; an
// absolute mount target inside it still lies in the rootfs.
func TestBuildSpecMountTargetRootfsTrailingSlash(t *testing.T) {
	layout := layoutOf(t, v2Mountinfo, v2Pid1)
	root := t.TempDir()
	cfg := config.New()
	for _, k := range [][2]string{
		kv("lxc.rootfs.path", root+"/"),
		kv("lxc.autodev", "0"),
		kv("lxc.mount.entry", "/srv/data "+root+"/mnt none bind 0 0"),
	} {
		if err := cfg.Set(k[0], k[1]); err != nil {
			t.Fatal(err)
		}
	}
	s, _, err := buildSpec("c1", cfg, layout, specOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.OCI.Mounts[len(s.OCI.Mounts)-1].Destination; got != "/mnt" {
		t.Fatalf("lxc.rootfs.path = %s/ with lxc.mount.entry target %s/mnt mounts on %q inside the container, want /mnt", root, root, got)
	}
}

// lxc.container.conf(5): the relative option takes the source relative to
// the container's root. golxc must either do so or refuse the entry; it
// must not bind the host path of the same name.
func TestBuildSpecMountEntryRelative(t *testing.T) {
	layout := layoutOf(t, v2Mountinfo, v2Pid1)
	cfg, root := specConfig(t, kv("lxc.autodev", "0"), kv("lxc.mount.entry", "dev/null proc/kcore none bind,relative 0 0"))
	s, _, err := buildSpec("c1", cfg, layout, specOptions{})
	if err != nil {
		if !strings.Contains(err.Error(), "relative") {
			t.Errorf("refusal %q does not name the relative option", err)
		}
		return
	}
	// The source stays relative, marked so: the init stage resolves it
	// inside the root (openat2 RESOLVE_IN_ROOT), where the container's own
	// symlinks cannot lead it onto the host; a host path would.
	m := s.OCI.Mounts[len(s.OCI.Mounts)-1]
	if m.Source != "dev/null" || !slices.Contains(m.Options, "relative") || strings.HasPrefix(m.Source, root) {
		t.Fatalf("lxc.mount.entry option relative: source %q options %v, want dev/null marked relative (resolved in the root by the init stage)", m.Source, m.Options)
	}
}

func TestBuildSpecCapabilities(t *testing.T) {
	layout := layoutOf(t, v2Mountinfo, v2Pid1)
	all := security.AllCaps()
	without := func(drop ...string) []string {
		return slices.DeleteFunc(slices.Clone(all), func(c string) bool { return slices.Contains(drop, c) })
	}
	tests := []struct {
		name    string
		keys    [][2]string
		want    []string
		wantErr string
	}{
		{name: "default keeps all", want: all},
		{name: "drop two", keys: [][2]string{kv("lxc.cap.drop", "sys_module mknod")}, want: without("CAP_SYS_MODULE", "CAP_MKNOD")},
		{name: "drop over lines and spellings", keys: [][2]string{kv("lxc.cap.drop", "sys_module"), kv("lxc.cap.drop", "CAP_SYS_TIME mac_admin"), kv("lxc.cap.drop", "16")},
			want: without("CAP_SYS_MODULE", "CAP_SYS_TIME", "CAP_MAC_ADMIN")},
		{name: "drop cleared", keys: [][2]string{kv("lxc.cap.drop", "sys_module"), kv("lxc.cap.drop", "")}, want: all},
		{name: "keep two", keys: [][2]string{kv("lxc.cap.keep", "sys_admin net_raw")}, want: []string{"CAP_SYS_ADMIN", "CAP_NET_RAW"}},
		{name: "keep none", keys: [][2]string{kv("lxc.cap.keep", "none")}, want: nil},
		{name: "keep none then one", keys: [][2]string{kv("lxc.cap.keep", "none"), kv("lxc.cap.keep", "chown")}, want: []string{"CAP_CHOWN"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, _ := specConfig(t, tt.keys...)
			s, _, err := buildSpec("c1", cfg, layout, specOptions{})
			if err != nil {
				t.Fatal(err)
			}
			caps := s.OCI.Process.Capabilities
			if caps == nil {
				t.Fatal("no Capabilities: the init stage would keep every capability")
			}
			if !reflect.DeepEqual(caps.Bounding, tt.want) {
				t.Errorf("Bounding\n got %v\nwant %v", caps.Bounding, tt.want)
			}
		})
	}
}

// LXC refuses a config with both lxc.cap.drop and lxc.cap.keep ("either use
// lxc.cap.drop or lxc.cap.keep, not both"); taking keep alone silently
// ignores a drop the admin wrote.
func TestBuildSpecCapDropAndKeep(t *testing.T) {
	cfg, _ := specConfig(t, kv("lxc.cap.keep", "sys_admin sys_module"), kv("lxc.cap.drop", "sys_module"))
	s, _, err := buildSpec("c1", cfg, layoutOf(t, v2Mountinfo, v2Pid1), specOptions{})
	if err == nil {
		t.Fatalf("lxc.cap.drop and lxc.cap.keep together are accepted, drop ignored (Bounding %v); LXC refuses the pair", s.OCI.Process.Capabilities.Bounding)
	}
	if !strings.Contains(err.Error(), "lxc.cap.drop") || !strings.Contains(err.Error(), "lxc.cap.keep") {
		t.Errorf("refusal %q does not name both keys", err)
	}
}

func TestBuildSpecProcess(t *testing.T) {
	layout := layoutOf(t, v2Mountinfo, v2Pid1)
	t.Setenv("GOLXC_TEST_PASSED", "from-host")
	t.Setenv("GOLXC_TEST_HOSTONLY", "secret")
	tests := []struct {
		name        string
		keys        [][2]string
		opts        specOptions
		wantArgs    []string
		wantConsole bool
		wantWrap    bool
		wantTTYs    int
	}{
		{name: "default init", wantArgs: []string{"/sbin/init"}, wantConsole: true},
		{name: "lxc.init.cmd", keys: [][2]string{kv("lxc.init.cmd", `/bin/sh -c 'echo "hi there"'`)},
			wantArgs: []string{"/bin/sh", "-c", `echo "hi there"`}, wantConsole: true},
		{name: "command beats lxc.init.cmd", keys: [][2]string{kv("lxc.init.cmd", "/lib/systemd/systemd")},
			opts: specOptions{Command: []string{"/bin/true", "x"}}, wantArgs: []string{"/bin/true", "x"}, wantConsole: true},
		{name: "execute", opts: specOptions{Command: []string{"sleep", "1"}, Execute: true},
			wantArgs: []string{"sleep", "1"}, wantWrap: true, wantConsole: false},
		{name: "console none", keys: [][2]string{kv("lxc.console.path", "none")}, wantArgs: []string{"/sbin/init"}, wantConsole: false},
		{name: "ttys", keys: [][2]string{kv("lxc.tty.max", "4")}, wantArgs: []string{"/sbin/init"}, wantConsole: true, wantTTYs: 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, _ := specConfig(t, tt.keys...)
			s, _, err := buildSpec("c1", cfg, layout, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			p := s.OCI.Process
			if !reflect.DeepEqual(p.Args, tt.wantArgs) {
				t.Errorf("Args = %q, want %q", p.Args, tt.wantArgs)
			}
			if s.Console != tt.wantConsole {
				t.Errorf("Console = %v, want %v", s.Console, tt.wantConsole)
			}
			if s.WrapInit != tt.wantWrap {
				t.Errorf("WrapInit = %v, want %v", s.WrapInit, tt.wantWrap)
			}
			if s.TTYs != tt.wantTTYs {
				t.Errorf("TTYs = %d, want %d", s.TTYs, tt.wantTTYs)
			}
			if !s.Devpts {
				t.Error("Devpts = false")
			}
			if !slices.Contains(p.Env, "container=lxc") || !slices.Contains(p.Env, "PATH="+defaultPath) {
				t.Errorf("Env %q lacks container=lxc or the default PATH", p.Env)
			}
			for _, e := range p.Env {
				if strings.HasPrefix(e, "GOLXC_TEST_") {
					t.Errorf("Env %q holds the host's %s", p.Env, e)
				}
			}
		})
	}

	t.Run("user, cwd, environment", func(t *testing.T) {
		cfg, _ := specConfig(t,
			kv("lxc.init.uid", "1000"), kv("lxc.init.gid", "100"), kv("lxc.init.cwd", "/srv"),
			kv("lxc.environment", "FOO=bar"), kv("lxc.environment", "GOLXC_TEST_PASSED"),
			kv("lxc.environment", "GOLXC_TEST_UNSET_VAR"), kv("lxc.environment", "PATH=/opt/bin:/bin"),
			kv("lxc.environment", "EMPTY="))
		t.Setenv("GOLXC_TEST_UNSET_VAR", "")
		os.Unsetenv("GOLXC_TEST_UNSET_VAR")
		s, _, err := buildSpec("c1", cfg, layout, specOptions{})
		if err != nil {
			t.Fatal(err)
		}
		p := s.OCI.Process
		if p.User.UID != 1000 || p.User.GID != 100 || p.Cwd != "/srv" {
			t.Errorf("User %+v Cwd %q, want 1000:100 in /srv", p.User, p.Cwd)
		}
		want := []string{"container=lxc", "PATH=/opt/bin:/bin", "TERM=linux", "HOME=/root", "FOO=bar", "GOLXC_TEST_PASSED=from-host", "EMPTY="}
		if !reflect.DeepEqual(p.Env, want) {
			t.Errorf("Env\n got %q\nwant %q", p.Env, want)
		}
	})
}

func TestBuildSpecCgroupSettings(t *testing.T) {
	layout := layoutOf(t, hybridMountinfo, hybridPid1)
	cfg, _ := specConfig(t,
		kv("lxc.cgroup2.memory.max", "1G"),
		kv("lxc.cgroup.cpuset.cpus", "0-1"),
		kv("lxc.cgroup2.pids.max", "100"),
		kv("lxc.cgroup.devices.allow", "c 1:3 rwm"),
	)
	_, cg, err := buildSpec("c1", cfg, layout, specOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []monitor.CgroupSetting{
		{Version: 2, Key: "memory.max", Value: "1G"},
		{Version: 1, Key: "cpuset.cpus", Value: "0-1"},
		{Version: 2, Key: "pids.max", Value: "100"},
		{Version: 1, Key: "devices.allow", Value: "c 1:3 rwm"},
	}
	if !reflect.DeepEqual(cg, want) {
		t.Errorf("cgroup settings\n got %+v\nwant %+v", cg, want)
	}
}

func TestInitEnv(t *testing.T) {
	t.Setenv("GOLXC_TEST_SET", "host value")
	t.Setenv("GOLXC_TEST_UNSET", "")
	os.Unsetenv("GOLXC_TEST_UNSET")
	base := []string{"container=lxc", "PATH=" + defaultPath, "TERM=linux", "HOME=/root"}
	tests := []struct {
		name  string
		extra []string
		want  []string
	}{
		{name: "none", want: base},
		{name: "added", extra: []string{"A=1", "B=2"}, want: append(slices.Clone(base), "A=1", "B=2")},
		{name: "override PATH in place", extra: []string{"PATH=/x"}, want: []string{"container=lxc", "PATH=/x", "TERM=linux", "HOME=/root"}},
		{name: "last wins", extra: []string{"A=1", "A=2"}, want: append(slices.Clone(base), "A=2")},
		{name: "value with =", extra: []string{"A=b=c"}, want: append(slices.Clone(base), "A=b=c")},
		{name: "passed from host", extra: []string{"GOLXC_TEST_SET"}, want: append(slices.Clone(base), "GOLXC_TEST_SET=host value")},
		{name: "unset host var skipped", extra: []string{"GOLXC_TEST_UNSET"}, want: base},
		{name: "prefix is not a match", extra: []string{"PAT=1"}, want: append(slices.Clone(base), "PAT=1")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := initEnv(tt.extra); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("initEnv(%q)\n got %q\nwant %q", tt.extra, got, tt.want)
			}
		})
	}
}

func TestSetEnv(t *testing.T) {
	tests := []struct {
		name string
		env  []string
		k, v string
		want []string
	}{
		{name: "append to empty", k: "A", v: "1", want: []string{"A=1"}},
		{name: "replace", env: []string{"A=1", "B=2"}, k: "A", v: "3", want: []string{"A=3", "B=2"}},
		{name: "AB is not A", env: []string{"AB=1"}, k: "A", v: "2", want: []string{"AB=1", "A=2"}},
		{name: "empty value", env: []string{"A=1"}, k: "A", v: "", want: []string{"A="}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := setEnv(slices.Clone(tt.env), tt.k, tt.v); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("setEnv(%q, %s, %s) = %q, want %q", tt.env, tt.k, tt.v, got, tt.want)
			}
		})
	}
}

// lxc-execute's terminal descriptors reach the init stage, with the size;
// a start with a console has no use for them.
func TestBuildSpecTerminal(t *testing.T) {
	layout := layoutOf(t, v2Mountinfo, v2Pid1)
	cfg, _ := specConfig(t)
	size := &specs.Box{Height: 40, Width: 120}
	s, _, err := buildSpec("c1", cfg, layout, specOptions{Execute: true, Command: []string{"sh"}, Terminal: []int{0, 2}, ConsoleSize: size})
	if err != nil {
		t.Fatal(err)
	}
	if !s.WrapInit || s.Console || !slices.Equal(s.Terminal, []int{0, 2}) || !s.Devpts {
		t.Errorf("lxc-execute on a terminal: WrapInit %v Console %v Terminal %v Devpts %v, want golxc's init, no console, terminal on 0 and 2, a devpts", s.WrapInit, s.Console, s.Terminal, s.Devpts)
	}
	if s.OCI.Process.ConsoleSize != size {
		t.Errorf("ConsoleSize = %+v, want %+v", s.OCI.Process.ConsoleSize, size)
	}
	s, _, err = buildSpec("c1", cfg, layout, specOptions{Terminal: []int{0}, ConsoleSize: size})
	if err != nil {
		t.Fatal(err)
	}
	if !s.Console || s.Terminal != nil || s.OCI.Process.ConsoleSize != size {
		t.Errorf("lxc-start -F: Console %v Terminal %v ConsoleSize %+v, want the console, sized, and no command terminal", s.Console, s.Terminal, s.OCI.Process.ConsoleSize)
	}
}
