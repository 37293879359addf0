package config

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/golxc/golxc/internal/lxclog"
)

// keyDef is one row of the key table: the only place a key is defined.
type keyDef struct {
	name   string // the full key, or a prefix ending in "." when prefix is set
	prefix bool   // name is a prefix: the field decides which suffixes it takes
	list   bool   // repeatable: each line adds, an empty value clears
	doc    string // one line, for documentation and help
	field  field  // nil only for lxc.include, which the parser handles
	// support says what lxc-start does with the key when it holds a value
	// other than its default (see Support); a prefix field that decides
	// per suffix implements supporter instead.
	support Support
	// builtIf, when set, names the values of a NotBuilt key that golxc
	// does handle (lxc.console.path = none), so one row says both.
	builtIf func(value string) bool
}

// field stores, reads back and resets the values of a key. Rows share a few
// kinds of field (text, number, flag, signal, list) built around a pointer
// into Config, so a typical row is a name, a doc line and that pointer.
type field interface {
	// set applies a non-empty value, or returns the reason it is invalid
	// (or errUnsupported for a key under a prefix that is not handled) and
	// leaves the Config unchanged.
	set(c *Config, key, value string) error
	// get renders the value as `lxc-info -c KEY` does.
	get(c *Config, key string) (string, error)
	// clear handles an empty value: a list is emptied, a scalar goes back
	// to its default. New relies on this to fill in defaults.
	clear(c *Config, key string) error
}

// errUnsupported is a field's answer for a key under its prefix that golxc
// does not handle (yet); the caller reports it as ErrUnsupportedKey.
var errUnsupported = errors.New("unsupported key")

