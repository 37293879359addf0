package config

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary text to Parse. Whatever the input, Parse must not
// panic, and a Config it accepts must be usable: signals set, every exact key
// readable, and every scalar key's Get accepted back by Set unchanged (which
// is what saving a config will rely on).
func FuzzParse(f *testing.F) {
	seeds := []string{
		busyboxConfig,
		"",
		"# only a comment\n",
		"lxc.uts.name = 'c1'\nlxc.uts.name = \"c2\"\n",
		"lxc.tty.max = abc\n",
		"lxc.utsname = c1\n",
		"lxc.network.type = veth\n",
		"foo = bar\n",
		"lxc.uts.name c1\n",
		"lxc.uts.name = a\x00\n",
		"lxc.uts.name = \xff\n",
		"lxc.cap.keep = none sys_admin\nlxc.cap.keep = \nlxc.cap.drop = CAP_MKNOD 12\n",
		"lxc.mount.entry = /a\\040b c none bind,create=dir 0 0\nlxc.mount.entry =\n",
		"lxc.net.0.type = veth\nlxc.net.1.type = empty\nlxc.net.0.type =\nlxc.net =\n",
		"lxc.cgroup.devices.allow = c 1:3 rw\nlxc.cgroup2.memory.max = 1G\nlxc.cgroup =\n",
		"lxc.init.cmd = /bin/sh -c \"echo 'x y'\" \\\"\nlxc.init.uid = 1000\n",
		"lxc.signal.halt = SIGRTMIN+3\nlxc.signal.stop = 9\nlxc.log.level = trace\n",
		"lxc.environment = PATH\nlxc.environment = A=b\n",
		commonConf,
		usernsConf,
		legacyConfig,
		userConfig,
		"lxc.net.0.type = veth\nlxc.net.0.ipv4.address = 10.0.0.2/24 10.0.0.255\nlxc.net.0.ipv6.address = 2001:db8::2/64\nlxc.net.0.hwaddr = 00:16:3e:xx:xx:xx\nlxc.net.0.veth.vlan.tagged.id = 7\n",
		"lxc.idmap = u 0 100000 65536\nlxc.idmap = g 0 4294967295 1\nlxc.idmap =\n",
		"lxc.sysctl.net.ipv4.ip_forward = 1\nlxc.prlimit.nofile = 10:20\nlxc.proc.oom_score_adj = -1000\nlxc.sysctl =\n",
		"lxc.namespace.clone = mount pid\nlxc.namespace.share.net = 1\nlxc.time.offset.boot = -5s\n",
		"lxc.hook.start = /x\nlxc.hook =\nlxc.monitor.signal.pdeath = 0\nlxc.start.order = -3\n",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		// An include would read files named by the input; keep the fuzzer
		// off the file system.
		if strings.Contains(text, includeKey) {
			t.Skip()
		}
		c := New()
		if err := c.Parse(bytes.NewReader([]byte(text)), "fuzz"); err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz:") || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %q does not name the input on one line", err)
			}
			return
		}
		if c.HaltSignal == 0 || c.RebootSignal == 0 || c.StopSignal == 0 {
			t.Fatalf("zero signal after Parse: %+v", c)
		}
		c.SetKeys()
		for _, k := range keyTable {
			if k.prefix || k.field == nil {
				continue
			}
			v, err := c.Get(k.name)
			if err != nil {
				t.Fatalf("Get(%q): %v", k.name, err)
			}
			if k.list {
				continue
			}
			c2 := New()
			if err := c2.Set(k.name, fileValue(v)); err != nil {
				t.Fatalf("Set(%q, Get() = %q): %v", k.name, v, err)
			}
			if v2, _ := c2.Get(k.name); v2 != v {
				t.Fatalf("%s: Get %q, Set, Get %q", k.name, v, v2)
			}
		}
	})
}

// fileValue writes v so that a file line, or Set, reads back exactly v: a
// value with surrounding blanks or its own outer quotes gets a pair of double
// quotes, of which the reader removes only the outer pair. A saver must do the
// same.
func fileValue(v string) string {
	if v == strings.TrimSpace(v) && unquote(v) == v {
		return v
	}
	return `"` + v + `"`
}
