package config

import (
	"strconv"
	"strings"
)

// legacyKey is a key of LXC 1.x/2.x that LXC 2.1 renamed or removed. LXC
// itself now calls such keys unsupported; naming the replacement saves the
// user a trip to the man page.
type legacyKey struct {
	name   string
	prefix bool                     // name ends in "." and the rest carries over
	use    string                   // replacement, or its prefix; "" when removed
	rename func(rest string) string // for prefixes whose rest changes too
}

var legacyKeys = []legacyKey{
	{name: "lxc.utsname", use: "lxc.uts.name"},
	{name: "lxc.rootfs", use: "lxc.rootfs.path"},
	{name: "lxc.rootfs.backend"},
	{name: "lxc.network", use: "lxc.net"},
	{name: "lxc.network.", prefix: true, rename: legacyNetwork},
	{name: "lxc.id_map", use: "lxc.idmap"},
	{name: "lxc.tty", use: "lxc.tty.max"},
	{name: "lxc.pts", use: "lxc.pty.max"},
	{name: "lxc.aa_profile", use: "lxc.apparmor.profile"},
	{name: "lxc.aa_allow_incomplete", use: "lxc.apparmor.allow_incomplete"},
	{name: "lxc.se_context", use: "lxc.selinux.context"},
	{name: "lxc.seccomp", use: "lxc.seccomp.profile"},
	{name: "lxc.console", use: "lxc.console.path"},
	{name: "lxc.devttydir", use: "lxc.tty.dir"},
	{name: "lxc.haltsignal", use: "lxc.signal.halt"},
	{name: "lxc.rebootsignal", use: "lxc.signal.reboot"},
	{name: "lxc.stopsignal", use: "lxc.signal.stop"},
	{name: "lxc.init_cmd", use: "lxc.init.cmd"},
	{name: "lxc.init_uid", use: "lxc.init.uid"},
	{name: "lxc.init_gid", use: "lxc.init.gid"},
	{name: "lxc.limit.", prefix: true, use: "lxc.prlimit."},
	{name: "lxc.loglevel", use: "lxc.log.level"},
	{name: "lxc.logfile", use: "lxc.log.file"},
	{name: "lxc.mount", use: "lxc.mount.fstab"},
	{name: "lxc.syslog", use: "lxc.log.syslog"},
	{name: "lxc.pivotdir"},
	{name: "lxc.kmsg"},
}

// legacyReplacement reports whether key is a legacy key, and what replaces it
// ("" when nothing does).
func legacyReplacement(key string) (string, bool) {
	for _, l := range legacyKeys {
		if !l.prefix {
			if key == l.name {
				return l.use, true
			}
			continue
		}
		rest, ok := strings.CutPrefix(key, l.name)
		if !ok || rest == "" {
			continue
		}
		if l.rename != nil {
			return l.rename(rest), true
		}
		return l.use + rest, true
	}
	return "", false
}

// legacyNetwork maps the rest of lxc.network.REST onto lxc.net: an index, if
// the old key had one, is kept, else the user must pick one; ipv4 and ipv6
// became ipv4.address and ipv6.address.
func legacyNetwork(rest string) string {
	idx := "[i]"
	if num, sub, ok := strings.Cut(rest, "."); ok {
		if _, err := strconv.ParseUint(num, 10, 31); err == nil {
			idx, rest = num, sub
		}
	}
	switch rest {
	case "ipv4", "ipv6":
		rest += ".address"
	}
	return "lxc.net." + idx + "." + rest
}
