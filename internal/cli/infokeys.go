package cli

import (
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/golxc/golxc/internal/config"
)

// lxcInfoValue is KEY's value as lxc-info -c prints it. The config
// package's Get gives the value as written (it is what a save keeps);
// LXC 5.0's lxc-info differs from that in a few ways scripts see, and
// they are undone here rather than in Get, which other tools rely on:
//   - lists that LXC keeps one item per line end with a newline after the
//     last item too, so `lxc-info -c lxc.cap.drop` ends in a blank line;
//   - lxc.rootfs.path is printed without its storage type ("dir:");
//   - lxc.net is the list of the networks' types, not their indexes;
//   - lxc.mount.auto is one option per kind, proc then sys then cgroup,
//     with LXC's names for the defaults ("proc" is "proc:mixed");
//   - lxc.namespace.clone and .keep are one namespace per line, in LXC's
//     order;
//   - an unset lxc.log.level is NOTSET, unset console sizes are 0 and
//     sizes are byte counts ("auto" is LXC's 128 KiB);
//   - unset signals and lxc.autodev.tmpfs.size are 0 (the defaults apply
//     at use), and lxc.execute.cmd and lxc.init.cmd are as written;
//   - a key of a network that is not configured, and the bare lxc.hook,
//     are invalid.
//
// An error means lxc-info reports "KEY invalid".
func lxcInfoValue(cfg *config.Config, key string) (string, error) {
	if num, _, ok := config.SplitNetKey(key); ok {
		if !slices.ContainsFunc(cfg.Net, func(n config.Net) bool { return strconv.Itoa(n.Index) == num }) {
			return "", errors.New("no such network")
		}
	}
	if key == "lxc.hook" {
		return "", errors.New("lxc.hook takes a hook type")
	}
	v, err := cfg.Get(key)
	if err != nil {
		return "", err
	}
	switch {
	case key == "lxc.rootfs.path":
		return stripStorageType(v), nil
	case key == "lxc.net":
		var types []string
		for _, n := range cfg.Net {
			types = append(types, n.Type)
		}
		return newlineEach(types), nil
	case key == "lxc.mount.auto":
		return lxcMountAuto(cfg.MountAuto), nil
	case key == "lxc.namespace.clone" || key == "lxc.namespace.keep":
		return newlineEach(lxcNamespaceOrder(strings.Fields(v))), nil
	case key == "lxc.log.level" && v == "":
		return "NOTSET", nil
	case key == "lxc.console.size" || key == "lxc.console.buffer.size":
		// LXC keeps these as a byte count: unset is 0, auto 128 KiB.
		if v == "" {
			return "0", nil
		}
		if n, err := config.ByteSize(v); err == nil {
			return strconv.FormatInt(n, 10), nil
		}
	case strings.HasPrefix(key, "lxc.signal.") || key == "lxc.autodev.tmpfs.size":
		// LXC keeps 0 for "not set" and applies its default at use.
		if _, set := cfg.Written(key); !set {
			return "0", nil
		}
	case key == "lxc.execute.cmd" || key == "lxc.init.cmd":
		// As written, not re-quoted.
		if w, set := cfg.Written(key); set {
			return w, nil
		}
	case lxcListKey(key) && v != "":
		return v + "\n", nil
	}
	return v, nil
}

// lxcListKey reports whether LXC prints KEY's items each followed by a
// newline (the lists it keeps item by item; lxc.idmap, lxc.init.groups and
// a single lxc.proc.NAME, lxc.sysctl.NAME or lxc.prlimit.NAME are not).
func lxcListKey(key string) bool {
	switch key {
	case "lxc.cap.drop", "lxc.cap.keep", "lxc.mount.entry", "lxc.environment", "lxc.group",
		"lxc.apparmor.raw", "lxc.proc", "lxc.sysctl", "lxc.prlimit", "lxc.cgroup", "lxc.cgroup2":
		return true
	}
	if key == "lxc.hook.version" {
		return false
	}
	if strings.HasPrefix(key, "lxc.hook.") || strings.HasPrefix(key, "lxc.cgroup2.") {
		return true
	}
	return strings.HasPrefix(key, "lxc.cgroup.") && key != "lxc.cgroup.relative" &&
		key != "lxc.cgroup.dir" && !strings.HasPrefix(key, "lxc.cgroup.dir.")
}

func newlineEach(items []string) string {
	var b strings.Builder
	for _, it := range items {
		b.WriteString(it)
		b.WriteByte('\n')
	}
	return b.String()
}

// stripStorageType drops a "TYPE:" storage prefix as lxc-info does
// ("dir:/srv/c1" is "/srv/c1", "overlay:/a:/b" is "/a:/b"). A colon after a
// slash is part of a path, not a type.
func stripStorageType(p string) string {
	typ, rest, ok := strings.Cut(p, ":")
	if !ok || strings.Contains(typ, "/") {
		return p
	}
	return rest
}

// lxcMountAuto renders lxc.mount.auto as LXC does: one option per kind (the
// last one written wins), proc, sys, then cgroup, bare "proc" and "sys"
// under their default's name.
func lxcMountAuto(opts []string) string {
	kinds := []string{"proc", "sys", "cgroup", "shmounts"}
	chosen := make([]string, len(kinds))
	for _, o := range opts {
		kind, _, _ := strings.Cut(o, ":")
		if kind == "cgroup-full" {
			kind = "cgroup"
		}
		i := slices.Index(kinds, kind)
		if i < 0 {
			continue
		}
		if o == "proc" || o == "sys" {
			o += ":mixed"
		}
		chosen[i] = o
	}
	return strings.Join(slices.DeleteFunc(chosen, func(s string) bool { return s == "" }), " ")
}

// lxcNamespaceOrder sorts namespace names in LXC's order.
func lxcNamespaceOrder(ns []string) []string {
	order := []string{"user", "mnt", "pid", "uts", "ipc", "net", "cgroup", "time"}
	slices.SortStableFunc(ns, func(a, b string) int {
		ia, ib := slices.Index(order, a), slices.Index(order, b)
		if ia < 0 {
			ia = len(order)
		}
		if ib < 0 {
			ib = len(order)
		}
		return ia - ib
	})
	return ns
}
