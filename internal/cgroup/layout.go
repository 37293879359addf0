// Package cgroup places a container's processes into cgroups on cgroup v1,
// v2 and hybrid hosts, applies limits, reads usage, freezes and kills.
//
// Like LXC run as root, a container's cgroups sit at the top of each
// hierarchy: under PID 1's cgroup, not the caller's, named
// lxc.payload.<name> for the container and lxc.monitor.<name> for its monitor.
package cgroup

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/golxc/golxc/internal/mountinfo"
)

// Layout is the host's cgroup mounts.
type Layout struct {
	V1                 []Hierarchy // each v1 hierarchy
	Unified            string      // base dir in the cgroup2 hierarchy ("" if none mounted)
	UnifiedControllers []string    // controllers available in the unified base's cgroup.controllers
	// LockDir holds CreateGroup's per-name locks; "" is DefaultLockDir.
	// Every process that creates groups in the same hierarchies must use
	// the same one.
	LockDir string
}

// Hierarchy is one mounted cgroup v1 hierarchy.
type Hierarchy struct {
	Mount       string   // mount point
	Base        string   // directory under which containers' cgroups are made
	Controllers []string // e.g. ["cpu","cpuacct"] or ["name=systemd"]
}

// HasController reports whether the hierarchy has controller c bound.
func (h *Hierarchy) HasController(c string) bool {
	for _, x := range h.Controllers {
		if x == c {
			return true
		}
	}
	return false
}

// Detect reads the host's cgroup layout from /proc/self/mountinfo and
// /proc/1/cgroup; for a user other than root, the hierarchies delegated
// to it, under its own cgroup (see keepDelegated).
func Detect() (*Layout, error) {
	mi, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("open /proc/self/mountinfo: %w", err)
	}
	defer mi.Close()
	if os.Geteuid() != 0 {
		return detectUser(mi)
	}
	cg, err := os.Open("/proc/1/cgroup")
	if err != nil {
		return nil, fmt.Errorf("open /proc/1/cgroup: %w", err)
	}
	defer cg.Close()
	l, err := ParseLayout(mi, cg, "")
	if err != nil {
		return nil, err
	}
	if l.Unified == "" && len(l.V1) == 0 {
		return nil, errors.New("no cgroup hierarchy is mounted")
	}
	return l, nil
}

// Clone is a copy of l sharing nothing with it.
func (l *Layout) Clone() *Layout {
	c := *l
	if l.V1 != nil {
		c.V1 = make([]Hierarchy, len(l.V1))
	}
	for i, h := range l.V1 {
		h.Controllers = slices.Clone(h.Controllers)
		c.V1[i] = h
	}
	c.UnifiedControllers = slices.Clone(l.UnifiedControllers)
	return &c
}

// Mode is "v1", "v2" (pure unified) or "hybrid"; "" when nothing is mounted.
func (l *Layout) Mode() string {
	switch {
	case len(l.V1) > 0 && l.Unified != "":
		return "hybrid"
	case len(l.V1) > 0:
		return "v1"
	case l.Unified != "":
		return "v2"
	}
	return ""
}

// V1For returns the v1 hierarchy that has controller c, or nil.
func (l *Layout) V1For(c string) *Hierarchy {
	for i := range l.V1 {
		if l.V1[i].HasController(c) {
			return &l.V1[i]
		}
	}
	return nil
}

// pid1Entry is one line of /proc/1/cgroup.
type pid1Entry struct {
	controllers []string // empty for the unified hierarchy
	path        string
}

