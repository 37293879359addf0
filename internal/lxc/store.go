package lxc

import (
	"errors"
	"fmt"
	"github.com/golxc/golxc/internal/sysfile"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/golxc/golxc/internal/rundir"
)

// DefaultLXCPath is where containers live unless -P says otherwise.
const DefaultLXCPath = "/var/lib/lxc"

// lockRoot holds the per-container lock files: /run/golxc/lock for root,
// under the user's runtime directory for another user (package rundir).
// Both are tmpfs, so a reboot clears them.
func lockRoot() string { return rundir.Sub("lock") }

// Container is one container of a store.
type Container struct {
	Name string
	// LXCPath is the lxcpath with its symlinks resolved: the store's
	// identity. The lock, the command socket, the monitor's title and the
	// sweeps key on it, so -P /alias (a symlink to /real) and -P /real are
	// one store.
	LXCPath string
	// typed is the lxcpath as given, made absolute: LXC's own tools name
	// a container's command socket after the path as typed (see lxcrun.go).
	typed string
	// lxcScan, when set, is shared by the containers of one listing.
	lxcScan *LXCScan
	// hostFacts, when set, is shared by the starts of one run of a tool.
	hostFacts *HostFacts
	// warnedUnadopted: Recover said once that this tool may not adopt
	// the container (a later look at it in the same call says no more).
	warnedUnadopted bool
}

// New returns the container name under lxcpath after checking the name.
func New(lxcpath, name string) (*Container, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	if lxcpath == "" {
		lxcpath = DefaultLXCPath
	}
	abs, err := filepath.Abs(lxcpath)
	if err != nil {
		return nil, fmt.Errorf("lxcpath %s: %w", lxcpath, err)
	}
	resolved, err := ResolveLXCPath(abs)
	if err != nil {
		return nil, err
	}
	return &Container{Name: name, LXCPath: resolved, typed: abs}, nil
}

// ResolveLXCPath follows the symlinks of an absolute lxcpath. One that does
// not exist yet (lxc-create makes it) resolves through its deepest existing
// ancestor: creating it through the path as typed makes exactly the
// directory this names, so the key does not change when it appears. A
// dangling symlink stays as typed; nothing can be created through it
// (mkdir does not follow one), so no container lives under that key.
func ResolveLXCPath(abs string) (string, error) {
	var rest []string
	for p := abs; ; {
		r, err := filepath.EvalSymlinks(p)
		if err == nil {
			return filepath.Join(append([]string{r}, rest...)...), nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("resolve lxcpath %s: %w", abs, err)
		}
		if _, lerr := os.Lstat(p); lerr == nil {
			return abs, nil // p is a dangling symlink, or leads through one
		}
		parent := filepath.Dir(p)
		if parent == p {
			return abs, nil
		}
		rest = append([]string{filepath.Base(p)}, rest...)
		p = parent
	}
}

// Dir is the container's directory.
func (c *Container) Dir() string { return filepath.Join(c.LXCPath, c.Name) }

// ConfigPath is the container's config file.
func (c *Container) ConfigPath() string { return filepath.Join(c.Dir(), "config") }

// Defined reports whether the container exists (has a config), as LXC
// defines it.
func (c *Container) Defined() bool {
	st, err := os.Stat(c.ConfigPath())
	return err == nil && st.Mode().IsRegular()
}

// ErrNotDefined is returned for a container that has no config.
type ErrNotDefined struct{ Name string }

func (e *ErrNotDefined) Error() string { return e.Name + " doesn't exist" }

func (c *Container) mustBeDefined() error {
	if !c.Defined() {
		return &ErrNotDefined{Name: c.Name}
	}
	return nil
}

// List returns the names of the containers defined under lxcpath, sorted.
func List(lxcpath string) ([]string, error) {
	if lxcpath == "" {
		lxcpath = DefaultLXCPath
	}
	entries, err := os.ReadDir(lxcpath)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("list %s: %w", lxcpath, err)
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() || ValidateName(e.Name()) != nil {
			continue
		}
		if st, err := os.Stat(filepath.Join(lxcpath, e.Name(), "config")); err == nil && st.Mode().IsRegular() {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}

// Lock is a held container lock (flock(2) on a file under /run). The
// monitor inherits the start lock and holds it while the container runs,
// so the kernel releases it when the monitor dies, however it dies.
type Lock struct {
	f *os.File
	// reserved are the names of LXC's command socket for this container,
	// bound by the start that took the lock and held with it for the
	// container's life (see reserveLXCNames).
	reserved []*os.File
}

// lockPath is LOCKROOT/LXCPATH/.NAME, as LXC names its locks: the dot
// (which no container name starts with) keeps a container's lock file
// apart from the lock directory of an lxcpath inside its directory
// (lxc-snapshot's LXCPATH/NAME/snaps).
func (c *Container) lockPath() string {
	return filepath.Join(lockRoot(), strings.TrimPrefix(c.LXCPath, "/"), "."+c.Name)
}

// ErrLocked says another golxc process holds the container's lock.
var ErrLocked = errors.New("container is locked")

// TryLock takes the container's lock without waiting.
func (c *Container) TryLock() (*Lock, error) {
	return c.lock(unix.LOCK_EX | unix.LOCK_NB)
}

// WaitLock takes the container's lock, waiting for it.
func (c *Container) WaitLock() (*Lock, error) {
	return c.lock(unix.LOCK_EX)
}

func (c *Container) lock(how int) (*Lock, error) {
	if _, err := rundir.Prepare("lock"); err != nil {
		return nil, err
	}
	p := c.lockPath()
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return nil, fmt.Errorf("make lock dir: %w", err)
	}
	for tries := 0; ; tries++ {
		f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW, 0o600)
		if errors.Is(err, os.ErrNotExist) && tries < 100 {
			// Another process removed the emptied directory under us.
			if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
				return nil, fmt.Errorf("make lock dir: %w", err)
			}
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("open lock %s: %w", p, err)
		}
		if err = sysfile.Flock(int(f.Fd()), how); err != nil {
			f.Close()
			if err == unix.EWOULDBLOCK {
				return nil, ErrLocked
			}
			return nil, fmt.Errorf("lock %s: %w", p, err)
		}
		// A destroy may have unlinked the file between our open and our
		// flock: a lock on an unlinked file guards nothing.
		var a, b unix.Stat_t
		if unix.Fstat(int(f.Fd()), &a) == nil && unix.Stat(p, &b) == nil && a.Ino == b.Ino && a.Dev == b.Dev {
			return &Lock{f: f}, nil
		}
		f.Close()
	}
}

// Release drops the lock.
func (l *Lock) Release() {
	if l == nil {
		return
	}
	for _, r := range l.reserved {
		r.Close()
	}
	l.reserved = nil
	if l.f != nil {
		l.f.Close()
		l.f = nil
	}
}

// remove unlinks the lock file while holding it (destroy, failed create),
// and the directories above it that this leaves empty: /run must not fill
// up with the locks of lxcpaths long gone.
func (l *Lock) remove() {
	if l == nil || l.f == nil {
		return
	}
	os.Remove(l.f.Name())
	for dir := filepath.Dir(l.f.Name()); strings.HasPrefix(dir, lockRoot()+"/"); dir = filepath.Dir(dir) {
		if os.Remove(dir) != nil {
			break
		}
	}
}

// File is the lock's open file, to hand to a monitor.
func (l *Lock) File() *os.File { return l.f }