// keyTable holds every key golxc understands. Keep it in the order of
// lxc.container.conf(5); Keys sorts for display.
var keyTable = []keyDef{
	{name: includeKey, doc: "a file, or a directory of *.conf files, to read at this point"},

	// General.
	{name: "lxc.arch", doc: "the container's architecture (personality): x86, i686, x86_64, amd64, arm64 ...",
		field:   textField{ptr: func(c *Config) *string { return &c.Arch }, parse: parseArch},
		support: NotBuilt, builtIf: isHostArch},
	{name: "lxc.uts.name", doc: "the container's host name",
		field: textField{ptr: func(c *Config) *string { return &c.UTSName }, parse: parseHostname}},
	{name: "lxc.signal.halt", doc: "signal that asks the container's init to halt (kill(1) name or number)",
		field: signalField{ptr: func(c *Config) *unix.Signal { return &c.HaltSignal }, def: unix.SIGPWR}},
	{name: "lxc.signal.reboot", doc: "signal that asks the container's init to reboot",
		field: signalField{ptr: func(c *Config) *unix.Signal { return &c.RebootSignal }, def: unix.SIGINT}},
	{name: "lxc.signal.stop", doc: "signal that forcibly stops the container's init",
		field: signalField{ptr: func(c *Config) *unix.Signal { return &c.StopSignal }, def: unix.SIGKILL}},
	{name: "lxc.execute.cmd", doc: "the command lxc-execute runs when given none, split into words like a shell",
		field: wordsField{ptr: func(c *Config) *[]string { return &c.ExecuteCmd }}, support: OtherTools},
	{name: "lxc.init.cmd", doc: "the container's init command, split into words like a shell",
		field: wordsField{ptr: func(c *Config) *[]string { return &c.InitCmd }}},
	{name: "lxc.init.cwd", doc: "working directory of init, inside the container",
		field: textField{ptr: func(c *Config) *string { return &c.InitCwd }}},
	{name: "lxc.init.uid", doc: "user id init runs as",
		field: numberField{ptr: func(c *Config) *int { return &c.InitUID }, limit: math.MaxUint32 - 1}},
	{name: "lxc.init.gid", doc: "group id init runs as",
		field: numberField{ptr: func(c *Config) *int { return &c.InitGID }, limit: math.MaxUint32 - 1}},
	{name: "lxc.init.groups", list: true, doc: "supplementary group ids of init, comma separated",
		field:   listField{ptr: func(c *Config) *[]string { return &c.InitGroups }, split: ",", parse: parseID, sep: ","},
		support: NotBuilt},
	{name: "lxc.sched.core", doc: "1 to make the container a core scheduling domain",
		field: flagField{ptr: func(c *Config) *bool { return &c.SchedCore }}, support: NotBuilt},
	{name: "lxc.proc", list: true, doc: "with an empty value, removes every lxc.proc.* setting so far",
		field: namedAllField{ptr: func(c *Config) *[]NamedValue { return &c.Proc }, prefix: "lxc.proc."}, support: Built},
	{name: "lxc.proc.", prefix: true, doc: "lxc.proc.FILE: a value written to /proc/PID/FILE of init (oom_score_adj ...)",
		field:   namedField{ptr: func(c *Config) *[]NamedValue { return &c.Proc }, prefix: "lxc.proc.", name: parseProcName, value: parseNonEmpty},
		support: Built},
	{name: "lxc.ephemeral", doc: "1 to destroy the container when it stops",
		field: flagField{ptr: func(c *Config) *bool { return &c.Ephemeral }}, support: Built},

	// Network.
	{name: "lxc.net", list: true, doc: "with an empty value, removes every network defined so far",
		field: netListField{}},
	{name: "lxc.net.", prefix: true, doc: "lxc.net.N.SUBKEY: network N (type, flags, link, name, hwaddr, mtu, ipv4.*, ipv6.*, veth.*, macvlan.mode, ipvlan.*, vlan.id, script.*, l2proxy)",
		field: netField{}},

	// Terminals.
	{name: "lxc.pty.max", doc: "number of ptys of the container's own devpts instance",
		field: numberField{ptr: func(c *Config) *int { return &c.PTYMax }, limit: math.MaxInt32}},
	{name: "lxc.console.buffer.size", doc: "size of the in-memory console ring buffer: auto, or bytes with an optional KB, MB or GB",
		field: textField{ptr: func(c *Config) *string { return &c.Console.BufferSize }, parse: parseByteSize}},
	{name: "lxc.console.size", doc: "size limit of lxc.console.logfile: auto, or bytes with an optional KB, MB or GB",
		field: textField{ptr: func(c *Config) *string { return &c.Console.Size }, parse: parseByteSize}},
	{name: "lxc.console.logfile", doc: "file the console output is copied to",
		field: textField{ptr: func(c *Config) *string { return &c.ConsoleLogfile }}},
	{name: "lxc.console.rotate", doc: "1 to keep the console log's previous contents in FILE.1 when it reaches lxc.console.size, instead of truncating it",
		field: flagField{ptr: func(c *Config) *bool { return &c.Console.Rotate }}},
	{name: "lxc.console.path", doc: "host device or file the console is attached to, or none; unset: a pty",
		field: textField{ptr: func(c *Config) *string { return &c.ConsolePath }}},
	{name: "lxc.tty.max", doc: "number of ttys made available in the container",
		field: numberField{ptr: func(c *Config) *int { return &c.TTYMax }, limit: math.MaxInt32}},
	{name: "lxc.tty.dir", doc: "directory under /dev in which the console and tty devices are made",
		field: textField{ptr: func(c *Config) *string { return &c.TTYDir }, parse: parseRelPath}},
	{name: "lxc.autodev", doc: "1 to mount a tmpfs on /dev and fill it with a minimal set of devices",
		field: flagField{ptr: func(c *Config) *bool { return &c.Autodev }, def: true}},
	{name: "lxc.autodev.tmpfs.size", doc: "size in bytes of the /dev tmpfs of lxc.autodev",
		field: numberField{ptr: func(c *Config) *int { return &c.AutodevTmpfsSize }, limit: math.MaxInt32, def: 500000}},

	// Mounts and the root file system.
	{name: "lxc.mount.fstab", doc: "an fstab(5) file of mounts to make in the container",
		field: textField{ptr: func(c *Config) *string { return &c.MountFstab }}, support: NotBuilt},
	{name: "lxc.mount.entry", list: true, doc: "one mount, as an fstab(5) line",
		field: mountEntryField{}},
	{name: "lxc.mount.auto", list: true, doc: "kernel file systems to mount: proc, sys, cgroup, cgroup-full with :mixed, :ro or :rw",
		field: listField{ptr: func(c *Config) *[]string { return &c.MountAuto }, words: true, parse: parseMountAuto, sep: " "}},
	{name: "lxc.rootfs.path", doc: "the container's root file system (a directory, optionally dir:PATH)",
		field: rootfsPathField{}},
	{name: "lxc.rootfs.mount", doc: "where the rootfs is bound before pivot_root",
		field: textField{ptr: func(c *Config) *string { return &c.Rootfs.Mount }}, support: NotBuilt},
	{name: "lxc.rootfs.options", doc: "extra mount options for the rootfs",
		field: textField{ptr: func(c *Config) *string { return &c.Rootfs.Options }}, support: Built},
	{name: "lxc.rootfs.managed", doc: "0 when golxc must not modify the container's storage",
		field: flagField{ptr: func(c *Config) *bool { return &c.Rootfs.Managed }, def: true}, support: OtherTools},

	// Control groups. The exact lxc.cgroup.dir* rows win over the prefix.
	{name: "lxc.cgroup", list: true, doc: "with an empty value, removes every lxc.cgroup.* setting so far",
		field: cgroupAllField{version: 1}},
	{name: "lxc.cgroup.", prefix: true, list: true, doc: "lxc.cgroup.CONTROLLER.FILE: a value for a cgroup v1 file",
		field: cgroupField{version: 1}},
	{name: "lxc.cgroup2", list: true, doc: "with an empty value, removes every lxc.cgroup2.* setting so far",
		field: cgroupAllField{version: 2}},
	{name: "lxc.cgroup2.", prefix: true, list: true, doc: "lxc.cgroup2.CONTROLLER.FILE: a value for a cgroup v2 file",
		field: cgroupField{version: 2}},
	{name: "lxc.cgroup.dir", doc: "path, below the cgroup root, of the container's and the monitor's cgroups",
		field: textField{ptr: func(c *Config) *string { return &c.CgroupDir.Dir }, parse: parseCgroupPath}, support: Built},
	{name: "lxc.cgroup.dir.monitor", doc: "the monitor's cgroup path (with lxc.cgroup.dir.container)",
		field: textField{ptr: func(c *Config) *string { return &c.CgroupDir.Monitor }, parse: parseCgroupPath}, support: Built},
	{name: "lxc.cgroup.dir.monitor.pivot", doc: "cgroup the monitor moves to when the container stops",
		field: textField{ptr: func(c *Config) *string { return &c.CgroupDir.MonitorPivot }, parse: parseCgroupPath}, support: NotBuilt},
	{name: "lxc.cgroup.dir.container", doc: "the container's cgroup path (with lxc.cgroup.dir.monitor)",
		field: textField{ptr: func(c *Config) *string { return &c.CgroupDir.Container }, parse: parseCgroupPath}, support: Built},
	{name: "lxc.cgroup.dir.container.inner", doc: "a sub-cgroup of lxc.cgroup.dir.container where the cgroup namespace starts",
		field: textField{ptr: func(c *Config) *string { return &c.CgroupDir.ContainerInner }, parse: parseCgroupPath}, support: Built},
	{name: "lxc.cgroup.relative", doc: "1 to make the cgroups below the caller's instead of at the root",
		field: flagField{ptr: func(c *Config) *bool { return &c.CgroupDir.Relative }}, support: Built},

	// Capabilities.
	{name: "lxc.cap.drop", list: true, doc: "capabilities to drop, space separated (capabilities(7) names without cap_)",
		field: listField{ptr: func(c *Config) *[]string { return &c.CapDrop }, words: true, parse: parseCapName, sep: "\n"}},
	{name: "lxc.cap.keep", list: true, doc: "capabilities to keep, dropping all others; none keeps nothing",
		field: capKeepField{}},

	// Namespaces.
	{name: "lxc.namespace.clone", list: true, doc: "namespaces to create, space separated (cgroup ipc mnt net pid time user uts)",
		field:   listField{ptr: func(c *Config) *[]string { return &c.Namespace.Clone }, words: true, parse: parseNamespace, sep: " "},
		support: Built},
	{name: "lxc.namespace.keep", list: true, doc: "namespaces to inherit from the caller, space separated",
		field:   listField{ptr: func(c *Config) *[]string { return &c.Namespace.Keep }, words: true, parse: parseNamespace, sep: " "},
		support: Built},
	{name: "lxc.namespace.share.", prefix: true, doc: "lxc.namespace.share.NS: a pid, a container name or a container path whose namespace NS to join",
		field:   namedField{ptr: func(c *Config) *[]NamedValue { return &c.Namespace.Share }, prefix: "lxc.namespace.share.", name: parseNamespace, value: parseNonEmpty},
		support: Built},
	{name: "lxc.time.offset.boot", doc: "offset of the boot time clock: [-]N with h, m, s, ms, us or ns",
		field: textField{ptr: func(c *Config) *string { return &c.TimeOffset.Boot }, parse: parseTimeOffset}, support: NotBuilt},
	{name: "lxc.time.offset.monotonic", doc: "offset of the monotonic clock: [-]N with h, m, s, ms, us or ns",
		field: textField{ptr: func(c *Config) *string { return &c.TimeOffset.Monotonic }, parse: parseTimeOffset}, support: NotBuilt},

	// Resource limits and sysctls.
	{name: "lxc.prlimit", list: true, doc: "with an empty value, removes every lxc.prlimit.* setting so far",
		field: namedAllField{ptr: func(c *Config) *[]NamedValue { return &c.Prlimit }, prefix: "lxc.prlimit."}, support: Built},
	{name: "lxc.prlimit.", prefix: true, doc: "lxc.prlimit.NAME: SOFT[:HARD] (a number or unlimited) for setrlimit(2) resource NAME (nofile, nproc ...)",
		field:   namedField{ptr: func(c *Config) *[]NamedValue { return &c.Prlimit }, prefix: "lxc.prlimit.", name: parseRlimitName, value: parseRlimit},
		support: Built},
	{name: "lxc.sysctl", list: true, doc: "with an empty value, removes every lxc.sysctl.* setting so far",
		field: namedAllField{ptr: func(c *Config) *[]NamedValue { return &c.Sysctl }, prefix: "lxc.sysctl."}, support: Built},
	{name: "lxc.sysctl.", prefix: true, doc: "lxc.sysctl.NAME: a kernel parameter set in the container (net.ipv4.ip_forward ...)",
		field:   namedField{ptr: func(c *Config) *[]NamedValue { return &c.Sysctl }, prefix: "lxc.sysctl.", name: parseSysctlName, value: parseNonEmpty},
		support: Built},

	// Security modules, seccomp, keyring, no_new_privs.
	{name: "lxc.apparmor.profile", doc: "AppArmor profile of the container: a name, unconfined, unchanged or generated",
		field: textField{ptr: func(c *Config) *string { return &c.AppArmor.Profile }}, support: NeedsAppArmor},
	{name: "lxc.apparmor.allow_incomplete", doc: "1 to start even when the kernel lacks AppArmor's mount restrictions",
		field: flagField{ptr: func(c *Config) *bool { return &c.AppArmor.AllowIncomplete }}, support: NeedsAppArmor},
	{name: "lxc.apparmor.allow_nesting", doc: "1 to let a generated profile allow nested containers",
		field: flagField{ptr: func(c *Config) *bool { return &c.AppArmor.AllowNesting }}, support: NeedsAppArmor},
	{name: "lxc.apparmor.raw", list: true, doc: "a line appended to a generated AppArmor profile",
		field: listField{ptr: func(c *Config) *[]string { return &c.AppArmor.Raw }, parse: parseNonEmpty, sep: "\n"}, support: NeedsAppArmor},
	{name: "lxc.selinux.context", doc: "SELinux context the container runs in",
		field: textField{ptr: func(c *Config) *string { return &c.SELinux.Context }}, support: NeedsSELinux},
	{name: "lxc.selinux.context.keyring", doc: "SELinux context of the container's session keyring",
		field: textField{ptr: func(c *Config) *string { return &c.SELinux.KeyringContext }}, support: NeedsSELinux},
	{name: "lxc.keyring.session", doc: "0 to let init inherit the caller's session keyring instead of a new one",
		field: flagField{ptr: func(c *Config) *bool { return &c.KeyringSession }, def: true}, support: NotBuilt},
	{name: "lxc.seccomp.profile", doc: "file of the seccomp policy loaded before init runs",
		field: textField{ptr: func(c *Config) *string { return &c.Seccomp.Profile }}, support: Built},
	{name: "lxc.seccomp.allow_nesting", doc: "1 to stack the container's seccomp filter on one already loaded",
		field: flagField{ptr: func(c *Config) *bool { return &c.Seccomp.AllowNesting }}, support: Built},
	{name: "lxc.seccomp.notify.proxy", doc: "unix:PATH or unix:@NAME socket seccomp notifications are forwarded to",
		field: textField{ptr: func(c *Config) *string { return &c.Seccomp.NotifyProxy }, parse: parseNotifyProxy}, support: Built},
	{name: "lxc.seccomp.notify.cookie", doc: "a string sent along with forwarded seccomp notifications",
		field: textField{ptr: func(c *Config) *string { return &c.Seccomp.NotifyCookie }}, support: Built},
	{name: "lxc.no_new_privs", doc: "1 to set PR_SET_NO_NEW_PRIVS for the container",
		field: flagField{ptr: func(c *Config) *bool { return &c.NoNewPrivs }}, support: Built},

	// User namespace.
	{name: "lxc.idmap", list: true, doc: "an id mapping: u|g CONTAINER-ID HOST-ID COUNT",
		field: idmapField{}, support: Built},

	// Hooks.
	{name: "lxc.hook.version", doc: "0 to pass hook arguments as arguments, 1 as environment variables",
		field: numberField{ptr: func(c *Config) *int { return &c.HookVersion }, limit: 1}, support: Built},
	{name: "lxc.hook", list: true, doc: "with an empty value, removes every hook defined so far",
		field: hookAllField{}},
	{name: "lxc.hook.", prefix: true, list: true, doc: hookDoc,
		field: hookField{}, support: Built},

	// Logging.
	{name: "lxc.log.level", doc: "log level: TRACE DEBUG INFO NOTICE WARN ERROR CRIT ALERT FATAL, or 0 to 8",
		field: textField{ptr: func(c *Config) *string { return &c.LogLevel }, parse: parseLogLevel}, support: OtherTools},
	{name: "lxc.log.file", doc: "file the container's log is written to",
		field: textField{ptr: func(c *Config) *string { return &c.LogFile }}, support: OtherTools},
	{name: "lxc.log.syslog", doc: "syslog facility to log to: daemon, local0 ... local7",
		field: textField{ptr: func(c *Config) *string { return &c.LogSyslog }, parse: parseSyslogFacility}, support: OtherTools},

	// Autostart and the monitor.
	{name: "lxc.start.auto", doc: "1 to start the container at boot (lxc-autostart)",
		field: flagField{ptr: func(c *Config) *bool { return &c.Start.Auto }}, support: OtherTools},
	{name: "lxc.start.delay", doc: "seconds lxc-autostart waits after starting this container",
		field: numberField{ptr: func(c *Config) *int { return &c.Start.Delay }, limit: math.MaxInt32}, support: OtherTools},
	{name: "lxc.start.order", doc: "autostart order, lower first (may be negative)",
		field: intField{ptr: func(c *Config) *int { return &c.Start.Order }}, support: OtherTools},
	{name: "lxc.monitor.unshare", doc: "1 to give the monitor its own mount namespace before the pre-start hooks",
		field: flagField{ptr: func(c *Config) *bool { return &c.MonitorUnshare }}, support: NotBuilt},
	{name: "lxc.monitor.signal.pdeath", doc: "signal init gets when the monitor dies; 0 for none",
		field: pdeathField{}, support: NotBuilt},
	{name: "lxc.group", list: true, doc: "autostart groups of the container, space separated (onboot ...)",
		field: listField{ptr: func(c *Config) *[]string { return &c.Groups }, words: true, parse: parseNonEmpty, sep: "\n"}, support: OtherTools},

	// Environment.
	{name: "lxc.environment", list: true, doc: "an environment variable for init: K=V, or K to pass the caller's value",
		field: listField{ptr: func(c *Config) *[]string { return &c.Environment }, parse: parseEnv, sep: "\n"}},
}

