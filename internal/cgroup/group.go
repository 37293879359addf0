package cgroup

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Group is one named cgroup in every hierarchy of a Layout.
type Group struct {
	name string
	err  error // set by Layout.Group for a name that is not one path component
	v1   []v1Dir
	v2   *v2Dir // nil when no cgroup2 hierarchy is mounted
	// lock is the name's lock, held from CreateGroup to Destroy; nil for
	// a group only looked up with Layout.Group.
	lock *nameLock
	// layout is where the group was looked up: its lock directory holds
	// the marks of the intermediate directories golxc made.
	layout *Layout
}

// MaxSuffix is how far CreateGroup counts when a name is in use, as LXC
// does (lxc.container.conf(5), lxc.cgroup.dir).
const MaxSuffix = 99

// destroyWait bounds how long Destroy waits for a dying process to leave
// its cgroups: a task leaves at exit, after the signal is delivered.
const destroyWait = time.Second

// Group returns the cgroup named dirName (e.g. "lxc.payload.c1", or a path
// below the base such as "my-cgroup/first/lxc.payload.c1" for
// lxc.cgroup.dir) in every hierarchy of l. It does not touch the
// filesystem.
func (l *Layout) Group(dirName string) *Group {
	g := &Group{name: dirName, layout: l}
	if err := checkDirName(dirName); err != nil {
		g.err = err
		return g
	}
	for _, h := range l.V1 {
		g.v1 = append(g.v1, v1Dir{path: filepath.Join(h.Base, dirName), controllers: h.Controllers})
	}
	if l.Unified != "" {
		g.v2 = &v2Dir{path: filepath.Join(l.Unified, dirName)}
	}
	return g
}

// checkDirName accepts a relative path of plain components: no empty,
// "." or ".." one, so that the path cannot leave the hierarchy's base.
// Symbolic links cannot be met below the base: cgroupfs (kernfs) refuses
// to create them.
func checkDirName(n string) error {
	if n == "" || strings.ContainsRune(n, 0) {
		return fmt.Errorf("invalid cgroup name %q", n)
	}
	for _, seg := range strings.Split(n, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("invalid cgroup name %q", n)
		}
	}
	return nil
}

// CreateGroup makes the cgroup prefix+name in every hierarchy and returns
// it holding the name's lock (see nameLock) until Destroy. A name whose
// lock another group holds is in use; so is one whose stale directory
// cannot be removed (populated, or not ours): then it tries
// prefix+name+"-1" up to "-99", as LXC does. A stale empty directory left
// by a crashed run is replaced. On failure nothing this call made is left
// behind.
//
// The race the lock closes: cgroup names do not include the lxcpath, so
// container c1 of lxcpath A and c1 of lxcpath B both want
// lxc.payload.c1. Between A's mkdir and the moment A's init enters it, the
// directory is empty and looks stale; a B that took EEXIST as "stale",
// removed and recreated it would share A's cgroup without either knowing
// (A's teardown then kills B). Only the holder of the name's lock may take
// an existing directory for stale.
func (l *Layout) CreateGroup(prefix, name string) (*Group, error) {
	return l.createGroup(prefix+name, MaxSuffix)
}

// CreateGroupAt makes the cgroup at exactly path (below the base) as
// CreateGroup does, but with no suffix: lxc.cgroup.dir.container and
// lxc.cgroup.dir.monitor name the path itself, so one in use is an error.
func (l *Layout) CreateGroupAt(path string) (*Group, error) {
	return l.createGroup(path, 0)
}

func (l *Layout) createGroup(base string, maxSuffix int) (*Group, error) {
	if err := checkDirName(base); err != nil {
		return nil, err
	}
	if l.Unified == "" && len(l.V1) == 0 {
		return nil, fmt.Errorf("create cgroup %s: no cgroup hierarchy is mounted", base)
	}
	for i := 0; i <= maxSuffix; i++ {
		dn := base
		if i > 0 {
			dn = base + "-" + strconv.Itoa(i)
		}
		lock, err := l.tryLockName(dn)
		if err != nil {
			return nil, fmt.Errorf("create cgroup %s: %w", dn, err)
		}
		if lock == nil {
			continue // a live group of another container, or one being made
		}
		g := l.Group(dn)
		inUse, err := g.create()
		if err != nil || inUse {
			lock.release()
			if err != nil {
				return nil, err
			}
			continue
		}
		g.lock = lock
		return g, nil
	}
	if maxSuffix == 0 {
		return nil, fmt.Errorf("create cgroup %s: in use", base)
	}
	return nil, fmt.Errorf("create cgroup %s: name and suffixes -1 to -%d in use", base, maxSuffix)
}

