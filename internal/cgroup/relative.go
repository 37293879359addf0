package cgroup

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// CallerDir is the caller's own cgroup as a path below the bases Detect
// gives (PID 1's), for lxc.cgroup.relative: the container's cgroups are
// then made below the caller's instead of next to PID 1's. "" is the base
// itself. golxc's tools find a group by one path below the base in every
// hierarchy, so a caller whose cgroups differ across hierarchies is
// refused rather than half placed.
func CallerDir() (string, error) {
	pid1, err := Detect()
	if err != nil {
		return "", err
	}
	mi, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return "", fmt.Errorf("open /proc/self/mountinfo: %w", err)
	}
	defer mi.Close()
	cg, err := os.Open("/proc/self/cgroup")
	if err != nil {
		return "", fmt.Errorf("open /proc/self/cgroup: %w", err)
	}
	defer cg.Close()
	self, err := ParseLayout(mi, cg, "")
	if err != nil {
		return "", err
	}
	return callerDir(pid1, self)
}

// callerDir is CallerDir's core: pid1 and self are the layouts made from
// PID 1's and the caller's /proc/PID/cgroup.
func callerDir(pid1, self *Layout) (string, error) {
	var rels []string
	var where []string
	add := func(what, base, own string) error {
		rel, err := filepath.Rel(base, own)
		if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
			return fmt.Errorf("lxc.cgroup.relative: the caller's %s cgroup %s is not below %s", what, own, base)
		}
		if rel == "." {
			rel = ""
		}
		rels = append(rels, rel)
		where = append(where, what+" "+own)
		return nil
	}
	if pid1.Unified != "" && self.Unified != "" {
		if err := add("cgroup2", pid1.Unified, self.Unified); err != nil {
			return "", err
		}
	}
	for _, h := range pid1.V1 {
		for _, s := range self.V1 {
			if s.Mount == h.Mount {
				if err := add(strings.Join(h.Controllers, ","), h.Base, s.Base); err != nil {
					return "", err
				}
			}
		}
	}
	for _, r := range rels[min(1, len(rels)):] {
		if r != rels[0] {
			return "", fmt.Errorf("lxc.cgroup.relative: the caller's cgroups differ across hierarchies (%s), and golxc places a container at one path in all", strings.Join(where, ", "))
		}
	}
	if len(rels) == 0 {
		return "", nil
	}
	return rels[0], nil
}
