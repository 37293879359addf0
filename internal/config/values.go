package config

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strconv"
	"strings"
)

// Validators of single values, for the rows of the key table. Each returns
// the value as it is to be kept (normalized where LXC accepts several
// spellings) or the reason a user needs to fix it.

// arches are the values lxc.arch takes (man lxc.container.conf,
// ARCHITECTURE, and the personalities LXC knows).
var arches32 = []string{"arm", "armel", "armhf", "armv7l", "athlon", "i386", "i486", "i586", "i686", "linux32", "mips", "mipsel", "ppc", "powerpc", "x86"}
var arches64 = []string{"aarch64", "amd64", "arm64", "linux64", "mips64", "mips64el", "ppc64", "ppc64el", "ppc64le", "powerpc64", "riscv64", "s390x", "x86_64"}

func parseArch(s string) (string, error) {
	if slices.Contains(arches32, s) || slices.Contains(arches64, s) {
		return s, nil
	}
	return "", fmt.Errorf("unknown architecture: want one of %s", strings.Join(append(slices.Clone(arches32), arches64...), " "))
}

// isHostArch reports whether lxc.arch asks for what the container gets
// anyway: the host's own 64-bit personality.
// IsHostArch reports whether s, a value of lxc.arch, names the host's own
// architecture (nothing to change for a process to run as it).
func IsHostArch(s string) bool { return isHostArch(s) }

func isHostArch(s string) bool {
	names := map[string][]string{
		"amd64":   {"amd64", "x86_64"},
		"arm64":   {"arm64", "aarch64"},
		"ppc64le": {"ppc64le", "ppc64el", "ppc64", "powerpc64"},
		"riscv64": {"riscv64"},
		"s390x":   {"s390x"},
	}[runtime.GOARCH]
	return s == "linux64" || slices.Contains(names, s)
}

func parseNonEmpty(s string) (string, error) {
	if strings.TrimSpace(s) == "" {
		return "", errors.New("empty")
	}
	return s, nil
}

// parseID reads a user or group id.
func parseID(s string) (string, error) {
	n, err := parseUint(strings.TrimSpace(s), math.MaxUint32-1)
	if err != nil {
		return "", fmt.Errorf("id %q: %w", s, err)
	}
	return strconv.FormatUint(n, 10), nil
}

// parseByteSize takes auto or a size in bytes with an optional KB, MB or GB
// (powers of 1024, any case), as the console buffer keys do.
func parseByteSize(s string) (string, error) {
	if _, err := ByteSize(s); err != nil {
		return "", err
	}
	return s, nil
}

// ByteSize is the byte count of a size key's value (lxc.console.size,
// lxc.console.buffer.size): auto is LXC's 128 KiB; a number takes an
// optional unit B, K or KB, M or MB, G or GB (binary multiples, as LXC's).
func ByteSize(s string) (int64, error) {
	if s == "auto" {
		return 128 << 10, nil
	}
	num := strings.TrimSpace(strings.TrimRight(s, "kKmMgGbB"))
	unit := strings.ToUpper(strings.TrimSpace(s[len(strings.TrimRight(s, "kKmMgGbB")):]))
	shift, ok := map[string]uint{"": 0, "B": 0, "K": 10, "KB": 10, "M": 20, "MB": 20, "G": 30, "GB": 30}[unit]
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || !ok || n < 0 || n > math.MaxInt64>>shift {
		return 0, errors.New("want auto, or a size such as 65536, 64KB or 1M")
	}
	return n << shift, nil
}

// parseRelPath takes a relative path that stays below its base.
func parseRelPath(s string) (string, error) {
	if strings.HasPrefix(s, "/") || slices.Contains(strings.Split(s, "/"), "..") {
		return "", errors.New("want a relative path without ..")
	}
	return s, nil
}

// parseCgroupPath takes a cgroup path below the cgroup root: no ".."
// component may climb out of it.
func parseCgroupPath(s string) (string, error) {
	if slices.Contains(strings.Split(s, "/"), "..") {
		return "", errors.New("a cgroup path may not contain ..")
	}
	return s, nil
}

// namespaces are the identifiers of /proc/PID/ns (namespaces(7)); "mount"
// is the spelling of lxc.container.conf(5)'s own example for mnt.
var namespaces = []string{"cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts"}

func parseNamespace(s string) (string, error) {
	if s == "mount" {
		return "mnt", nil
	}
	if slices.Contains(namespaces, s) {
		return s, nil
	}
	return "", fmt.Errorf("unknown namespace %q: want one of %s", s, strings.Join(namespaces, " "))
}

// parseTimeOffset takes [-]N followed by h, m, s, ms, us or ns.
func parseTimeOffset(s string) (string, error) {
	num := strings.TrimRight(s, "hmsun")
	unit := s[len(num):]
	digits := strings.TrimPrefix(num, "-")
	if _, err := strconv.ParseUint(digits, 10, 63); err != nil || !slices.Contains([]string{"h", "m", "s", "ms", "us", "ns"}, unit) {
		return "", errors.New("want [-]N followed by h, m, s, ms, us or ns, such as -10s")
	}
	return s, nil
}

// rlimits are setrlimit(2)'s resources, lowercased without RLIMIT_.
var rlimits = []string{"as", "core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc", "rss", "rtprio", "rttime", "sigpending", "stack"}

func parseRlimitName(s string) (string, error) {
	if slices.Contains(rlimits, s) {
		return s, nil
	}
	return "", fmt.Errorf("unknown resource %q: want one of %s", s, strings.Join(rlimits, " "))
}

// parseRlimit takes SOFT or SOFT:HARD, each a number or unlimited, with the
// soft limit no higher than the hard one, as setrlimit(2) requires.
func parseRlimit(s string) (string, error) {
	soft, hard, both := strings.Cut(s, ":")
	if !both {
		hard = soft
	}
	lim := func(v string) (uint64, error) {
		if v == "unlimited" {
			return math.MaxUint64, nil
		}
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%q is neither a number nor unlimited", v)
		}
		return n, nil
	}
	ns, err := lim(soft)
	if err != nil {
		return "", err
	}
	nh, err := lim(hard)
	if err != nil {
		return "", err
	}
	if ns > nh {
		return "", errors.New("the soft limit is above the hard one")
	}
	return s, nil
}

// parseSysctlName takes a kernel parameter as sysctl(8) names it, with dots
// or slashes, that cannot climb out of /proc/sys.
func parseSysctlName(s string) (string, error) {
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == '.' || r == '/' }) {
		if strings.Trim(part, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-:@+") != "" {
			return "", errUnsupported
		}
	}
	if s == "" || strings.HasPrefix(s, ".") || strings.HasPrefix(s, "/") || strings.HasSuffix(s, ".") || strings.Contains(s, "..") {
		return "", errUnsupported
	}
	return s, nil
}

// parseProcName takes the name of a file of /proc/PID.
func parseProcName(s string) (string, error) {
	if s == "" || strings.Contains(s, "/") || strings.Trim(s, ".") == "" {
		return "", errUnsupported
	}
	return s, nil
}

func parseNotifyProxy(s string) (string, error) {
	rest, ok := strings.CutPrefix(s, "unix:")
	if !ok || rest == "" || rest == "@" || !(strings.HasPrefix(rest, "/") || strings.HasPrefix(rest, "@")) {
		return "", errors.New("want unix:/PATH or unix:@NAME")
	}
	return s, nil
}

var syslogFacilities = []string{"daemon", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"}

func parseSyslogFacility(s string) (string, error) {
	return oneOf(s, syslogFacilities...)
}
