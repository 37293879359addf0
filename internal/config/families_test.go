package config

import (
	"reflect"
	"strings"
	"testing"
)

// TestFamilies sets each key of lxc.container.conf(5)'s families on a fresh
// Config: a valid value reads back as Get gives it, an invalid one fails
// with the reason, naming key and value, and changes nothing.
func TestFamilies(t *testing.T) {
	type row struct{ key, value, get, err string }
	families := map[string][]row{
		"general": {
			{key: "lxc.arch", value: "amd64", get: "amd64"},
			{key: "lxc.arch", value: "i686", get: "i686"},
			{key: "lxc.arch", value: "vax", err: "unknown architecture"},
			{key: "lxc.ephemeral", value: "1", get: "1"},
			{key: "lxc.no_new_privs", value: "1", get: "1"},
			{key: "lxc.no_new_privs", value: "true", err: "must be 0 or 1"},
			{key: "lxc.keyring.session", value: "0", get: "0"},
			{key: "lxc.sched.core", value: "1", get: "1"},
			{key: "lxc.sched.core", value: "2", err: "must be 0 or 1"},
			{key: "lxc.environment", value: "A=1", get: "A=1"},
		},
		"init": {
			{key: "lxc.init.cmd", value: "/sbin/init --log-level=debug", get: "/sbin/init --log-level=debug"},
			{key: "lxc.execute.cmd", value: "/bin/sh -c 'echo hi'", get: "/bin/sh -c 'echo hi'"},
			{key: "lxc.execute.cmd", value: "'' x", err: "empty command name"},
			{key: "lxc.init.groups", value: "10,20", get: "10,20"},
			{key: "lxc.init.groups", value: "10,x", err: `id "x": not a number`},
			{key: "lxc.init.uid", value: "-1", err: "not a number"},
		},
		"signals": {
			{key: "lxc.signal.halt", value: "SIGRTMIN+3", get: "37"},
			{key: "lxc.monitor.signal.pdeath", value: "0", get: "0"},
			{key: "lxc.monitor.signal.pdeath", value: "SIGTERM", get: "15"},
			{key: "lxc.monitor.signal.pdeath", value: "SIGBOGUS", err: "unknown signal"},
		},
		"proc sysctl prlimit": {
			{key: "lxc.proc.oom_score_adj", value: "10", get: "10"},
			{key: "lxc.proc.a/b", value: "1", err: `unsupported config key "lxc.proc.a/b"`},
			{key: "lxc.proc.", value: "1", err: `unsupported config key "lxc.proc."`},
			{key: "lxc.sysctl.net.ipv4.ip_forward", value: "1", get: "1"},
			{key: "lxc.sysctl.net/ipv4/conf/all/forwarding", value: "1", get: "1"},
			{key: "lxc.sysctl.net..x", value: "1", err: "unsupported config key"},
			{key: "lxc.sysctl.../x", value: "1", err: "unsupported config key"},
			{key: "lxc.prlimit.nofile", value: "1024:4096", get: "1024:4096"},
			{key: "lxc.prlimit.nofile", value: "unlimited", get: "unlimited"},
			{key: "lxc.prlimit.core", value: "0:unlimited", get: "0:unlimited"},
			{key: "lxc.prlimit.nofile", value: "4096:1024", err: "the soft limit is above the hard one"},
			{key: "lxc.prlimit.nofile", value: "lots", err: `"lots" is neither a number nor unlimited`},
			{key: "lxc.prlimit.files", value: "1", err: `unsupported config key "lxc.prlimit.files"`},
			{key: "lxc.sysctl", value: "1", err: "takes only an empty value"},
		},
		"network": {
			{key: "lxc.net.0.type", value: "veth", get: "veth"},
			{key: "lxc.net.0.flags", value: "up", get: "up"},
			{key: "lxc.net.0.flags", value: "down", err: "want up"},
			{key: "lxc.net.0.link", value: "lxcbr0", get: "lxcbr0"},
			{key: "lxc.net.0.link", value: "a-very-long-bridge-name", err: "longer than 15 bytes"},
			{key: "lxc.net.0.mtu", value: "1500", get: "1500"},
			{key: "lxc.net.0.mtu", value: "big", err: "not a number"},
			{key: "lxc.net.0.name", value: "eth0", get: "eth0"},
			{key: "lxc.net.0.name", value: "eth/0", err: "not an interface name"},
			{key: "lxc.net.0.hwaddr", value: "00:16:3e:xx:xx:xx", get: "00:16:3e:xx:xx:xx"},
			{key: "lxc.net.0.hwaddr", value: "4a:49:43:49:79:bf", get: "4a:49:43:49:79:bf"},
			{key: "lxc.net.0.hwaddr", value: "00:16:3e:12:34", err: "want a MAC address"},
			{key: "lxc.net.0.hwaddr", value: "00:16:3e:12:34:zz", err: "want a MAC address"},
			{key: "lxc.net.0.ipv4.address", value: "10.2.3.5/24 10.2.3.255", get: "10.2.3.5/24 10.2.3.255"},
			{key: "lxc.net.0.ipv4.address", value: "10.2.3.5", get: "10.2.3.5"},
			{key: "lxc.net.0.ipv4.address", value: "10.2.3.5/33", err: "want an IPv4 address"},
			{key: "lxc.net.0.ipv4.address", value: "2001:db8::1/64", err: "want an IPv4 address"},
			{key: "lxc.net.0.ipv4.address", value: "10.2.3.5/24 bcast", err: `broadcast "bcast"`},
			{key: "lxc.net.0.ipv4.gateway", value: "10.2.3.1", get: "10.2.3.1"},
			{key: "lxc.net.0.ipv4.gateway", value: "auto", get: "auto"},
			{key: "lxc.net.0.ipv4.gateway", value: "dev", get: "dev"},
			{key: "lxc.net.0.ipv4.gateway", value: "gw", err: "want an IPv4 address, auto or dev"},
			{key: "lxc.net.0.ipv6.address", value: "2003:db8:1:0:214:1234:fe0b:3597/64", get: "2003:db8:1:0:214:1234:fe0b:3597/64"},
			{key: "lxc.net.0.ipv6.address", value: "10.0.0.1/8", err: "want an IPv6 address"},
			{key: "lxc.net.0.ipv6.gateway", value: "2003:db8:1::1", get: "2003:db8:1::1"},
			{key: "lxc.net.0.script.up", value: "/usr/local/bin/up", get: "/usr/local/bin/up"},
			{key: "lxc.net.0.script.down", value: "/usr/local/bin/down", get: "/usr/local/bin/down"},
			{key: "lxc.net.0.veth.pair", value: "vethc1", get: "vethc1"},
			{key: "lxc.net.0.veth.pair", value: "veth%d", err: "not an interface name"},
			{key: "lxc.net.0.veth.mode", value: "router", get: "router"},
			{key: "lxc.net.0.veth.mode", value: "nat", err: "want one of bridge, router"},
			{key: "lxc.net.0.veth.ipv4.route", value: "192.168.1.0/24", get: "192.168.1.0/24"},
			{key: "lxc.net.0.veth.ipv4.route", value: "192.168.1.0", err: "want a route"},
			{key: "lxc.net.0.veth.ipv6.route", value: "2001:db8::/64", get: "2001:db8::/64"},
			{key: "lxc.net.0.veth.vlan.id", value: "none", get: "none"},
			{key: "lxc.net.0.veth.vlan.id", value: "100", get: "100"},
			{key: "lxc.net.0.veth.vlan.id", value: "4095", err: "want a VLAN id from 1 to 4094, or none"},
			{key: "lxc.net.0.veth.vlan.tagged.id", value: "200", get: "200"},
			{key: "lxc.net.0.veth.vlan.tagged.id", value: "0", err: "want a VLAN id from 1 to 4094"},
			{key: "lxc.net.1.macvlan.mode", value: "bridge", get: "bridge"},
			{key: "lxc.net.1.macvlan.mode", value: "router", err: "want one of private, vepa, bridge, passthru"},
			{key: "lxc.net.1.ipvlan.mode", value: "l3s", get: "l3s"},
			{key: "lxc.net.1.ipvlan.isolation", value: "vepa", get: "vepa"},
			{key: "lxc.net.2.vlan.id", value: "42", get: "42"},
			{key: "lxc.net.2.vlan.id", value: "5000", err: "larger than 4094"},
			{key: "lxc.net.0.l2proxy", value: "1", get: "1"},
			{key: "lxc.net.0.l2proxy", value: "yes", err: "must be 0 or 1"},
		},
		"terminals": {
			{key: "lxc.tty.dir", value: "lxc", get: "lxc"},
			{key: "lxc.tty.dir", value: "/dev/lxc", err: "want a relative path"},
			{key: "lxc.console.buffer.size", value: "auto", get: "auto"},
			{key: "lxc.console.buffer.size", value: "128KB", get: "128KB"},
			{key: "lxc.console.size", value: "1mb", get: "1mb"},
			{key: "lxc.console.size", value: "1TB", err: "want auto, or a size"},
			{key: "lxc.console.rotate", value: "1", get: "1"},
		},
		"rootfs": {
			{key: "lxc.rootfs.path", value: "overlay:/lower:/upper", get: "overlay:/lower:/upper"},
			{key: "lxc.rootfs.managed", value: "0", get: "0"},
			{key: "lxc.rootfs.managed", value: "no", err: "must be 0 or 1"},
		},
		"cgroup dirs": {
			{key: "lxc.cgroup.dir", value: "my-cgroup/first", get: "my-cgroup/first"},
			{key: "lxc.cgroup.dir", value: "../escape", err: "may not contain .."},
			{key: "lxc.cgroup.dir.monitor", value: "lxc.monitor", get: "lxc.monitor"},
			{key: "lxc.cgroup.dir.monitor.pivot", value: "lxc.pivot", get: "lxc.pivot"},
			{key: "lxc.cgroup.dir.container.inner", value: "inner", get: "inner"},
			{key: "lxc.cgroup.relative", value: "1", get: "1"},
		},
		"namespaces": {
			{key: "lxc.namespace.clone", value: "mount net ipc", get: "mnt net ipc"},
			{key: "lxc.namespace.keep", value: "user net", get: "user net"},
			{key: "lxc.namespace.keep", value: "user bogus", err: `unknown namespace "bogus"`},
			{key: "lxc.namespace.share.net", value: "42", get: "42"},
			{key: "lxc.namespace.share.pid", value: "c3", get: "c3"},
			{key: "lxc.namespace.share.disk", value: "c3", err: `unsupported config key "lxc.namespace.share.disk"`},
			{key: "lxc.time.offset.boot", value: "-10s", get: "-10s"},
			{key: "lxc.time.offset.monotonic", value: "500ms", get: "500ms"},
			{key: "lxc.time.offset.boot", value: "10d", err: "want [-]N followed by h, m, s, ms, us or ns"},
			{key: "lxc.time.offset.boot", value: "s", err: "want [-]N"},
		},
		"lsm": {
			{key: "lxc.apparmor.profile", value: "unconfined", get: "unconfined"},
			{key: "lxc.apparmor.allow_incomplete", value: "1", get: "1"},
			{key: "lxc.apparmor.allow_nesting", value: "1", get: "1"},
			{key: "lxc.apparmor.raw", value: "mount fstype=nfs,", get: "mount fstype=nfs,"},
			{key: "lxc.selinux.context", value: "system_u:system_r:lxc_t:s0:c22", get: "system_u:system_r:lxc_t:s0:c22"},
			{key: "lxc.selinux.context.keyring", value: "system_u:system_r:lxc_t:s0:c22", get: "system_u:system_r:lxc_t:s0:c22"},
		},
		"seccomp": {
			{key: "lxc.seccomp.profile", value: "/usr/share/lxc/config/common.seccomp", get: "/usr/share/lxc/config/common.seccomp"},
			{key: "lxc.seccomp.allow_nesting", value: "1", get: "1"},
			{key: "lxc.seccomp.notify.proxy", value: "unix:/run/seccomp.sock", get: "unix:/run/seccomp.sock"},
			{key: "lxc.seccomp.notify.proxy", value: "unix:@abstract", get: "unix:@abstract"},
			{key: "lxc.seccomp.notify.proxy", value: "/run/seccomp.sock", err: "want unix:/PATH or unix:@NAME"},
			{key: "lxc.seccomp.notify.cookie", value: "c00k1e", get: "c00k1e"},
		},
		"idmap": {
			{key: "lxc.idmap", value: "u 0 100000 65536", get: "u 0 100000 65536"},
			{key: "lxc.idmap", value: "g  0\t100000   65536", get: "g 0 100000 65536"},
			{key: "lxc.idmap", value: "b 0 100000 65536", err: "want u|g CONTAINER-ID HOST-ID COUNT"},
			{key: "lxc.idmap", value: "u 0 100000", err: "want u|g CONTAINER-ID HOST-ID COUNT"},
			{key: "lxc.idmap", value: "u 0 100000 0", err: "a count of 0 maps nothing"},
			{key: "lxc.idmap", value: "u 0 4294967295 2", err: "past the last id"},
			{key: "lxc.idmap", value: "u x 100000 1", err: `"x": not a number`},
		},
		"hooks": {
			{key: "lxc.hook.version", value: "1", get: "1"},
			{key: "lxc.hook.version", value: "2", err: "larger than 1"},
			{key: "lxc.hook.pre-start", value: "/usr/local/bin/prep", get: "/usr/local/bin/prep"},
			{key: "lxc.hook.mount", value: "/usr/share/lxcfs/lxc.mount.hook", get: "/usr/share/lxcfs/lxc.mount.hook"},
			{key: "lxc.hook.post-stop", value: "/bin/true", get: "/bin/true"},
			{key: "lxc.hook.destroy", value: "/bin/true", get: "/bin/true"},
			{key: "lxc.hook.before-start", value: "/bin/true", err: `unsupported config key "lxc.hook.before-start"`},
			{key: "lxc.hook", value: "/bin/true", err: "takes only an empty value"},
		},
		"logging": {
			{key: "lxc.log.syslog", value: "local3", get: "local3"},
			{key: "lxc.log.syslog", value: "kern", err: "want one of daemon"},
			{key: "lxc.log.level", value: "info", get: "INFO"},
		},
		"autostart and monitor": {
			{key: "lxc.start.auto", value: "1", get: "1"},
			{key: "lxc.start.delay", value: "5", get: "5"},
			{key: "lxc.start.delay", value: "-5", err: "not a number"},
			{key: "lxc.start.order", value: "-10", get: "-10"},
			{key: "lxc.start.order", value: "first", err: "not a number"},
			{key: "lxc.group", value: "onboot web", get: "onboot\nweb"},
			{key: "lxc.monitor.unshare", value: "1", get: "1"},
		},
	}
	for family, rows := range families {
		for _, tt := range rows {
			t.Run(family+"/"+tt.key+"="+tt.value, func(t *testing.T) {
				c, before := New(), New()
				err := c.Set(tt.key, tt.value)
				if tt.err != "" {
					if err == nil || !strings.Contains(err.Error(), tt.err) {
						t.Fatalf("Set err = %v, want one containing %q", err, tt.err)
					}
					if !strings.Contains(err.Error(), tt.key) {
						t.Fatalf("error %q does not name the key", err)
					}
					if !reflect.DeepEqual(c, before) {
						t.Fatalf("failed Set changed the config")
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if got, err := c.Get(tt.key); err != nil || got != tt.get {
					t.Fatalf("Get = %q, %v; want %q", got, err, tt.get)
				}
			})
		}
	}
}

// TestFamilyClear: an empty value clears a list key, a whole family through
// its bare key, or one name of a family.
func TestFamilyClear(t *testing.T) {
	tests := []struct {
		name, text string
		key, get   string
	}{
		{"idmap", "lxc.idmap = u 0 1 1\nlxc.idmap =\nlxc.idmap = g 0 2 1", "lxc.idmap", "g 0 2 1"},
		{"sysctl one", "lxc.sysctl.a.b = 1\nlxc.sysctl.c = 2\nlxc.sysctl.a.b =", "lxc.sysctl", "lxc.sysctl.c = 2"},
		{"sysctl all", "lxc.sysctl.a.b = 1\nlxc.sysctl.c = 2\nlxc.sysctl =\nlxc.sysctl.d = 3", "lxc.sysctl", "lxc.sysctl.d = 3"},
		{"sysctl replaces", "lxc.sysctl.a = 1\nlxc.sysctl.b = 2\nlxc.sysctl.a = 3", "lxc.sysctl", "lxc.sysctl.a = 3\nlxc.sysctl.b = 2"},
		{"prlimit all", "lxc.prlimit.nofile = 10\nlxc.prlimit =", "lxc.prlimit", ""},
		{"proc all", "lxc.proc.oom_score_adj = 10\nlxc.proc =", "lxc.proc.oom_score_adj", ""},
		{"hooks of a type", "lxc.hook.start = a\nlxc.hook.stop = b\nlxc.hook.start = c\nlxc.hook.start =", "lxc.hook", "lxc.hook.stop = b"},
		{"all hooks", "lxc.hook.start = a\nlxc.hook.stop = b\nlxc.hook =\nlxc.hook.mount = m", "lxc.hook", "lxc.hook.mount = m"},
		{"namespace.keep", "lxc.namespace.keep = user\nlxc.namespace.keep =\nlxc.namespace.keep = net", "lxc.namespace.keep", "net"},
		{"apparmor.raw", "lxc.apparmor.raw = a\nlxc.apparmor.raw = \nlxc.apparmor.raw = b", "lxc.apparmor.raw", "b"},
		{"group", "lxc.group = a b\nlxc.group =\nlxc.group = onboot", "lxc.group", "onboot"},
		{"net address list", "lxc.net.0.type = veth\nlxc.net.0.ipv4.address = 10.0.0.2/24\nlxc.net.0.ipv4.address = 10.0.0.3/24\nlxc.net.0.ipv4.address =\nlxc.net.0.ipv4.address = 10.0.0.4/24", "lxc.net.0.ipv4.address", "10.0.0.4/24"},
		{"net subkey to unset", "lxc.net.0.type = veth\nlxc.net.0.link = br0\nlxc.net.0.link =", "lxc.net.0.link", ""},
		{"net type removes the network", "lxc.net.0.type = veth\nlxc.net.0.link = br0\nlxc.net.0.type =", "lxc.net.0.link", ""},
		{"pdeath to default", "lxc.monitor.signal.pdeath = 0\nlxc.monitor.signal.pdeath =", "lxc.monitor.signal.pdeath", "9"},
		{"keyring to default", "lxc.keyring.session = 0\nlxc.keyring.session =", "lxc.keyring.session", "1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parse(t, tt.text)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := c.Get(tt.key); err != nil || got != tt.get {
				t.Fatalf("Get(%s) = %q, %v; want %q", tt.key, got, err, tt.get)
			}
		})
	}
}