// lookup finds key's row: an exact name first, then the longest prefix. A
// key that is not in the table is reported as legacy (with its replacement)
// or unsupported.
func lookup(key string) (*keyDef, error) {
	var best *keyDef
	for i := range keyTable {
		k := &keyTable[i]
		if k.field == nil {
			continue
		}
		if !k.prefix && k.name == key {
			return k, nil
		}
		if k.prefix && strings.HasPrefix(key, k.name) && (best == nil || len(k.name) > len(best.name)) {
			best = k
		}
	}
	if best != nil {
		return best, nil
	}
	if use, ok := legacyReplacement(key); ok {
		if use == "" {
			return nil, fmt.Errorf("%w %q: no longer used, remove the line", ErrLegacyKey, key)
		}
		return nil, fmt.Errorf("%w %q: use %q", ErrLegacyKey, key, use)
	}
	return nil, fmt.Errorf("%w %q", ErrUnsupportedKey, key)
}

// textField is a string key. parse, when set, validates and may normalize.
type textField struct {
	ptr   func(*Config) *string
	parse func(string) (string, error)
}

func (f textField) set(c *Config, _, value string) error {
	if f.parse != nil {
		v, err := f.parse(value)
		if err != nil {
			return err
		}
		value = v
	}
	*f.ptr(c) = value
	return nil
}

