package cgroup

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// A user other than root gets containers' cgroups under its own cgroup,
// as LXC does for unprivileged users: the cgroup /proc/self/cgroup names
// in each hierarchy (its parent, when the caller is a golxc monitor that
// already moved into lxc.monitor.NAME there), kept only where the user
// may make a sub-cgroup and move its processes into it: on cgroup2 the
// directory and its cgroup.procs writable (a move needs write access to
// the cgroup.procs of the common ancestor: systemd's Delegate=yes, or
// root's mkdir and chown), on v1 the directory writable (a move needs the
// destination's file, which a cgroup the user made is the user's, and the
// mover's uid; pam_cgfs hands v1 cgroups to users so). The others are
// skipped, as LXC skips what it cannot write: on a hybrid host the v1
// controllers are root's unless delegated, and a user's containers get the
// unified hierarchy (the controllers enabled there) and whatever v1
// hierarchy was delegated.

// keepDelegated drops from l every hierarchy whose base the caller cannot
// make cgroups in. It fails with one line naming what to set up when
// nothing is left.
func (l *Layout) keepDelegated() error {
	var kept []Hierarchy
	for _, h := range l.V1 {
		h.Base = userBase(h.Base, h.Mount)
		if unix.Access(h.Base, unix.W_OK|unix.X_OK) == nil {
			kept = append(kept, h)
		}
	}
	l.V1 = kept
	unified := l.Unified
	if l.Unified != "" {
		l.Unified = userBase(l.Unified, "")
		unified = l.Unified
		if !delegated(l.Unified) {
			l.Unified, l.UnifiedControllers = "", nil
		}
	}
	if l.Unified != "" || len(l.V1) > 0 {
		return nil
	}
	where := "its cgroup"
	if unified != "" {
		where = unified
	}
	return fmt.Errorf("no cgroup is delegated to uid %d: %s (from /proc/self/cgroup) is not writable; run under a systemd unit or scope with Delegate=yes (systemd-run --user --scope -p Delegate=yes lxc-start ...), or have root mkdir a cgroup under %s, chown it and its cgroup.procs, cgroup.subtree_control and cgroup.threads to uid %d, and move the user's shell into it (its cgroup.procs)", os.Geteuid(), where, where, os.Geteuid())
}

// userBase is the base to make a user's container cgroups under: the
// caller's own cgroup, or its parent when that is a golxc monitor's
// (lxc.monitor.NAME) or a container's, so that every tool of the user
// finds the same cgroups wherever it runs.
func userBase(base, mount string) string {
	n := filepath.Base(base)
	if (strings.HasPrefix(n, "lxc.monitor.") || strings.HasPrefix(n, "lxc.payload.")) && base != mount {
		return filepath.Dir(base)
	}
	return base
}

// delegated says whether this user may make cgroups under dir, a cgroup2
// directory, and move its processes there.
func delegated(dir string) bool {
	return unix.Access(dir, unix.W_OK|unix.X_OK) == nil && unix.Access(filepath.Join(dir, "cgroup.procs"), unix.W_OK) == nil
}

// detectUser is Detect for a user other than root: the layout of the
// caller's own cgroups, only those delegated to it.
func detectUser(mountinfo *os.File) (*Layout, error) {
	cg, err := os.Open("/proc/self/cgroup")
	if err != nil {
		return nil, fmt.Errorf("open /proc/self/cgroup: %w", err)
	}
	defer cg.Close()
	l, err := ParseLayout(mountinfo, cg, "")
	if err != nil {
		return nil, err
	}
	if l.Unified == "" && len(l.V1) == 0 {
		return nil, errors.New("no cgroup hierarchy is mounted")
	}
	if err := l.keepDelegated(); err != nil {
		return nil, err
	}
	if l.Unified != "" {
		// Read again: the base may have moved up from a monitor's cgroup.
		if b, err := os.ReadFile(filepath.Join(l.Unified, "cgroup.controllers")); err == nil {
			l.UnifiedControllers = strings.Fields(string(b))
		}
	}
	return l, nil
}