// ParseLayout is the testable core of Detect: mi and pid1cgroup are
// the contents of /proc/self/mountinfo and /proc/1/cgroup; root prefixes
// every path (a fixture tree in tests, "" in production). It reads the
// unified base's cgroup.controllers when there is a cgroup2 mount.
func ParseLayout(mi, pid1cgroup io.Reader, root string) (*Layout, error) {
	entries, err := parsePid1(pid1cgroup)
	if err != nil {
		return nil, err
	}
	l := &Layout{}
	if root != "" {
		// A fixture tree gets locks of its own.
		l.LockDir = filepath.Join(root, "run/golxc/cgroup")
	}
	mounts, err := mountinfo.Parse(mi)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{} // by device: bind mounts of one hierarchy count once
	for _, m := range mounts {
		if m.FSType != "cgroup" && m.FSType != "cgroup2" {
			continue
		}
		if seen[m.Dev] {
			continue
		}
		if m.FSType == "cgroup2" {
			if l.Unified != "" {
				continue
			}
			seen[m.Dev] = true
			rel := "/"
			for _, e := range entries {
				if len(e.controllers) == 0 {
					rel = e.path
					break
				}
			}
			l.Unified = basePath(root+m.Point, m.Root, rel)
			continue
		}
		seen[m.Dev] = true
		ctrls, rel := v1Controllers(m.SuperOptions, entries)
		if len(ctrls) == 0 {
			continue
		}
		mount := root + m.Point
		l.V1 = append(l.V1, Hierarchy{
			Mount:       mount,
			Base:        basePath(mount, m.Root, rel),
			Controllers: ctrls,
		})
	}
	if l.Unified != "" {
		p := filepath.Join(l.Unified, "cgroup.controllers")
		b, err := os.ReadFile(p)
		switch {
		case err == nil:
			l.UnifiedControllers = strings.Fields(string(b))
		case errors.Is(err, fs.ErrNotExist):
			// A fixture tree may leave it out; the kernel always has it.
		default:
			return nil, fmt.Errorf("read %s: %w", p, err)
		}
	}
	return l, nil
}

func parsePid1(r io.Reader) ([]pid1Entry, error) {
	var out []pid1Entry
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		f := strings.SplitN(line, ":", 3)
		if len(f) != 3 {
			return nil, fmt.Errorf("parse /proc/1/cgroup: bad line %q", line)
		}
		var ctrls []string
		if f[1] != "" {
			ctrls = strings.Split(f[1], ",")
		}
		out = append(out, pid1Entry{controllers: ctrls, path: f[2]})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read /proc/1/cgroup: %w", err)
	}
	return out, nil
}

// v1Controllers names the controllers of a v1 mount by matching its super
// options against the controller lists of /proc/1/cgroup, which are exact;
// it also returns PID 1's path in that hierarchy.
func v1Controllers(superopts string, entries []pid1Entry) ([]string, string) {
	opts := map[string]bool{}
	for _, o := range strings.Split(superopts, ",") {
		opts[o] = true
	}
	for _, e := range entries {
		if len(e.controllers) == 0 {
			continue
		}
		all := true
		for _, c := range e.controllers {
			if !opts[c] {
				all = false
				break
			}
		}
		if all {
			return e.controllers, e.path
		}
	}
	// Not in /proc/1/cgroup (should not happen): keep the options that are
	// not generic mount flags.
	var ctrls []string
	for _, o := range strings.Split(superopts, ",") {
		switch {
		case o == "rw", o == "ro", o == "noprefix", o == "clone_children", o == "xattr",
			o == "cpuset_v2_mode", o == "favordynmods", o == "none", o == "",
			strings.HasPrefix(o, "release_agent="):
			continue
		}
		ctrls = append(ctrls, o)
	}
	return ctrls, "/"
}

// basePath joins mount with PID 1's cgroup path taken relative to the
// mount's root. A path outside the mount's root (seen through a cgroup
// namespace as "/.." or simply elsewhere) is clamped to the mount point.
// A trailing init.scope is dropped: systemd keeps PID 1 alone in that leaf
// (systemd.special(7)), so containers go next to it, not inside.
func basePath(mount, mountRoot, pid1Path string) string {
	if pid1Path == "" || !strings.HasPrefix(pid1Path, "/") {
		return mount
	}
	for _, seg := range strings.Split(pid1Path, "/") {
		if seg == ".." {
			return mount
		}
	}
	p := filepath.Clean(pid1Path)
	r := filepath.Clean("/" + mountRoot)
	var rel string
	switch {
	case r == "/":
		rel = p
	case p == r:
		rel = "/"
	case strings.HasPrefix(p, r+"/"):
		rel = p[len(r):]
	default:
		return mount
	}
	rel = strings.TrimSuffix(rel, "/init.scope")
	return filepath.Join(mount, rel)
}

// Use returns l restricted to the v1 hierarchies that have at least one of
// controllers (lxc.cgroup.use): the others, named ones such as
// name=systemd included, get no cgroup of the container. The unified
// hierarchy is always kept, as LXC keeps it. No controllers means all.
func (l *Layout) Use(controllers []string) *Layout {
	if len(controllers) == 0 {
		return l
	}
	r := *l
	r.V1 = nil
	for _, h := range l.V1 {
		for _, c := range controllers {
			if h.HasController(c) {
				r.V1 = append(r.V1, h)
				break
			}
		}
	}
	return &r
}