func (f textField) get(c *Config, _ string) (string, error) { return *f.ptr(c), nil }

func (f textField) clear(c *Config, _ string) error {
	*f.ptr(c) = ""
	return nil
}

// numberField is a non-negative decimal integer key.
type numberField struct {
	ptr   func(*Config) *int
	limit uint64
	def   int
}

func (f numberField) set(c *Config, _, value string) error {
	n, err := parseUint(value, f.limit)
	if err != nil {
		return err
	}
	*f.ptr(c) = int(n)
	return nil
}

func (f numberField) get(c *Config, _ string) (string, error) { return strconv.Itoa(*f.ptr(c)), nil }

func (f numberField) clear(c *Config, _ string) error {
	*f.ptr(c) = f.def
	return nil
}

// parseUint reads a decimal number no larger than limit, with the reason a
// user needs when it is not one.
func parseUint(s string, limit uint64) (uint64, error) {
	n, err := strconv.ParseUint(s, 10, 64)
	if errors.Is(err, strconv.ErrRange) || (err == nil && n > limit) {
		return 0, fmt.Errorf("larger than %d", limit)
	}
	if err != nil {
		return 0, errors.New("not a number")
	}
	return n, nil
}

// intField is a signed decimal integer key whose default is 0.
type intField struct {
	ptr func(*Config) *int
}

