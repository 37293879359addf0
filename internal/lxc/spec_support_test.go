package lxc

import (
	"slices"
	"testing"

	"github.com/golxc/golxc/internal/security"
)

// TestCheckSupport: a key whose feature is not built is refused by name; a
// security module key warns on a host without the module and is refused on
// one with it; keys for other tools pass silently.
func TestCheckSupport(t *testing.T) {
	tests := []struct {
		name     string
		keys     [][2]string
		lsm      security.HostLSM
		wantErr  string
		warnings []string
	}{
		{name: "built only", keys: [][2]string{kv("lxc.net.0.type", "empty"), kv("lxc.cgroup2.memory.max", "1G")}},
		{name: "other tools", keys: [][2]string{kv("lxc.start.auto", "1"), kv("lxc.group", "onboot"), kv("lxc.log.level", "DEBUG"), kv("lxc.hook.destroy", "/bin/true"), kv("lxc.rootfs.managed", "0")}},
		{name: "idmap", keys: [][2]string{kv("lxc.idmap", "u 0 100000 65536"), kv("lxc.namespace.keep", "net")}},
		{name: "net subkeys", keys: [][2]string{kv("lxc.net.0.type", "veth"), kv("lxc.net.0.veth.vlan.id", "5"), kv("lxc.net.0.veth.vlan.tagged.id", "6"), kv("lxc.net.0.l2proxy", "1")}},
		{name: "veth", keys: [][2]string{kv("lxc.net.0.type", "veth"), kv("lxc.net.0.flags", "up"), kv("lxc.net.0.link", "br0"), kv("lxc.net.0.ipv4.address", "10.1.2.3/24")}},
		{name: "sysctl prlimit proc", keys: [][2]string{kv("lxc.sysctl.net.ipv4.ip_forward", "1"), kv("lxc.prlimit.nofile", "1024"), kv("lxc.proc.oom_score_adj", "10")}},
		{name: "cgroup dir monitor pivot", keys: [][2]string{kv("lxc.cgroup.dir.monitor.pivot", "x/y")}, wantErr: "lxc.cgroup.dir.monitor.pivot is not supported yet"},
		{name: "32-bit arch", keys: [][2]string{kv("lxc.arch", "i686")}, wantErr: "lxc.arch is not supported yet"},
		{name: "default value asks for nothing", keys: [][2]string{kv("lxc.keyring.session", "1"), kv("lxc.no_new_privs", "0")}},
		{name: "console and ttys", keys: [][2]string{kv("lxc.console.path", "/dev/ttyS0"), kv("lxc.tty.dir", "lxc"), kv("lxc.console.buffer.size", "auto"), kv("lxc.console.size", "1MB"), kv("lxc.console.rotate", "1")}},
		{name: "apparmor absent", keys: [][2]string{kv("lxc.apparmor.profile", "unconfined"), kv("lxc.apparmor.allow_nesting", "1")},
			warnings: []string{"lxc.apparmor.profile, lxc.apparmor.allow_nesting ignored: AppArmor is not enabled on this host"}},
		{name: "apparmor present, generated", keys: [][2]string{kv("lxc.apparmor.profile", "generated")}, lsm: security.HostLSM{AppArmor: true, AppArmorMount: true},
			wantErr: "lxc.apparmor.profile = generated is not supported yet: golxc does not generate AppArmor profiles (load a profile and name it in lxc.apparmor.profile)"},
		{name: "selinux absent", keys: [][2]string{kv("lxc.selinux.context", "x")}, lsm: security.HostLSM{AppArmor: true, AppArmorMount: true},
			warnings: []string{"lxc.selinux.context ignored: SELinux is not enabled on this host"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, _ := specConfig(t, tt.keys...)
			err := checkSupport(cfg)
			var w []string
			if err == nil {
				_, w, err = lsmLabel(cfg, tt.lsm)
			}
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(w, tt.warnings) {
				t.Fatalf("warnings = %q, want %q", w, tt.warnings)
			}
		})
	}
}

// TestBuildSpecRefusesNotBuilt: the start itself refuses, naming the key.
func TestBuildSpecRefusesNotBuilt(t *testing.T) {
	cfg, _ := specConfig(t, kv("lxc.cgroup.dir.monitor.pivot", "p"))
	_, _, err := buildSpec("c1", cfg, layoutOf(t, v2Mountinfo, v2Pid1), specOptions{})
	if err == nil || err.Error() != "lxc.cgroup.dir.monitor.pivot is not supported yet" {
		t.Fatalf("buildSpec err = %v", err)
	}
}
