package cgroup

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
)

// AdoptGroup takes over the existing cgroup dirName (a container whose
// monitor was killed, re-adopted by a new one): it takes the name's lock,
// which the dead monitor's death freed, so that no CreateGroup takes the
// directory for stale meanwhile. A name whose lock is held, or that does
// not exist, is refused.
func (l *Layout) AdoptGroup(dirName string) (*Group, error) {
	g := l.Group(dirName)
	if g.err != nil {
		return nil, g.err
	}
	lock, err := l.tryLockName(dirName)
	if err != nil {
		return nil, fmt.Errorf("adopt cgroup %s: %w", dirName, err)
	}
	if lock == nil {
		return nil, fmt.Errorf("adopt cgroup %s: in use by another golxc process", dirName)
	}
	if !g.exists() {
		lock.release()
		return nil, fmt.Errorf("adopt cgroup %s: it does not exist", dirName)
	}
	g.lock = lock
	return g, nil
}

// Contains says whether process pid is in g or in a cgroup below it (a
// container's init that moved itself into a sub-cgroup, as systemd does),
// as the hierarchy the group's membership is read from says.
func (g *Group) Contains(pid int) (bool, error) {
	p, err := g.procsFile()
	if err != nil {
		return false, err
	}
	want := strconv.Itoa(pid)
	found := false
	err = filepath.WalkDir(filepath.Dir(p), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // a sub-cgroup removed meanwhile
			}
			return err
		}
		if found || !d.IsDir() {
			return nil
		}
		s, err := readFile(filepath.Join(path, "cgroup.procs"))
		if err != nil {
			return nil
		}
		for _, f := range strings.Fields(s) {
			if f == want {
				found = true
				return filepath.SkipAll
			}
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("look for pid %d in cgroup %s: %w", pid, g.name, err)
	}
	return found, nil
}
