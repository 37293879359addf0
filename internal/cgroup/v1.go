package cgroup

import (
	"context"
	"fmt"
	"path/filepath"
)

// v1Dir is a group's directory in one cgroup v1 hierarchy.
type v1Dir struct {
	path        string
	controllers []string
}

func (d *v1Dir) has(c string) bool {
	for _, x := range d.controllers {
		if x == c {
			return true
		}
	}
	return false
}

// v1With returns the group's directory in the v1 hierarchy that has
// controller c, or nil.
func (g *Group) v1With(c string) *v1Dir {
	for i := range g.v1 {
		if g.v1[i].has(c) {
			return &g.v1[i]
		}
	}
	return nil
}

// initCpuset fills a new v1 cpuset cgroup's cpus and mems from its parent:
// they start empty (unless the parent has cgroup.clone_children) and
// moving a task into a cpuset with no CPUs or nodes fails with ENOSPC
// (cpusets(7)).
func initCpuset(dir string) error {
	for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
		p := filepath.Join(dir, f)
		v, err := readFile(p)
		if err != nil {
			return err
		}
		if v != "" {
			continue
		}
		pv, err := readFile(filepath.Join(filepath.Dir(dir), f))
		if err != nil {
			return err
		}
		if err := writeFile(p, pv); err != nil {
			return err
		}
	}
	return nil
}

// v1 freezer.state values (Documentation/admin-guide/cgroup-v1/freezer-subsystem.rst).
const (
	v1Frozen = "FROZEN"
	v1Thawed = "THAWED"
)

// freezeV1 writes FROZEN to the v1 freezer and waits until the state reads
// FROZEN rather than FREEZING. The freezer gives no notification, so it
// polls.
func freezeV1(ctx context.Context, dir string) error {
	p := filepath.Join(dir, "freezer.state")
	if err := writeFile(p, v1Frozen); err != nil {
		return err
	}
	err := waitUntil(ctx, "", func() (bool, error) {
		s, err := readFile(p)
		return s == v1Frozen, err
	})
	if err != nil {
		_ = writeFile(p, v1Thawed) // do not leave it half frozen
		return fmt.Errorf("freeze %s: %w", dir, err)
	}
	return nil
}

func thawV1(dir string) error {
	return writeFile(filepath.Join(dir, "freezer.state"), v1Thawed)
}

func frozenV1(dir string) (bool, error) {
	s, err := readFile(filepath.Join(dir, "freezer.state"))
	return s == v1Frozen, err
}