// create makes g's directories; the caller holds g's name lock, so an
// existing directory is stale and may be replaced. inUse reports one that
// cannot be removed; then, as on error, what was made is removed again.
func (g *Group) create() (inUse bool, err error) {
	if strings.Contains(g.name, "/") {
		unlock, err := g.layout.lockParents()
		if err != nil {
			return false, err
		}
		defer unlock()
	}
	var made []string
	undo := func(cause error) error {
		for i := len(made) - 1; i >= 0; i-- {
			if e := unix.Rmdir(made[i]); e != nil && e != unix.ENOENT {
				cause = errors.Join(cause, fmt.Errorf("rmdir %s: %w", made[i], e))
			}
		}
		return cause
	}
	mkParents := func(p string, cpuset bool) error {
		for _, dir := range parentsOf(p, g.name) {
			err := unix.Mkdir(dir, 0o755)
			if err == unix.EEXIST {
				continue
			}
			if err != nil {
				return fmt.Errorf("mkdir %s: %w", dir, err)
			}
			if err := g.layout.markMade(dir); err != nil {
				_ = unix.Rmdir(dir)
				return err
			}
			if cpuset {
				if err := initCpuset(dir); err != nil {
					return err
				}
			}
		}
		return nil
	}
	undoAll := func(cause error) error {
		cause = undo(cause)
		g.removeParents()
		return cause
	}
	mk := func(p string) (bool, error) {
		err := unix.Mkdir(p, 0o755)
		if err == unix.EEXIST {
			if unix.Rmdir(p) != nil {
				return true, nil // populated, has children, or not ours to take
			}
			err = unix.Mkdir(p, 0o755)
		}
		if err != nil {
			return false, fmt.Errorf("mkdir %s: %w", p, err)
		}
		made = append(made, p)
		return false, nil
	}
	// mkPath makes the parents then the group's directory. The last
	// group to leave a parent golxc made removes it (removeParents): one
	// that vanishes between the two steps is made again.
	mkPath := func(p string, cpuset bool) (busy bool, err error) {
		for range 10 {
			if err = mkParents(p, cpuset); err == nil {
				busy, err = mk(p)
			}
			if !errors.Is(err, unix.ENOENT) {
				break
			}
		}
		return busy, err
	}
	for i := range g.v1 {
		d := &g.v1[i]
		busy, err := mkPath(d.path, d.has("cpuset"))
		if err != nil || busy {
			return busy, undoAll(err)
		}
		if d.has("cpuset") {
			if err := initCpuset(d.path); err != nil {
				return false, undoAll(err)
			}
		}
	}
	if g.v2 != nil {
		busy, err := mkPath(g.v2.path, false)
		if err != nil || busy {
			return busy, undoAll(err)
		}
	}
	return false, nil
}

// parentsOf lists the intermediate directories of path p, whose last
// len(name) bytes are the group's name below the base: for name a/b/c,
// base/a and base/a/b, outermost first.
func parentsOf(p, name string) []string {
	n := strings.Count(name, "/")
	out := make([]string, n)
	dir := filepath.Dir(p)
	for i := n - 1; i >= 0; i-- {
		out[i] = dir
		dir = filepath.Dir(dir)
	}
	return out
}

// removeParents removes the intermediate directories of g's path that a
// CreateGroup made (marked in the lock directory), deepest first, whoever
// made them: the last group to leave a shared parent takes it. One that is
// not empty (another container's group is in it) stays: rmdir(2) of a
// cgroup with children fails. A directory golxc did not make has no mark
// and is never removed.
func (g *Group) removeParents() {
	for _, p := range g.dirs() {
		ps := parentsOf(p, g.name)
		for i := len(ps) - 1; i >= 0; i-- {
			if !g.layout.madeByUs(ps[i]) {
				break // its parents were there before it, or are not ours
			}
			if unix.Rmdir(ps[i]) != nil {
				break // in use: so are its parents
			}
			g.layout.unmarkMade(ps[i])
		}
	}
}

// RemoveStale removes the group dirName if it is stale: it exists, no
// CreateGroup holds its name, and no process is in it (lxc-destroy clears
// what a killed monitor left). Anything else is left alone.
func (l *Layout) RemoveStale(dirName string) error {
	g := l.Group(dirName)
	if g.err != nil {
		return g.err
	}
	if !g.exists() {
		return nil
	}
	lock, err := l.tryLockName(dirName)
	if err != nil || lock == nil {
		return err
	}
	defer lock.release()
	if busy, err := g.hasProcs(); err != nil || busy {
		return err
	}
	return g.Destroy()
}

