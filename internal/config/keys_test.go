package config

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestSetGet sets one key on a fresh Config and checks what Get gives back,
// or the exact error.
func TestSetGet(t *testing.T) {
	long := strings.Repeat("h", 65)
	tests := []struct {
		key, value string
		get        string // expected Get(key) after a successful Set
		err        string // expected error text; Set must then fail
	}{
		{key: "lxc.uts.name", value: "c1", get: "c1"},
		{key: "lxc.uts.name", value: long[:64], get: long[:64]},
		{key: "lxc.uts.name", value: long, err: `invalid value "` + long + `" for "lxc.uts.name": longer than 64 bytes, the kernel's limit for a host name`},

		{key: "lxc.rootfs.path", value: "/srv/c1", get: "/srv/c1"},
		{key: "lxc.rootfs.mount", value: "/mnt/r", get: "/mnt/r"},
		{key: "lxc.rootfs.options", value: "idmap=container", get: "idmap=container"},

		{key: "lxc.tty.max", value: "0", get: "0"},
		{key: "lxc.tty.max", value: "12", get: "12"},
		{key: "lxc.tty.max", value: "x", err: `invalid value "x" for "lxc.tty.max": not a number`},
		{key: "lxc.tty.max", value: "-1", err: `invalid value "-1" for "lxc.tty.max": not a number`},
		{key: "lxc.tty.max", value: "1.5", err: `invalid value "1.5" for "lxc.tty.max": not a number`},
		{key: "lxc.tty.max", value: "99999999999999999999", err: `invalid value "99999999999999999999" for "lxc.tty.max": larger than 2147483647`},
		{key: "lxc.pty.max", value: "1024", get: "1024"},
		{key: "lxc.pty.max", value: "+3", err: `invalid value "+3" for "lxc.pty.max": not a number`},
		{key: "lxc.autodev.tmpfs.size", value: "1000", get: "1000"},
		{key: "lxc.init.uid", value: "1000", get: "1000"},
		{key: "lxc.init.gid", value: "4294967294", get: "4294967294"},
		{key: "lxc.init.gid", value: "4294967295", err: `invalid value "4294967295" for "lxc.init.gid": larger than 4294967294`},

		{key: "lxc.autodev", value: "0", get: "0"},
		{key: "lxc.autodev", value: "yes", err: `invalid value "yes" for "lxc.autodev": must be 0 or 1`},
		{key: "lxc.ephemeral", value: "1", get: "1"},
		{key: "lxc.ephemeral", value: "2", err: `invalid value "2" for "lxc.ephemeral": must be 0 or 1`},

		{key: "lxc.signal.halt", value: "SIGUSR1", get: "10"},
		{key: "lxc.signal.halt", value: "usr2", get: "12"},
		{key: "lxc.signal.reboot", value: "15", get: "15"},
		{key: "lxc.signal.stop", value: "SIGRTMIN+3", get: "37"},
		{key: "lxc.signal.stop", value: "SIGFOO", err: `invalid value "SIGFOO" for "lxc.signal.stop": unknown signal "SIGFOO": want a name such as SIGTERM, SIGRTMIN+N, or a number`},
		{key: "lxc.signal.halt", value: "0", err: `invalid value "0" for "lxc.signal.halt": signal 0 out of range 1 to 64`},

		{key: "lxc.mount.fstab", value: "/etc/fstab.c1", get: "/etc/fstab.c1"},
		{key: "lxc.mount.auto", value: "proc sys cgroup", get: "proc sys cgroup"},
		{key: "lxc.mount.auto", value: "proc:rw  sys:rw\tcgroup-full:rw", get: "proc:rw sys:rw cgroup-full:rw"},
		{key: "lxc.mount.auto", value: "cgroup:mixed:force cgroup-full:ro:force cgroup:force", get: "cgroup:mixed:force cgroup-full:ro:force cgroup:force"},
		{key: "lxc.mount.auto", value: "shmounts:/srv/shared:/shared", get: "shmounts:/srv/shared:/shared"},
		{key: "lxc.mount.auto", value: "proc sys:foo", err: `invalid value "proc sys:foo" for "lxc.mount.auto": unknown option "sys:foo": want proc, sys, cgroup or cgroup-full, with :mixed, :ro or :rw (cgroup ones also :force), or shmounts:PATH`},
		{key: "lxc.mount.auto", value: "proc:force", err: `invalid value "proc:force" for "lxc.mount.auto": unknown option "proc:force": want proc, sys, cgroup or cgroup-full, with :mixed, :ro or :rw (cgroup ones also :force), or shmounts:PATH`},
		{key: "lxc.mount.auto", value: "shmounts:", err: `invalid value "shmounts:" for "lxc.mount.auto": "shmounts:" needs a host path: shmounts:HOST[:CONTAINER]`},
		{key: "lxc.mount.entry", value: "/lib lib none ro,bind 0 0", get: "/lib lib none ro,bind 0 0"},
		{key: "lxc.mount.entry", value: "/a b none bind", get: "/a b none bind"},
		{key: "lxc.mount.entry", value: "/a b none", err: `invalid value "/a b none" for "lxc.mount.entry": has 3 fields, want "source target fstype options [dump [pass]]"`},
		{key: "lxc.mount.entry", value: "/a b none bind 0 0 0", err: `invalid value "/a b none bind 0 0 0" for "lxc.mount.entry": has 7 fields, want "source target fstype options [dump [pass]]"`},
		{key: "lxc.mount.entry", value: "/a b none bind x", err: `invalid value "/a b none bind x" for "lxc.mount.entry": field 5 "x": not a number`},
		{key: "lxc.mount.entry", value: `/a\000 b none bind`, err: `invalid value "/a\\000 b none bind" for "lxc.mount.entry": "/a\\000" decodes to a NUL byte`},

		{key: "lxc.cap.drop", value: "sys_module MAC_ADMIN cap_sys_time CAP_MKNOD 21", get: "sys_module\nmac_admin\nsys_time\nmknod\nsys_admin"},
		{key: "lxc.cap.drop", value: "sys_module sys_foo", err: `invalid value "sys_module sys_foo" for "lxc.cap.drop": unknown capability "sys_foo": see capabilities(7), written without cap_`},
		{key: "lxc.cap.drop", value: "41", err: `invalid value "41" for "lxc.cap.drop": unknown capability "41": the last one is 40`},
		{key: "lxc.cap.drop", value: "none", err: `invalid value "none" for "lxc.cap.drop": unknown capability "none": see capabilities(7), written without cap_`},
		{key: "lxc.cap.keep", value: "none", get: "none"},
		{key: "lxc.cap.keep", value: "sys_admin net_admin", get: "sys_admin\nnet_admin"},
		{key: "lxc.cap.keep", value: "sys_admin none chown", get: "chown"},
		{key: "lxc.cap.keep", value: "checkpoint_restore", get: "checkpoint_restore"},

		{key: "lxc.net.0.type", value: "empty", get: "empty"},
		{key: "lxc.net.3.type", value: "none", get: "none"},
		{key: "lxc.net.0.type", value: "veth", get: "veth"},
		{key: "lxc.net.1.type", value: "macvlan", get: "macvlan"},
		{key: "lxc.net.1.type", value: "vlan", get: "vlan"},
		{key: "lxc.net.1.type", value: "phys", get: "phys"},
		{key: "lxc.net.1.type", value: "ipvlan", get: "ipvlan"},
		{key: "lxc.net.0.type", value: "bridge", err: `invalid value "bridge" for "lxc.net.0.type": unknown network type: want one of empty, none, veth, macvlan, vlan, phys, ipvlan`},
		{key: "lxc.net.0.link", value: "br0", get: "br0"},
		{key: "lxc.net.0.foo", value: "br0", err: `unsupported config key "lxc.net.0.foo"`},
		{key: "lxc.net.00.type", value: "empty", err: `unsupported config key "lxc.net.00.type"`},
		{key: "lxc.net.x.type", value: "empty", err: `unsupported config key "lxc.net.x.type"`},
		{key: "lxc.net.-1.type", value: "empty", err: `unsupported config key "lxc.net.-1.type"`},
		{key: "lxc.net.0", value: "empty", err: `unsupported config key "lxc.net.0"`},
		{key: "lxc.net", value: "x", err: `invalid value "x" for "lxc.net": takes only an empty value, which removes every network: configure one with lxc.net.N.type`},

		{key: "lxc.cgroup.cpuset.cpus", value: "0,1", get: "0,1"},
		{key: "lxc.cgroup.devices.allow", value: "c 1:3 rw", get: "c 1:3 rw"},
		{key: "lxc.cgroup2.memory.high", value: "32M", get: "32M"},
		{key: "lxc.cgroup2.cgroup.max.depth", value: "2", get: "2"},
		{key: "lxc.cgroup.dir", value: "x", get: "x"},
		{key: "lxc.cgroup.dir.container", value: "x", get: "x"},
		{key: "lxc.cgroup.dir.foo", value: "x", err: `unsupported config key "lxc.cgroup.dir.foo"`},
		{key: "lxc.cgroup.relative", value: "1", get: "1"},
		{key: "lxc.cgroup.memory", value: "1", err: `unsupported config key "lxc.cgroup.memory"`},
		{key: "lxc.cgroup2.memory/../../x.max", value: "1", err: `unsupported config key "lxc.cgroup2.memory/../../x.max"`},
		{key: "lxc.cgroup2.memory..max", value: "1", err: `unsupported config key "lxc.cgroup2.memory..max"`},
		{key: "lxc.cgroup.", value: "1", err: `unsupported config key "lxc.cgroup."`},
		{key: "lxc.cgroup", value: "1", err: `invalid value "1" for "lxc.cgroup": takes only an empty value, which removes every lxc.cgroup.* setting: set one with lxc.cgroup.CONTROLLER.FILE`},

		{key: "lxc.init.cmd", value: "/sbin/init", get: "/sbin/init"},
		{key: "lxc.init.cmd", value: `/bin/sh -c "echo 'hi there'"`, get: `/bin/sh -c 'echo '\''hi there'\'''`},
		{key: "lxc.init.cmd", value: "/bin/sh 'unterminated", err: `invalid value "/bin/sh 'unterminated" for "lxc.init.cmd": unterminated single quote`},
		{key: "lxc.init.cmd", value: "'' x", err: `invalid value "'' x" for "lxc.init.cmd": empty command name`},
		{key: "lxc.uts.name", value: ` "c1" `, get: "c1"},
		{key: "lxc.uts.name", value: `"`, get: `"`},
		{key: "lxc.init.cwd", value: "/root", get: "/root"},

		{key: "lxc.environment", value: "PATH", get: "PATH"},
		{key: "lxc.environment", value: "A=b c", get: "A=b c"},
		{key: "lxc.environment", value: "=x", err: `invalid value "=x" for "lxc.environment": no variable name before "="`},

		{key: "lxc.console.path", value: "none", get: "none"},
		{key: "lxc.console.logfile", value: "/var/log/c1.console", get: "/var/log/c1.console"},
		{key: "lxc.log.file", value: "/var/log/c1.log", get: "/var/log/c1.log"},
		{key: "lxc.log.level", value: "debug", get: "DEBUG"},
		{key: "lxc.log.level", value: "8", get: "FATAL"},
		{key: "lxc.log.level", value: "9", err: `invalid value "9" for "lxc.log.level": want one of TRACE DEBUG INFO NOTICE WARN ERROR CRIT ALERT FATAL, or 0 to 8`},
		{key: "lxc.log.level", value: "WARNING", err: `invalid value "WARNING" for "lxc.log.level": want one of TRACE DEBUG INFO NOTICE WARN ERROR CRIT ALERT FATAL, or 0 to 8`},

		{key: "lxc.arch", value: "x86_64", get: "x86_64"},
		{key: "lxc.start.auto", value: "1", get: "1"},
		{key: "lxc.start.foo", value: "1", err: `unsupported config key "lxc.start.foo"`},
		{key: "lxc.utsname", value: "c1", err: `legacy config key "lxc.utsname": use "lxc.uts.name"`},
		{key: "foo", value: "1", err: `unsupported config key "foo"`},
		{key: "lxc.uts.name", value: "a\nb", err: `invalid value "a\nb" for "lxc.uts.name": not one line of text`},
	}
	for _, tt := range tests {
		t.Run(tt.key+"="+tt.value, func(t *testing.T) {
			c := New()
			before := New()
			err := c.Set(tt.key, tt.value)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("Set err = %v, want %q", err, tt.err)
				}
				if !reflect.DeepEqual(c, before) {
					t.Fatalf("failed Set changed the config: %+v", c)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.Get(tt.key)
			if err != nil || got != tt.get {
				t.Fatalf("Get = %q, %v; want %q", got, err, tt.get)
			}
		})
	}
}

