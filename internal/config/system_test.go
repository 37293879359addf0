package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestSystemDefaults(t *testing.T) {
	s, err := ReadSystem(filepath.Join(t.TempDir(), "missing.conf"))
	if err != nil {
		t.Fatal(err)
	}
	home, root := systemIdentity()
	want := System{Path: s.Path, LXCPath: "/var/lib/lxc", DefaultConfig: "/etc/lxc/default.conf", LVMVG: "lxc", LVMThinPool: "lxc", ZFSRoot: "lxc"}
	if !root {
		want.LXCPath = filepath.Join(home, ".local/share/lxc")
		want.DefaultConfig = filepath.Join(home, ".config/lxc/default.conf")
	}
	if s.LXCPath != want.LXCPath || s.DefaultConfig != want.DefaultConfig || s.LVMVG != "lxc" || s.LVMThinPool != "lxc" || s.ZFSRoot != "lxc" || s.CgroupUse != "" || s.CgroupPattern != "" {
		t.Fatalf("defaults %+v, want %+v", s, want)
	}
	if v, set, err := s.Get("lxc.cgroup.pattern"); v != "" || set || err != nil {
		t.Fatalf("Get(lxc.cgroup.pattern) = %q %v %v", v, set, err)
	}
	if _, _, err := s.Get("lxc.nope"); err == nil {
		t.Fatal("Get of an unknown key succeeded")
	}
}

func TestReadSystem(t *testing.T) {
	path := writeFile(t, t.TempDir(), "lxc.conf", `# site defaults
lxc.lxcpath = /srv/containers
lxc.default_config = "/srv/lxc/default.conf"
lxc.bdev.lvm.vg = vg0
lxc.bdev.lvm.thin_pool =
lxc.cgroup.use = memory,pids
lxc.cgroup.pattern = lxc/%n
lxc.bogus = 1
`)
	s, err := ReadSystem(path)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, k := range SystemKeys() {
		got[k], _, _ = s.Get(k)
	}
	want := map[string]string{
		"lxc.lxcpath":            "/srv/containers",
		"lxc.default_config":     "/srv/lxc/default.conf",
		"lxc.bdev.lvm.vg":        "vg0",
		"lxc.bdev.lvm.thin_pool": "lxc",
		"lxc.bdev.zfs.root":      "lxc",
		"lxc.cgroup.use":         "memory,pids",
		"lxc.cgroup.pattern":     "lxc/%n",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if len(s.Warnings) != 1 || !strings.Contains(s.Warnings[0], `lxc.conf:8: ignoring "lxc.bogus"`) {
		t.Fatalf("Warnings = %q", s.Warnings)
	}
}

func TestSystemConfigPathEnv(t *testing.T) {
	t.Setenv(SystemConfigEnv, "/tmp/x/lxc.conf")
	if p := SystemConfigPath(); p != "/tmp/x/lxc.conf" {
		t.Fatalf("SystemConfigPath = %q", p)
	}
	path := writeFile(t, t.TempDir(), "lxc.conf", "lxc.lxcpath = /srv/c\n")
	t.Setenv(SystemConfigEnv, path)
	s, err := LoadSystem()
	if err != nil || s.LXCPath != "/srv/c" {
		t.Fatalf("LoadSystem = %+v, %v", s, err)
	}
	if !slices.Equal(SystemKeys(), []string{"lxc.default_config", "lxc.lxcpath", "lxc.bdev.lvm.vg", "lxc.bdev.lvm.thin_pool", "lxc.bdev.zfs.root", "lxc.cgroup.use", "lxc.cgroup.pattern"}) {
		t.Fatalf("SystemKeys = %q", SystemKeys())
	}
}

func TestSystemMonitorKey(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ text, want, err string }{
		{"", MonitorShared, ""},
		{"golxc.monitor = per-container\n", MonitorPerContainer, ""},
		{"golxc.monitor = shared\n", MonitorShared, ""},
		{"golxc.monitor = each\n", "", "golxc.monitor"},
	} {
		p := filepath.Join(dir, "lxc.conf")
		if err := os.WriteFile(p, []byte(c.text), 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := ReadSystem(p)
		switch {
		case c.err != "":
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: err %v, want one naming %s", c.text, err, c.err)
			}
		case err != nil || s.Monitor != c.want || len(s.Warnings) > 0:
			t.Errorf("%q: Monitor %q, warnings %v, err %v; want %q", c.text, s.Monitor, s.Warnings, err, c.want)
		}
	}
	if slices.Contains(SystemKeys(), "golxc.monitor") {
		t.Error("lxc-config -l lists golxc.monitor, which LXC does not have")
	}
}