// exists reports whether any of g's directories exists.
func (g *Group) exists() bool {
	for _, p := range g.dirs() {
		if _, err := os.Lstat(p); err == nil {
			return true
		}
	}
	return false
}

// hasProcs reports whether a process is in any of g's existing directories.
func (g *Group) hasProcs() (bool, error) {
	for _, p := range g.dirs() {
		s, err := readFile(filepath.Join(p, "cgroup.procs"))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return false, err
		}
		if s != "" {
			return true, nil
		}
	}
	return false, nil
}

// dirs lists g's directory in each hierarchy.
func (g *Group) dirs() []string {
	var ps []string
	for _, d := range g.v1 {
		ps = append(ps, d.path)
	}
	if g.v2 != nil {
		ps = append(ps, g.v2.path)
	}
	return ps
}

// Dirs are the group's directories, one per hierarchy.
func (g *Group) Dirs() []string { return g.dirs() }

// Name is the directory name actually used, suffix included.
func (g *Group) Name() string { return g.name }

// Paths maps each controller to the group's directory in its hierarchy
// ("name=systemd" for a named hierarchy, "unified" for cgroup2).
func (g *Group) Paths() map[string]string {
	m := make(map[string]string, len(g.v1)+1)
	for _, d := range g.v1 {
		for _, c := range d.controllers {
			m[c] = d.path
		}
	}
	if g.v2 != nil {
		m["unified"] = g.v2.path
	}
	return m
}

// Enter moves process pid (all its threads) into the group in every
// hierarchy.
func (g *Group) Enter(pid int) error {
	if g.err != nil {
		return g.err
	}
	s := strconv.Itoa(pid)
	for _, d := range g.v1 {
		if err := writeFile(filepath.Join(d.path, "cgroup.procs"), s); err != nil {
			return fmt.Errorf("move pid %d: %w", pid, err)
		}
	}
	if g.v2 != nil {
		if err := writeFile(filepath.Join(g.v2.path, "cgroup.procs"), s); err != nil {
			return fmt.Errorf("move pid %d: %w", pid, err)
		}
	}
	return nil
}

// EnterThread moves only thread tid into the group's v1 hierarchies, through
// their tasks files; a child it forks later is born there. The cgroup2
// part is done at clone time with OpenUnified (CLONE_INTO_CGROUP).
func (g *Group) EnterThread(tid int) error {
	if g.err != nil {
		return g.err
	}
	s := strconv.Itoa(tid)
	for _, d := range g.v1 {
		if err := writeFile(filepath.Join(d.path, "tasks"), s); err != nil {
			return fmt.Errorf("move thread %d: %w", tid, err)
		}
	}
	return nil
}

// OpenUnified opens the group's cgroup2 directory for
// SysProcAttr.UseCgroupFD. The caller closes it.
func (g *Group) OpenUnified() (*os.File, error) {
	if g.err != nil {
		return nil, g.err
	}
	if g.v2 == nil {
		return nil, fmt.Errorf("open cgroup %s: no cgroup2 hierarchy is mounted", g.name)
	}
	fd, err := unix.Open(g.v2.path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", g.v2.path, err)
	}
	f := os.NewFile(uintptr(fd), g.v2.path)
	return f, nil
}

// configKey is the LXC configuration key that sets a cgroup file.
func configKey(version int, key string) string {
	switch version {
	case 1:
		return "lxc.cgroup." + key
	case 2:
		return "lxc.cgroup2." + key
	}
	return key
}

// keyPath resolves a controller file name such as "memory.limit_in_bytes"
// (version 1) or "memory.max" (version 2) to its file in the group.
func (g *Group) keyPath(version int, key string) (string, error) {
	if g.err != nil {
		return "", g.err
	}
	if key == "" || strings.Contains(key, "/") || strings.Contains(key, "..") || strings.ContainsRune(key, 0) {
		return "", fmt.Errorf("invalid cgroup key %q", key)
	}
	switch version {
	case 1:
		ctrl, _, _ := strings.Cut(key, ".")
		for _, d := range g.v1 {
			if d.has(ctrl) {
				return filepath.Join(d.path, key), nil
			}
		}
		return "", fmt.Errorf("no cgroup v1 hierarchy has controller %q for %q", ctrl, key)
	case 2:
		if g.v2 == nil {
			return "", fmt.Errorf("no cgroup2 hierarchy is mounted for %q", key)
		}
		return filepath.Join(g.v2.path, key), nil
	}
	return "", fmt.Errorf("unknown cgroup version %d", version)
}

