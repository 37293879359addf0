package config

import (
	"strings"
	"testing"
)

// legacyConfig is shaped like an LXC 1.x container config.
const legacyConfig = `# Template used to create this container: /usr/share/lxc/templates/lxc-download
# Parameters passed to the template: -d debian -r jessie -a amd64

# Distribution configuration
lxc.arch = x86_64
lxc.utsname = old1
lxc.rootfs = /var/lib/lxc/old1/rootfs
lxc.rootfs.backend = dir
lxc.tty = 4
lxc.pts = 1024
lxc.aa_profile = unconfined
#lxc.aa_profile = lxc-container-default
lxc.haltsignal = SIGRTMIN+3
lxc.id_map = u 0 100000 65536
lxc.id_map = g 0 100000 65536
lxc.limit.nofile = 1024:4096
lxc.pivotdir = lxc_putold

# Network configuration
lxc.network.type = veth
lxc.network.link = lxcbr0
lxc.network.flags = up
lxc.network.hwaddr = 00:16:3e:aa:bb:cc
lxc.network.ipv4 = 10.0.3.10/24
lxc.network.ipv4.gateway = 10.0.3.1

lxc.network.type = empty
lxc.network.1.name = eth9
lxc.network.5.type = phys
lxc.network.5.link = eth1
lxc.network.5.ipv6 = 2001:db8::2/64
lxc.network.type=macvlan
lxc.network.macvlan.mode = 'bridge'
lxc.uts.name = kept
`

const updatedConfig = `# Template used to create this container: /usr/share/lxc/templates/lxc-download
# Parameters passed to the template: -d debian -r jessie -a amd64

# Distribution configuration
lxc.arch = x86_64
lxc.uts.name = old1
lxc.rootfs.path = dir:/var/lib/lxc/old1/rootfs
lxc.tty.max = 4
lxc.pty.max = 1024
lxc.apparmor.profile = unconfined
#lxc.aa_profile = lxc-container-default
lxc.signal.halt = SIGRTMIN+3
lxc.idmap = u 0 100000 65536
lxc.idmap = g 0 100000 65536
lxc.prlimit.nofile = 1024:4096

# Network configuration
lxc.net.0.type = veth
lxc.net.0.link = lxcbr0
lxc.net.0.flags = up
lxc.net.0.hwaddr = 00:16:3e:aa:bb:cc
lxc.net.0.ipv4.address = 10.0.3.10/24
lxc.net.0.ipv4.gateway = 10.0.3.1

lxc.net.2.type = empty
lxc.net.1.name = eth9
lxc.net.5.type = phys
lxc.net.5.link = eth1
lxc.net.5.ipv6.address = 2001:db8::2/64
lxc.net.3.type=macvlan
lxc.net.3.macvlan.mode = 'bridge'
lxc.uts.name = kept
`

func TestUpdateLegacy(t *testing.T) {
	d := ParseDocument([]byte(legacyConfig))
	n, err := UpdateLegacy(d)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(d.Bytes()); got != updatedConfig {
		t.Fatalf("updated:\n%s\nwant:\n%s", got, updatedConfig)
	}
	if n != 24 {
		t.Errorf("%d lines changed, want 24", n)
	}
	// Idempotent: nothing left to change.
	if n, err := UpdateLegacy(d); n != 0 || err != nil || string(d.Bytes()) != updatedConfig {
		t.Fatalf("second run changed %d lines, err %v", n, err)
	}
	// The result is a current config.
	c := New()
	if err := c.Parse(strings.NewReader(updatedConfig), "updated"); err != nil {
		t.Fatal(err)
	}
	if len(c.Net) != 5 || c.Net[0].IPv4Addresses[0] != "10.0.3.10/24" || c.Rootfs.Path != "/var/lib/lxc/old1/rootfs" || len(c.IDMap) != 2 {
		t.Fatalf("parsed %+v", c)
	}
}

func TestUpdateLegacyEdges(t *testing.T) {
	tests := []struct{ in, want, err string }{
		{in: "lxc.rootfs = /srv/r\nlxc.rootfs.backend = btrfs\n", want: "lxc.rootfs.path = btrfs:/srv/r\n"},
		{in: "lxc.rootfs = overlayfs:/a:/b\n", want: "lxc.rootfs.path = overlayfs:/a:/b\n"},
		{in: "lxc.network =\nlxc.network.0.type = empty\n", want: "lxc.net =\nlxc.net.0.type = empty\n"},
		{in: "lxc.loglevel = 1\nlxc.logfile = /l\nlxc.init_cmd = /x\nlxc.mount = /f\nlxc.console = none\nlxc.kmsg = 0\n",
			want: "lxc.log.level = 1\nlxc.log.file = /l\nlxc.init.cmd = /x\nlxc.mount.fstab = /f\nlxc.console.path = none\n"},
		{in: "lxc.network.link = br0\n", err: "comes before any lxc.network.type"},
	}
	for _, tt := range tests {
		d := ParseDocument([]byte(tt.in))
		_, err := UpdateLegacy(d)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%q: err %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || string(d.Bytes()) != tt.want {
			t.Errorf("%q: got %q, %v; want %q", tt.in, d.Bytes(), err, tt.want)
		}
	}
}
