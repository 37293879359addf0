package config

import (
	"slices"
	"strings"
	"testing"
)

// Configs of the shapes LXC's templates and shared includes produce:
// written for these tests, not copied.

// commonConf is shaped like a distribution's common.conf include.
const commonConf = `# Shared settings for every container of this distribution.

# Default mount entries
lxc.mount.auto = cgroup:mixed proc:mixed sys:mixed
lxc.mount.entry = /sys/fs/fuse/connections sys/fs/fuse/connections none bind,optional 0 0

# Capabilities that no container needs
lxc.cap.drop = mac_admin mac_override sys_time sys_module sys_rawio

# Devices: deny all, then allow the usual ones
lxc.cgroup.devices.deny = a
## /dev/null and /dev/zero
lxc.cgroup.devices.allow = c 1:3 rwm
lxc.cgroup.devices.allow = c 1:5 rwm
## consoles
lxc.cgroup.devices.allow = c 5:0 rwm
lxc.cgroup.devices.allow = c 5:1 rwm
lxc.cgroup.devices.allow = c 136:* rwm
lxc.cgroup.devices.allow = c 5:2 rwm
## fuse and tun
lxc.cgroup.devices.allow = c 10:229 rwm
lxc.cgroup.devices.allow = c 10:200 rwm
lxc.cgroup.devices.allow = b *:* m
lxc.cgroup.devices.allow = c *:* m

# Seccomp and AppArmor
lxc.seccomp.profile = /usr/share/lxc/config/common.seccomp
lxc.apparmor.profile = generated
lxc.apparmor.allow_nesting = 0

# Blank out the host's hooks for lxcfs
lxc.hook.version = 1
lxc.hook.mount = /usr/share/lxcfs/lxc.mount.hook
lxc.hook.post-stop = /usr/share/lxcfs/lxc.reboot.hook

# /dev/console and ttys
lxc.tty.dir = lxc
lxc.pty.max = 1024
lxc.tty.max = 4
lxc.autodev = 1
lxc.signal.halt = SIGRTMIN+3
lxc.signal.reboot = SIGTERM
lxc.signal.stop = SIGKILL
`

// usernsConf is shaped like the userns.conf include for unprivileged
// containers.
const usernsConf = `# Settings for containers in a user namespace
lxc.cgroup.devices.deny =
lxc.cgroup.devices.allow =
lxc.cap.drop =
lxc.cap.drop = mac_admin mac_override sys_time sys_module
lxc.mount.auto = sys:rw
lxc.mount.entry = /dev/full dev/full none bind,create=file,optional 0 0
lxc.mount.entry = /dev/null dev/null none bind,create=file,optional 0 0
lxc.mount.entry = /dev/random dev/random none bind,create=file,optional 0 0
lxc.mount.entry = /dev/tty dev/tty none bind,create=file,optional 0 0
lxc.mount.entry = /dev/urandom dev/urandom none bind,create=file,optional 0 0
lxc.mount.entry = /dev/zero dev/zero none bind,create=file,optional 0 0
`

// downloadConfig is shaped like what the download template writes for a
// Debian image, with a network and an id map.
const downloadConfig = `# Template used to create this container: /usr/share/lxc/templates/lxc-download
# Parameters passed to the template: --dist debian --release bookworm --arch amd64
# For additional config options, please look at lxc.container.conf(5)

# Uncomment the following line to support nesting containers:
#lxc.include = /usr/share/lxc/config/nesting.conf
# (Be aware this has security implications)

# Distribution configuration
lxc.include = @DIR@/debian.common.conf
lxc.include = @DIR@/debian.userns.conf
lxc.arch = linux64

# Container specific configuration
lxc.idmap = u 0 100000 65536
lxc.idmap = g 0 100000 65536
lxc.rootfs.path = dir:/var/lib/lxc/deb1/rootfs
lxc.uts.name = deb1

# Network configuration
lxc.net.0.type = veth
lxc.net.0.link = lxcbr0
lxc.net.0.flags = up
lxc.net.0.hwaddr = 00:16:3e:4a:9b:01
lxc.net.0.name = eth0
lxc.net.0.ipv4.address = 10.0.3.15/24
lxc.net.0.ipv4.gateway = auto

lxc.start.auto = 1
lxc.start.order = 10
lxc.start.delay = 5
lxc.group = onboot
lxc.log.level = WARN
`

func TestRealWorldConfigs(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "debian.common.conf", commonConf)
	writeFile(t, dir, "debian.userns.conf", usernsConf)
	path := writeFile(t, dir, "config", strings.ReplaceAll(downloadConfig, "@DIR@", dir))
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Warnings) != 0 {
		t.Fatalf("warnings: %q", c.Warnings)
	}
	checks := []struct {
		what string
		ok   bool
	}{
		{"the userns include cleared the device rules", len(c.Cgroup) == 0},
		{"cap.drop cleared and set again", slices.Equal(c.CapDrop, []string{"mac_admin", "mac_override", "sys_time", "sys_module"})},
		{"mount.auto adds up", slices.Equal(c.MountAuto, []string{"cgroup:mixed", "proc:mixed", "sys:mixed", "sys:rw"})},
		{"seven mount entries", len(c.MountEntries) == 7},
		{"two id maps", len(c.IDMap) == 2 && c.IDMap[1] == IDMap{Kind: "g", ContainerID: 0, HostID: 100000, Count: 65536}},
		{"network", len(c.Net) == 1 && c.Net[0].Link == "lxcbr0" && c.Net[0].IPv4Gateway == "auto"},
		{"hooks", len(c.Hooks) == 2 && c.HookVersion == 1},
		{"apparmor", c.AppArmor.Profile == "generated"},
		{"autostart", c.Start.Auto && c.Start.Order == 10 && slices.Equal(c.Groups, []string{"onboot"})},
		{"tty dir", c.TTYDir == "lxc" && c.TTYMax == 4 && c.PTYMax == 1024},
	}
	for _, ch := range checks {
		if !ch.ok {
			t.Errorf("%s: %+v", ch.what, c)
		}
	}
	// Such a container asks for nothing golxc has not built: its idmap,
	// veth and hooks are.
	var notBuilt []string
	for _, k := range c.SetKeys() {
		if k.Support == NotBuilt {
			notBuilt = append(notBuilt, k.Key)
		}
	}
	if slices.Contains(notBuilt, "lxc.idmap") || slices.Contains(notBuilt, "lxc.net.0.link") || slices.Contains(notBuilt, "lxc.hook.mount") {
		t.Fatalf("not built: %q", notBuilt)
	}
}