func (f intField) set(c *Config, _, value string) error {
	n, err := strconv.ParseInt(value, 10, 32)
	if errors.Is(err, strconv.ErrRange) {
		return fmt.Errorf("out of range %d to %d", math.MinInt32, math.MaxInt32)
	}
	if err != nil {
		return errors.New("not a number")
	}
	*f.ptr(c) = int(n)
	return nil
}

func (f intField) get(c *Config, _ string) (string, error) { return strconv.Itoa(*f.ptr(c)), nil }

func (f intField) clear(c *Config, _ string) error {
	*f.ptr(c) = 0
	return nil
}

// flagField is a 0 or 1 key.
type flagField struct {
	ptr func(*Config) *bool
	def bool
}

func (f flagField) set(c *Config, _, value string) error {
	switch value {
	case "0":
		*f.ptr(c) = false
	case "1":
		*f.ptr(c) = true
	default:
		return errors.New("must be 0 or 1")
	}
	return nil
}

func (f flagField) get(c *Config, _ string) (string, error) {
	if *f.ptr(c) {
		return "1", nil
	}
	return "0", nil
}

func (f flagField) clear(c *Config, _ string) error {
	*f.ptr(c) = f.def
	return nil
}

// signalField is a signal key, given as kill(1) takes it and read back as a
// number, as lxc-info prints it.
type signalField struct {
	ptr func(*Config) *unix.Signal
	def unix.Signal
}