func TestSetErrorsAreTyped(t *testing.T) {
	c := New()
	if err := c.Set("lxc.tty.max", "x"); !errors.Is(err, ErrInvalidValue) {
		t.Errorf("bad value: %v is not ErrInvalidValue", err)
	}
	if err := c.Set("lxc.nope", "x"); !errors.Is(err, ErrUnsupportedKey) {
		t.Errorf("unknown key: %v is not ErrUnsupportedKey", err)
	}
	if _, err := c.Get("lxc.nope"); err == nil || err.Error() != `unsupported config key "lxc.nope"` {
		t.Errorf("Get unknown key: %v", err)
	}
	if _, err := c.Get("lxc.net.0.foo"); err == nil || err.Error() != `unsupported config key "lxc.net.0.foo"` {
		t.Errorf("Get unsupported subkey: %v", err)
	}
}

// TestClear checks that an empty value clears a list key and restores a
// scalar's default, through a file as LXC users write it.
func TestClear(t *testing.T) {
	tests := []struct {
		name, text string
		check      func(*Config) bool
	}{
		{"mount.entry", "lxc.mount.entry = a b c d\nlxc.mount.entry = e f g h\nlxc.mount.entry =\nlxc.mount.entry = i j k l 1 2",
			func(c *Config) bool {
				return reflect.DeepEqual(c.MountEntries, []MountEntry{{Source: "i", Target: "j", FSType: "k", Options: "l", Dump: 1, Pass: 2, Raw: "i j k l 1 2"}})
			}},
		{"mount.auto", "lxc.mount.auto = proc sys\nlxc.mount.auto =\nlxc.mount.auto = cgroup",
			func(c *Config) bool { return slices.Equal(c.MountAuto, []string{"cgroup"}) }},
		{"cap.drop", "lxc.cap.drop = mknod\nlxc.cap.drop = ''\nlxc.cap.drop = sys_time",
			func(c *Config) bool { return slices.Equal(c.CapDrop, []string{"sys_time"}) }},
		{"cap.keep", "lxc.cap.keep = mknod\nlxc.cap.keep =\n",
			func(c *Config) bool { return c.CapKeep == nil }},
		{"cap.keep none then more", "lxc.cap.keep = mknod\nlxc.cap.keep = none\nlxc.cap.keep = chown",
			func(c *Config) bool { return slices.Equal(c.CapKeep, []string{"chown"}) }},
		{"environment", "lxc.environment = A=1\nlxc.environment =\nlxc.environment = B=2",
			func(c *Config) bool { return slices.Equal(c.Environment, []string{"B=2"}) }},
		{"net", "lxc.net.0.type = empty\nlxc.net.1.type = veth\nlxc.net =\nlxc.net.2.type = none",
			func(c *Config) bool { return reflect.DeepEqual(c.Net, []Net{{Index: 2, Type: "none"}}) }},
		{"one net", "lxc.net.0.type = empty\nlxc.net.1.type = veth\nlxc.net.0.type =",
			func(c *Config) bool { return reflect.DeepEqual(c.Net, []Net{{Index: 1, Type: "veth"}}) }},
		{"net keeps first order", "lxc.net.1.type = veth\nlxc.net.0.type = empty\nlxc.net.1.type = none",
			func(c *Config) bool {
				return reflect.DeepEqual(c.Net, []Net{{Index: 1, Type: "none"}, {Index: 0, Type: "empty"}})
			}},
		{"one cgroup key", "lxc.cgroup.devices.deny = a\nlxc.cgroup.devices.allow = c 1:3 rw\nlxc.cgroup2.devices.deny = a\nlxc.cgroup.devices.deny =",
			func(c *Config) bool {
				return reflect.DeepEqual(c.Cgroup, []CgroupSetting{{1, "devices.allow", "c 1:3 rw"}, {2, "devices.deny", "a"}})
			}},
		{"all cgroup v1", "lxc.cgroup.cpuset.cpus = 0\nlxc.cgroup2.memory.max = 1M\nlxc.cgroup.cpu.shares = 2\nlxc.cgroup =",
			func(c *Config) bool { return reflect.DeepEqual(c.Cgroup, []CgroupSetting{{2, "memory.max", "1M"}}) }},
		{"all cgroup v2", "lxc.cgroup.cpuset.cpus = 0\nlxc.cgroup2.memory.max = 1M\nlxc.cgroup2 =",
			func(c *Config) bool { return reflect.DeepEqual(c.Cgroup, []CgroupSetting{{1, "cpuset.cpus", "0"}}) }},
		{"init.cmd", "lxc.init.cmd = /bin/sh\nlxc.init.cmd =", func(c *Config) bool { return c.InitCmd == nil }},
		{"signal to default", "lxc.signal.halt = SIGUSR1\nlxc.signal.halt =", func(c *Config) bool { return c.HaltSignal == unix.SIGPWR }},
		{"autodev to default", "lxc.autodev = 0\nlxc.autodev =", func(c *Config) bool { return c.Autodev }},
		{"tmpfs size to default", "lxc.autodev.tmpfs.size = 1\nlxc.autodev.tmpfs.size =", func(c *Config) bool { return c.AutodevTmpfsSize == 500000 }},
		{"rootfs", "lxc.rootfs.path = dir:/x\nlxc.rootfs.path =", func(c *Config) bool { return c.Rootfs == Rootfs{Managed: true} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parse(t, tt.text)
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(c) {
				t.Fatalf("unexpected config %+v", c)
			}
		})
	}
}

