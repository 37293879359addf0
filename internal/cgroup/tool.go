package cgroup

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// FilePath resolves a lxc-cgroup key to the group's file: a v1 name
// ("memory.limit_in_bytes") goes to the v1 hierarchy of the controller it
// starts with, as LXC picks it; a name no v1 hierarchy has a controller
// for goes to the cgroup2 directory when the file is there
// ("cgroup.freeze", "memory.max" on a unified host). LXC looks on cgroup2
// only for controllers enabled there, so its lxc-cgroup cannot reach the
// core files of a hybrid host; golxc can.
func (g *Group) FilePath(key string) (string, error) {
	if g.err != nil {
		return "", g.err
	}
	if key == "" || strings.Contains(key, "/") || strings.Contains(key, "..") || strings.ContainsRune(key, 0) || strings.HasPrefix(key, ".") {
		return "", fmt.Errorf("invalid cgroup key %q", key)
	}
	ctrl, _, _ := strings.Cut(key, ".")
	if d := g.v1With(ctrl); d != nil {
		return filepath.Join(d.path, key), nil
	}
	if g.v2 != nil {
		p := filepath.Join(g.v2.path, key)
		st, err := os.Lstat(p)
		if err == nil && st.Mode().IsRegular() {
			return p, nil
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("cgroup key %q: %w", key, err)
		}
	}
	return "", fmt.Errorf("no cgroup file %q for this container (no v1 hierarchy has controller %q, and cgroup2 has no such file here)", key, ctrl)
}

// ReadKey reads the group's file key (see FilePath), untrimmed but for
// its last newline: a multi-line file (cgroup.procs, memory.stat) is
// printed as it is.
func (g *Group) ReadKey(key string) (string, error) {
	p, err := g.FilePath(key)
	if err != nil {
		return "", err
	}
	b, err := os.ReadFile(p)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return "", fmt.Errorf("read %s: %w", p, err)
	}
	return strings.TrimSuffix(string(b), "\n"), nil
}

// WriteKey writes value to the group's file key (see FilePath) in one
// write; the error carries the kernel's reason (EINVAL for a bad value).
func (g *Group) WriteKey(key, value string) error {
	p, err := g.FilePath(key)
	if err != nil {
		return err
	}
	return writeFile(p, value)
}