// Set writes value to the group's file key: for version 1 in the v1
// hierarchy of the controller the key starts with, for version 2 in the
// cgroup2 directory.
func (g *Group) Set(version int, key, value string) error {
	p, err := g.keyPath(version, key)
	if err == nil {
		err = writeFile(p, value)
	}
	if err != nil {
		return fmt.Errorf("set %s: %w", configKey(version, key), err)
	}
	return nil
}

// Get reads the group's file key (see Set), trimmed.
func (g *Group) Get(version int, key string) (string, error) {
	p, err := g.keyPath(version, key)
	if err != nil {
		return "", fmt.Errorf("get %s: %w", configKey(version, key), err)
	}
	v, err := readFile(p)
	if err != nil {
		return "", fmt.Errorf("get %s: %w", configKey(version, key), err)
	}
	return v, nil
}

// procsFile is the cgroup.procs the group's membership is read from:
// cgroup2's when mounted, else the pids hierarchy's, else the first.
func (g *Group) procsFile() (string, error) {
	if g.err != nil {
		return "", g.err
	}
	if g.v2 != nil {
		return filepath.Join(g.v2.path, "cgroup.procs"), nil
	}
	if len(g.v1) == 0 {
		return "", fmt.Errorf("cgroup %s: no hierarchy", g.name)
	}
	for _, d := range g.v1 {
		if d.has("pids") {
			return filepath.Join(d.path, "cgroup.procs"), nil
		}
	}
	return filepath.Join(g.v1[0].path, "cgroup.procs"), nil
}

// Procs lists the processes in the group.
func (g *Group) Procs() ([]int, error) {
	p, err := g.procsFile()
	if err != nil {
		return nil, err
	}
	s, err := readFile(p)
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, f := range strings.Fields(s) {
		n, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("read %s: bad pid %q", p, f)
		}
		pids = append(pids, n)
	}
	return pids, nil
}

// Populated reports whether any process is in the group: cgroup2's
// cgroup.events "populated" (which counts descendants too), else a
// non-empty cgroup.procs.
func (g *Group) Populated() (bool, error) {
	if g.err != nil {
		return false, g.err
	}
	if g.v2 != nil {
		ev, err := g.v2.events()
		if err != nil {
			return false, err
		}
		return ev["populated"] == "1", nil
	}
	pids, err := g.Procs()
	return len(pids) > 0, err
}

// Destroy removes the group's directories. A directory already gone is
// fine; one still busy (a killed process leaves its cgroups only when it
// has finished exiting) is retried for up to about a second. Then the
// name's lock, if held, is released, whatever the outcome: a directory
// left behind is stale, and the name's next holder deals with it.
func (g *Group) Destroy() error {
	if g.err != nil {
		return g.err
	}
	defer func() {
		g.lock.release()
		g.lock = nil
	}()
	deadline := time.Now().Add(destroyWait)
	var errs []error
	var rm func(p string)
	rm = func(p string) {
		delay := time.Millisecond
		children := false
		for {
			err := unix.Rmdir(p)
			if err == nil || err == unix.ENOENT {
				return
			}
			if err == unix.EBUSY && !children {
				// A container's root may have made child cgroups of its
				// own (a delegated group, or cgroup:rw): they go first,
				// deepest first. Looked for only when the rmdir fails:
				// listing a v1 directory costs more than the rmdir.
				children = true
				if ents, err := os.ReadDir(p); err == nil {
					for _, e := range ents {
						if e.IsDir() {
							rm(filepath.Join(p, e.Name()))
						}
					}
				}
				continue
			}
			if err != unix.EBUSY || time.Now().After(deadline) {
				errs = append(errs, fmt.Errorf("remove cgroup %s: %w", p, err))
				return
			}
			time.Sleep(delay)
			delay = min(2*delay, 50*time.Millisecond)
		}
	}
	if g.v2 != nil {
		rm(g.v2.path)
	}
	for _, d := range g.v1 {
		rm(d.path)
	}
	if len(errs) == 0 && g.layout != nil && strings.Contains(g.name, "/") {
		if unlock, err := g.layout.lockParents(); err == nil {
			g.removeParents()
			unlock()
		}
	}
	if len(errs) == 0 && g.lock == nil && g.layout != nil {
		// A group looked up, not created here (golxc-runc delete, after
		// the create that held the name has exited): the name is free
		// now, and its lock file would otherwise stay for good.
		g.layout.dropNameLock(g.name)
	}
	return errors.Join(errs...)
}

