package cgroup

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"github.com/golxc/golxc/internal/sysfile"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/golxc/golxc/internal/rundir"
)

// DefaultLockDir holds the per-name locks of CreateGroup when a Layout
// names no LockDir: /run/golxc/cgroup for root, under the user's runtime
// directory for another user, whose cgroups are its own delegated ones.
// Both are tmpfs: a reboot, which also empties every cgroup hierarchy,
// clears them.
func DefaultLockDir() string { return rundir.Sub("cgroup") }

// nameLock is an exclusive flock(2) on LockDir/<cgroup dir name>. Its
// holder is the one user of that cgroup name on the host: the same name in
// every hierarchy, whatever lxcpath the container lives in (the cgroup
// names do not include the lxcpath). The kernel drops the lock when the
// holder dies, however it dies, so a free lock on an existing directory
// means the directory is stale.
type nameLock struct{ f *os.File }

func (l *Layout) lockDir() string {
	if l.LockDir != "" {
		return l.LockDir
	}
	return DefaultLockDir()
}

// tryLockName takes the lock of cgroup name dirName without waiting. It
// returns nil and no error when someone else holds it.
func (l *Layout) tryLockName(dirName string) (*nameLock, error) {
	dir := l.lockDir()
	if l.LockDir == "" {
		if _, err := rundir.Prepare("cgroup"); err != nil {
			return nil, err
		}
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("make cgroup lock dir: %w", err)
	}
	p := filepath.Join(dir, lockFileName(dirName))
	for tries := 0; tries < 100; tries++ {
		fd, err := unix.Open(p, unix.O_RDWR|unix.O_CREAT|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0o600)
		if err != nil {
			return nil, fmt.Errorf("open cgroup lock %s: %w", p, err)
		}
		err = sysfile.Flock(fd, unix.LOCK_EX|unix.LOCK_NB)
		if err == unix.EWOULDBLOCK {
			unix.Close(fd)
			return nil, nil
		}
		if err != nil {
			unix.Close(fd)
			return nil, fmt.Errorf("lock %s: %w", p, err)
		}
		// A holder that released the name unlinked the file between our
		// open and our flock: a lock on an unlinked file guards nothing.
		if isFileAt(fd, p) {
			return &nameLock{f: os.NewFile(uintptr(fd), p)}, nil
		}
		unix.Close(fd)
	}
	return nil, fmt.Errorf("lock %s: the lock file keeps being replaced", p)
}

// release unlinks the lock file while still holding it (so /run does not
// fill with the names of containers long gone), then drops the lock.
func (n *nameLock) release() {
	if n == nil || n.f == nil {
		return
	}
	// A file that cannot be removed is reused by the name's next holder.
	_ = os.Remove(n.f.Name())
	n.f.Close()
	n.f = nil
}

// dropNameLock removes the lock file of cgroup name dirName when nobody
// holds it, as release does for its holder: taken first (never made: no
// file, nothing to do), unlinked while held. A holder means the name is
// in use again: its file stays.
func (l *Layout) dropNameLock(dirName string) {
	p := filepath.Join(l.lockDir(), lockFileName(dirName))
	fd, err := unix.Open(p, unix.O_RDWR|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return
	}
	defer unix.Close(fd)
	if sysfile.Flock(fd, unix.LOCK_EX|unix.LOCK_NB) != nil {
		return
	}
	// The file at the path is still the one locked (not one a new holder
	// made after another removal).
	if isFileAt(fd, p) {
		_ = unix.Unlink(p)
	}
}

// isFileAt reports whether fd is the file at path p.
func isFileAt(fd int, p string) bool {
	var a, b unix.Stat_t
	return unix.Fstat(fd, &a) == nil && unix.Stat(p, &b) == nil && a.Dev == b.Dev && a.Ino == b.Ino
}

// lockFileName turns a cgroup name, which may be a path below the base
// (lxc.cgroup.dir), into one file name, one to one: "%" becomes "%25" and
// "/" "%2F", so a/b and a%2Fb do not share a lock. A plain name without
// "%" keeps its own name. A name too long for one file name is hashed.
func lockFileName(dirName string) string {
	n := strings.ReplaceAll(dirName, "%", "%25")
	n = strings.ReplaceAll(n, "/", "%2F")
	if len(n) > 200 {
		sum := sha256.Sum256([]byte(dirName))
		return "%sha256-" + hex.EncodeToString(sum[:])
	}
	return n
}

// madePrefix starts the name of the mark of an intermediate cgroup
// directory golxc made (lxc.cgroup.dir): lockFileName's names never start
// with it, as their "%" is always followed by 25, 2F or "sha256-".
const madePrefix = "%made-"

// markMade records that golxc made cgroup directory dir, so that the last
// group to leave it, or lxc-destroy after a killed monitor, removes it,
// and never one golxc did not make. The lock directory is on tmpfs, as
// cgroups are: a reboot clears both.
func (l *Layout) markMade(dir string) error {
	if err := os.MkdirAll(l.lockDir(), 0o700); err != nil {
		return fmt.Errorf("make cgroup lock dir: %w", err)
	}
	p := filepath.Join(l.lockDir(), madePrefix+lockFileName(strings.TrimPrefix(dir, "/")))
	fd, err := unix.Open(p, unix.O_WRONLY|unix.O_CREAT|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return fmt.Errorf("mark cgroup %s as golxc's: %w", dir, err)
	}
	unix.Close(fd)
	return nil
}

func (l *Layout) madeByUs(dir string) bool {
	var st unix.Stat_t
	return unix.Lstat(filepath.Join(l.lockDir(), madePrefix+lockFileName(strings.TrimPrefix(dir, "/"))), &st) == nil
}

func (l *Layout) unmarkMade(dir string) {
	_ = os.Remove(filepath.Join(l.lockDir(), madePrefix+lockFileName(strings.TrimPrefix(dir, "/"))))
}

// lockParents serializes making and removing intermediate directories
// and their marks (a rmdir and its unmark must not interleave with a
// mkdir and its mark of the same directory, or a directory golxc made
// would lose its mark and stay forever). It waits; the returned func
// releases the lock. Only groups below intermediate directories take it.
func (l *Layout) lockParents() (func(), error) {
	if err := os.MkdirAll(l.lockDir(), 0o700); err != nil {
		return nil, fmt.Errorf("make cgroup lock dir: %w", err)
	}
	p := filepath.Join(l.lockDir(), "%parents")
	fd, err := unix.Open(p, unix.O_RDWR|unix.O_CREAT|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open cgroup lock %s: %w", p, err)
	}
	if err := sysfile.Flock(fd, unix.LOCK_EX); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("lock %s: %w", p, err)
	}
	return func() { unix.Close(fd) }, nil
}