func (f signalField) set(c *Config, _, value string) error {
	sig, err := SignalByName(value)
	if err != nil {
		return err
	}
	*f.ptr(c) = sig
	return nil
}

func (f signalField) get(c *Config, _ string) (string, error) {
	return strconv.Itoa(int(*f.ptr(c))), nil
}

func (f signalField) clear(c *Config, _ string) error {
	*f.ptr(c) = f.def
	return nil
}

// listField is a repeatable key whose items accumulate in a string slice.
type listField struct {
	ptr   func(*Config) *[]string
	words bool                         // a line holds several whitespace-separated items
	split string                       // or items separated by this string
	parse func(string) (string, error) // validates and normalizes one item
	sep   string                       // how get joins the items
}

func (f listField) set(c *Config, _, value string) error {
	items := []string{value}
	switch {
	case f.words:
		items = strings.Fields(value)
	case f.split != "":
		items = strings.Split(value, f.split)
	}
	// Validate every item before storing any, so a bad line changes nothing.
	for i, it := range items {
		v, err := f.parse(it)
		if err != nil {
			return err
		}
		items[i] = v
	}
	p := f.ptr(c)
	*p = append(*p, items...)
	return nil
}

func (f listField) get(c *Config, _ string) (string, error) {
	return strings.Join(*f.ptr(c), f.sep), nil
}

func (f listField) clear(c *Config, _ string) error {
	*f.ptr(c) = nil
	return nil
}

// parseHostname refuses what sethostname(2) would: a name longer than the
// kernel's HOST_NAME_MAX.
func parseHostname(s string) (string, error) {
	const hostNameMax = 64
	if len(s) > hostNameMax {
		return "", fmt.Errorf("longer than %d bytes, the kernel's limit for a host name", hostNameMax)
	}
	return s, nil
}

// parseLogLevel takes an lxc.log.level (a name in any case or its number,
// lxclog's levels) and returns the name, so that consumers have one
// spelling to deal with.
func parseLogLevel(s string) (string, error) {
	p, err := lxclog.ParsePriority(s)
	if err != nil {
		return "", fmt.Errorf("want one of %s, or 0 to 8", strings.Join(lxclog.Names(), " "))
	}
	return p.String(), nil
}

// parseEnv accepts "K=V" and "K"; the name must be there for either.
func parseEnv(s string) (string, error) {
	if strings.HasPrefix(s, "=") {
		return "", errors.New("no variable name before \"=\"")
	}
	return s, nil
}