func TestRootfsPath(t *testing.T) {
	tests := []struct{ raw, path string }{
		{"dir:/var/lib/lxc/c1/rootfs", "/var/lib/lxc/c1/rootfs"},
		{"/var/lib/lxc/c1/rootfs", "/var/lib/lxc/c1/rootfs"},
		{"overlayfs:/lower:/upper", "overlayfs:/lower:/upper"},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			c := New()
			if err := c.Set("lxc.rootfs.path", tt.raw); err != nil {
				t.Fatal(err)
			}
			if c.Rootfs.Raw != tt.raw || c.Rootfs.Path != tt.path {
				t.Fatalf("Rootfs = %+v, want Raw %q Path %q", c.Rootfs, tt.raw, tt.path)
			}
		})
	}
}

func TestMountEntryEscapes(t *testing.T) {
	c := New()
	raw := `/srv/my\040files mnt/with\011tab none bind,create=dir 0 0`
	if err := c.Set("lxc.mount.entry", raw); err != nil {
		t.Fatal(err)
	}
	want := MountEntry{Source: "/srv/my files", Target: "mnt/with\ttab", FSType: "none", Options: "bind,create=dir", Raw: raw}
	if len(c.MountEntries) != 1 || c.MountEntries[0] != want {
		t.Fatalf("MountEntries = %+v, want [%+v]", c.MountEntries, want)
	}
	if got, _ := c.Get("lxc.mount.entry"); got != raw {
		t.Fatalf("Get = %q, want the raw line %q", got, raw)
	}
	// A backslash not followed by three octal digits stays.
	if err := c.Set("lxc.mount.entry", `a\b\9 \04 none bind`); err != nil {
		t.Fatal(err)
	}
	if e := c.MountEntries[1]; e.Source != `a\b\9` || e.Target != `\04` {
		t.Fatalf("entry = %+v", e)
	}
}

func TestInitCmdWords(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		err  string
	}{
		{in: "/sbin/init", want: []string{"/sbin/init"}},
		{in: "  /bin/sh   -c  x ", want: []string{"/bin/sh", "-c", "x"}},
		{in: `/bin/echo 'a b' "c d" e\ f`, want: []string{"/bin/echo", "a b", "c d", "e f"}},
		{in: `x "a\"b\\c\$d\e" 'no\escape'`, want: []string{"x", `a"b\c$d\e`, `no\escape`}},
		{in: `x a""b '' ""`, want: []string{"x", "ab", "", ""}},
		{in: `x "unterminated`, err: "unterminated double quote"},
		{in: `x \`, err: "ends with a backslash"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := splitWords(tt.in)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Fatalf("splitWords = %q, %v; want %q", got, err, tt.want)
			}
			// Get quotes so that setting it again gives the same words.
			c := &Config{InitCmd: got}
			s, _ := c.Get("lxc.init.cmd")
			back, err := splitWords(s)
			if err != nil || !slices.Equal(back, got) {
				t.Fatalf("round trip via %q = %q, %v", s, back, err)
			}
		})
	}
}
