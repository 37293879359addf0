package cli

import (
	"strings"
	"testing"

	"github.com/golxc/golxc/internal/config"
)

// TestLXCInfoValue pins each rendering to what LXC 5.0.2's lxc-info -c
// printed for the same config (Debian's lxc, side by side).
func TestLXCInfoValue(t *testing.T) {
	cfg := config.New()
	text := `lxc.net.0.type = empty
lxc.net.1.type = veth
lxc.net.1.link = br0
lxc.rootfs.path = dir:/srv/c1/rootfs
lxc.cap.drop = sys_module mac_admin
lxc.cap.drop = sys_time
lxc.mount.entry = proc proc proc nodev 0 0
lxc.mount.entry = /a b none bind,create=dir 0 0
lxc.mount.auto = cgroup sys:ro proc
lxc.namespace.clone = net uts
lxc.cgroup.memory.limit_in_bytes = 100M
lxc.cgroup2.memory.max = 200M
lxc.sysctl.net.ipv4.ip_forward = 1
lxc.hook.pre-start = /bin/true
lxc.group = web
lxc.environment = A=1
lxc.idmap = u 0 100000 65536
lxc.idmap = g 0 100000 65536
lxc.init.groups = 1,2
lxc.console.size = auto
lxc.console.buffer.size = 64KB
lxc.signal.halt = SIGUSR1
lxc.execute.cmd = "echo hi"
`
	if err := cfg.Parse(strings.NewReader(text), "test.conf"); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ key, want string }{
		{"lxc.rootfs.path", "/srv/c1/rootfs"},
		{"lxc.net", "empty\nveth\n"},
		{"lxc.net.1.link", "br0"},
		{"lxc.net.0.link", ""},
		{"lxc.cap.drop", "sys_module\nmac_admin\nsys_time\n"},
		{"lxc.cap.keep", ""},
		{"lxc.mount.entry", "proc proc proc nodev 0 0\n/a b none bind,create=dir 0 0\n"},
		{"lxc.mount.auto", "proc:mixed sys:ro cgroup"},
		{"lxc.namespace.clone", "uts\nnet\n"},
		{"lxc.cgroup", "lxc.cgroup.memory.limit_in_bytes = 100M\n"},
		{"lxc.cgroup.memory.limit_in_bytes", "100M\n"},
		{"lxc.cgroup2.memory.max", "200M\n"},
		{"lxc.cgroup.relative", "0"},
		{"lxc.sysctl.net.ipv4.ip_forward", "1"},
		{"lxc.hook.pre-start", "/bin/true\n"},
		{"lxc.hook.version", "0"},
		{"lxc.group", "web\n"},
		{"lxc.environment", "A=1\n"},
		{"lxc.idmap", "u 0 100000 65536\ng 0 100000 65536"},
		{"lxc.init.groups", "1,2"},
		{"lxc.log.level", "NOTSET"},
		{"lxc.console.size", "131072"},
		{"lxc.console.buffer.size", "65536"},
		{"lxc.signal.halt", "10"},
		{"lxc.signal.stop", "0"},
		{"lxc.autodev.tmpfs.size", "0"},
		{"lxc.execute.cmd", "echo hi"},
		{"lxc.apparmor.profile", ""},
	}
	for _, tt := range tests {
		got, err := lxcInfoValue(cfg, tt.key)
		if err != nil || got != tt.want {
			t.Errorf("lxcInfoValue(%s) = %q, %v; want %q", tt.key, got, err, tt.want)
		}
	}
	for _, key := range []string{"lxc.bogus", "lxc.net.0", "lxc.net.2.type", "lxc.hook", "lxc.include"} {
		if got, err := lxcInfoValue(cfg, key); err == nil {
			t.Errorf("lxcInfoValue(%s) = %q, want an error (LXC: %s invalid)", key, got, key)
		}
	}
}

func TestStripStorageType(t *testing.T) {
	for in, want := range map[string]string{
		"dir:/srv/c1":   "/srv/c1",
		"/srv/c1":       "/srv/c1",
		"overlay:/a:/b": "/a:/b",
		"zfs:pool/c1":   "pool/c1",
		"/odd:path":     "/odd:path", // LXC prints "path"; a colon after a slash is the path's
		"dir:":          "",
	} {
		if got := stripStorageType(in); got != want {
			t.Errorf("stripStorageType(%q) = %q, want %q", in, got, want)
		}
	}
}