// EnterBase moves process pid back to the base of every hierarchy (where
// the host's PID 1 is): a monitor does it before removing its own cgroup,
// which it cannot remove while inside.
func (l *Layout) EnterBase(pid int) error {
	s := strconv.Itoa(pid)
	for _, h := range l.V1 {
		if err := writeFile(filepath.Join(h.Base, "cgroup.procs"), s); err != nil {
			return fmt.Errorf("move pid %d: %w", pid, err)
		}
	}
	if l.Unified != "" {
		if err := writeFile(filepath.Join(l.Unified, "cgroup.procs"), s); err != nil {
			return fmt.Errorf("move pid %d: %w", pid, err)
		}
	}
	return nil
}

// delegatedFiles are the files of a cgroup directory that whoever manages
// the cgroup from inside writes to (cgroup(7), "Delegation"): with the
// directory itself, they go to the container's root.
var delegatedFiles = []string{"cgroup.procs", "tasks", "cgroup.subtree_control", "cgroup.threads", "cgroup.clone_children", "notify_on_release"}

// Chown gives the group's directories, and the files a manager of the
// group writes, to uid and gid: the host ids of a user namespace's root,
// who may then make, fill and remove child cgroups, as systemd does.
// The limits the group was given stay root's.
func (g *Group) Chown(uid, gid int) error {
	paths, err := g.DelegatedPaths()
	if err != nil {
		return err
	}
	for _, p := range paths {
		if err := os.Lchown(p, uid, gid); err != nil {
			return fmt.Errorf("chown cgroup %s: %w", p, err)
		}
	}
	return nil
}

// DelegatedPaths are what Chown gives away: the group's directories and
// the files a manager of the group writes, those the kernel has.
func (g *Group) DelegatedPaths() ([]string, error) {
	if g.err != nil {
		return nil, g.err
	}
	var paths []string
	for _, dir := range g.dirs() {
		paths = append(paths, dir)
		for _, f := range delegatedFiles {
			p := filepath.Join(dir, f)
			if _, err := os.Lstat(p); err == nil {
				paths = append(paths, p)
			} else if !errors.Is(err, os.ErrNotExist) {
				return nil, err
			}
		}
	}
	return paths, nil
}

// ShareWithGroup adds group write to the DelegatedPaths, before a user
// other than root gives their group to its container's root: the owner,
// the user, keeps them (lxc-attach moves processes in, the stop removes
// the group) and the container's root writes them through the group.
func (g *Group) ShareWithGroup() error {
	paths, err := g.DelegatedPaths()
	if err != nil {
		return err
	}
	for _, p := range paths {
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return fmt.Errorf("stat %s: %w", p, err)
		}
		if err := unix.Chmod(p, st.Mode&0o7777|0o020); err != nil {
			return fmt.Errorf("chmod g+w %s: %w", p, err)
		}
	}
	return nil
}

// CreateChild makes sub-cgroup name of g in every hierarchy
// (lxc.cgroup.dir.container.inner): the container's init sits there,
// below the limits set on g, which its cgroup namespace does not show.
// It goes with g: g's name lock covers it and g's Destroy removes it.
func (g *Group) CreateChild(name string) (*Group, error) {
	if g.err != nil {
		return nil, g.err
	}
	if err := checkDirName(name); err != nil {
		return nil, err
	}
	c := g.layout.Group(g.name + "/" + name)
	if c.err != nil {
		return nil, c.err
	}
	var made []string
	fail := func(err error) (*Group, error) {
		for i := len(made) - 1; i >= 0; i-- {
			_ = unix.Rmdir(made[i])
		}
		return nil, err
	}
	for _, d := range c.v1 {
		if err := unix.Mkdir(d.path, 0o755); err != nil {
			return fail(fmt.Errorf("mkdir %s: %w", d.path, err))
		}
		made = append(made, d.path)
		if d.has("cpuset") {
			if err := initCpuset(d.path); err != nil {
				return fail(err)
			}
		}
	}
	if c.v2 != nil {
		if err := unix.Mkdir(c.v2.path, 0o755); err != nil {
			return fail(fmt.Errorf("mkdir %s: %w", c.v2.path, err))
		}
	}
	return c, nil
}
