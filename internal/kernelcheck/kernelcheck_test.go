package kernelcheck

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const fixtureConfig = `#
# Automatically generated file; DO NOT EDIT.
# Linux/x86 6.1.0 Kernel Configuration
#
CONFIG_NAMESPACES=y
CONFIG_UTS_NS=y
CONFIG_IPC_NS=y
CONFIG_PID_NS=y
# CONFIG_USER_NS is not set
CONFIG_NET_NS=y
CONFIG_CGROUPS=y
CONFIG_CGROUP_DEVICE=y
CONFIG_CGROUP_SCHED=y
CONFIG_MEMCG=y
CONFIG_CPUSETS=y
CONFIG_CGROUP_PIDS=y
CONFIG_CGROUP_FREEZER=y
CONFIG_VETH=m
CONFIG_MACVLAN=m
# CONFIG_VLAN_8021Q is not set
CONFIG_BRIDGE=m
CONFIG_OVERLAY_FS=m
CONFIG_SECCOMP=y
CONFIG_SECCOMP_FILTER=y
CONFIG_FUSE_FS=y
CONFIG_LOCALVERSION="-custom"
`

// fixtureRoot makes a /proc and /sys with the given files.
func fixtureRoot(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, text := range files {
		full := filepath.Join(root, p)
		if strings.HasSuffix(p, "/") {
			if err := os.MkdirAll(full, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

const v2Mounts = "cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev,noexec,relatime 0 0\nproc /proc proc rw 0 0\n"

func TestCheckFromConfig(t *testing.T) {
	cfg, err := ParseConfig(strings.NewReader(fixtureConfig))
	if err != nil {
		t.Fatal(err)
	}
	if cfg["version"] != "6.1.0" || cfg["CONFIG_LOCALVERSION"] != "-custom" || cfg["CONFIG_USER_NS"] != "" {
		t.Fatalf("parsed %v", cfg)
	}
	root := fixtureRoot(t, map[string]string{"/proc/self/mounts": v2Mounts, "/sys/module/veth/": ""})
	h := &Host{Root: root, Config: cfg, ConfigPath: "/boot/config-6.1.0", Release: "6.1.0"}
	r := Check(h)
	var out bytes.Buffer
	if err := r.Write(&out, false); err != nil {
		t.Fatal(err)
	}
	want := `Kernel configuration found at /boot/config-6.1.0

--- Namespaces ---
Namespaces: enabled
Utsname namespace: enabled
Ipc namespace: enabled
Pid namespace: enabled
User namespace: missing
Network namespace: enabled
Cgroup namespace: enabled
Time namespace: missing
Multiple /dev/pts instances: enabled

--- Control groups ---
Cgroups: enabled
Cgroup hierarchies mounted: enabled
Cgroup v1 mount points:
Cgroup v2 mount points:
 - /sys/fs/cgroup
Cgroup layout: unified (v2)
Cgroup device: enabled
Cgroup sched: enabled
Cgroup cpu account: missing
Cgroup memory controller: enabled
Cgroup cpuset: enabled
Cgroup pids: enabled
Cgroup freezer: enabled

--- Misc ---
Veth pair device: enabled, loaded
Macvlan: enabled, not loaded
Vlan: missing
Bridges: enabled, not loaded
Overlay file system: enabled, not loaded
Seccomp: enabled
Seccomp filter: enabled
File capabilities: enabled
FUSE (for use with lxcfs): enabled
`
	if out.String() != want {
		t.Fatalf("report:\n%s\nwant:\n%s", out.String(), want)
	}
	if !r.Essential {
		t.Fatal("essentials reported missing")
	}
	// Colour only when asked, around the status words.
	out.Reset()
	r.Write(&out, true)
	if !strings.Contains(out.String(), "Namespaces: \033[1;32menabled\033[0;39m\n") || !strings.Contains(out.String(), "Vlan: \033[1;33mmissing\033[0;39m\n") {
		t.Fatalf("coloured report:\n%q", out.String())
	}
}

func TestCheckEssentialMissing(t *testing.T) {
	cfg, _ := ParseConfig(strings.NewReader(strings.Replace(fixtureConfig, "CONFIG_PID_NS=y", "# CONFIG_PID_NS is not set", 1)))
	root := fixtureRoot(t, map[string]string{"/proc/self/mounts": v2Mounts})
	r := Check(&Host{Root: root, Config: cfg, ConfigPath: "x", Release: "6.1.0"})
	var out bytes.Buffer
	r.Write(&out, false)
	if r.Essential || !strings.Contains(out.String(), "Pid namespace: required\n") {
		t.Fatalf("Essential %v, report:\n%s", r.Essential, out.String())
	}
	// No cgroup hierarchy: nothing to put a container in.
	r = Check(&Host{Root: t.TempDir(), Config: map[string]string{"CONFIG_NAMESPACES": "y"}, ConfigPath: "x", Release: "6.1.0"})
	if r.Essential {
		t.Fatal("essential with no cgroup hierarchy and no namespaces")
	}
	// An old kernel needs the devpts option.
	r = Check(&Host{Root: root, Config: cfg, ConfigPath: "x", Release: "3.10.0"})
	out.Reset()
	cfg["version"] = "3.10.0"
	Check(&Host{Root: root, Config: cfg, ConfigPath: "x"}).Write(&out, false)
	if !strings.Contains(out.String(), "Multiple /dev/pts instances: required\n") {
		t.Fatalf("report:\n%s", out.String())
	}
}

func TestCheckByProbing(t *testing.T) {
	root := fixtureRoot(t, map[string]string{
		"/proc/self/ns/uts": "", "/proc/self/ns/ipc": "", "/proc/self/ns/pid": "", "/proc/self/ns/net": "",
		"/proc/self/ns/cgroup": "", "/proc/self/ns/user": "", "/proc/sys/user/max_user_namespaces": "0\n",
		"/proc/filesystems":                  "nodev\tdevpts\nnodev\toverlay\n\text4\n",
		"/proc/cgroups":                      "#subsys_name\thierarchy\tnum_cgroups\tenabled\ncpu\t0\t1\t1\nmemory\t0\t1\t0\npids\t0\t1\t1\n",
		"/proc/self/mounts":                  v2Mounts,
		"/proc/self/status":                  "Name:\tx\nSeccomp:\t0\nCapBnd:\t000001ffffffffff\n",
		"/sys/module/bridge/":                "",
		"/lib/modules/6.1.0/modules.builtin": "kernel/drivers/net/veth.ko\n",
		"/lib/modules/6.1.0/modules.dep":     "kernel/drivers/net/macvlan.ko.xz: kernel/drivers/net/tap.ko.xz\n",
	})
	r := Check(&Host{Root: root, Release: "6.1.0"})
	var out bytes.Buffer
	r.Write(&out, false)
	got := out.String()
	for _, want := range []string{
		"Kernel configuration not found; probing the running kernel",
		"Utsname namespace: enabled\n", "User namespace: missing\n", "Time namespace: missing\n",
		"Cgroup namespace: enabled\n", "Multiple /dev/pts instances: enabled\n",
		"Cgroup sched: enabled\n", "Cgroup memory controller: missing\n", "Cgroup pids: enabled\n",
		"Veth pair device: enabled\n", "Macvlan: enabled\n", "Vlan: missing\n", "Bridges: enabled\n",
		"Overlay file system: enabled\n", "Seccomp: enabled\n", "Seccomp filter: missing\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("report lacks %q:\n%s", want, got)
		}
	}
	if !r.Essential {
		t.Fatalf("essentials missing:\n%s", got)
	}
}

func TestReadConfigGzip(t *testing.T) {
	dir := t.TempDir()
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	w.Write([]byte(fixtureConfig))
	w.Close()
	os.MkdirAll(filepath.Join(dir, "proc"), 0o755)
	os.WriteFile(filepath.Join(dir, "proc/config.gz"), gz.Bytes(), 0o644)
	cfg, path, err := FindConfig(dir, "", "6.1.0")
	if err != nil || path != "/proc/config.gz" || cfg["CONFIG_VETH"] != "m" {
		t.Fatalf("FindConfig = %v, %q, %v", len(cfg), path, err)
	}
	os.WriteFile(filepath.Join(dir, "plain"), []byte(fixtureConfig), 0o644)
	if cfg, err := ReadConfig(filepath.Join(dir, "plain")); err != nil || cfg["CONFIG_NET_NS"] != "y" {
		t.Fatalf("ReadConfig plain: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "junk"), []byte("hello\n"), 0o644)
	if _, err := ReadConfig(filepath.Join(dir, "junk")); err == nil {
		t.Fatal("ReadConfig accepted a file without CONFIG_ lines")
	}
	if cfg, path, err := FindConfig(t.TempDir(), "", "6.1.0"); cfg != nil || path != "" || err != nil {
		t.Fatalf("FindConfig on an empty root = %v %q %v", cfg, path, err)
	}
}