func TestSetKeys(t *testing.T) {
	c, err := parse(t, `lxc.uts.name = c1
lxc.arch = i686
lxc.net.0.type = empty
lxc.net.1.type = macvlan
lxc.net.1.link = br0
lxc.net.2.type = veth
lxc.net.2.link = br0
lxc.net.2.script.up = /bin/true
lxc.net.2.veth.vlan.id = 5
lxc.net.2.l2proxy = 1
lxc.idmap = u 0 100000 65536
lxc.start.auto = 1
lxc.hook.destroy = /bin/true
lxc.hook.start = /bin/true
lxc.apparmor.profile = unconfined
lxc.selinux.context = x
lxc.console.path = none
lxc.keyring.session = 1
lxc.sysctl.net.ipv4.ip_forward = 1
lxc.cgroup2.memory.max = 1G
lxc.cgroup.dir = x
`)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Support{}
	for _, k := range c.SetKeys() {
		got[k.Key] = k.Support
	}
	want := map[string]Support{
		"lxc.uts.name":                   Built,
		"lxc.arch":                       NotBuilt,
		"lxc.net.0.type":                 Built,
		"lxc.net.1.type":                 Built,
		"lxc.net.1.link":                 Built,
		"lxc.net.2.type":                 Built,
		"lxc.net.2.link":                 Built,
		"lxc.net.2.script.up":            Built,
		"lxc.net.2.veth.vlan.id":         Built,
		"lxc.net.2.l2proxy":              Built,
		"lxc.idmap":                      Built,
		"lxc.start.auto":                 OtherTools,
		"lxc.hook.destroy":               OtherTools,
		"lxc.hook.start":                 Built,
		"lxc.apparmor.profile":           NeedsAppArmor,
		"lxc.selinux.context":            NeedsSELinux,
		"lxc.console.path":               Built,
		"lxc.sysctl.net.ipv4.ip_forward": Built,
		"lxc.cgroup.dir":                 Built,
		"lxc.cgroup2.memory.max":         Built,
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("SetKeys:\n got %v\nwant %v", got, want)
	}
	if keys := New().SetKeys(); len(keys) != 0 {
		t.Fatalf("defaults hold set keys: %v", keys)
	}
}

// TestHookDoc: lxc.hook.'s doc line, a constant, names every hook type.
func TestHookDoc(t *testing.T) {
	want := "lxc.hook.TYPE: a command run at " + strings.Join(hookTypes, ", ")
	if hookDoc != want {
		t.Errorf("hookDoc = %q, want %q", hookDoc, want)
	}
}
