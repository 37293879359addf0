package lxc

import (
	"errors"
	"fmt"
	"github.com/golxc/golxc/internal/sysfile"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// workDir is a hidden directory of the lxcpath that a create builds a
// container in or a destroy empties one from. Its worker holds an flock(2)
// on the directory itself for as long as it works on it, and the kernel
// drops that lock when the worker dies, however it dies. So a sweep tells a
// leftover (lock free) from work in progress (lock held) by the directory
// itself, whatever lxcpath spelling, symlink or bind mount it came by and
// whichever container lock it holds: the container lock, keyed on a path,
// cannot prove that by itself.
type workDir struct {
	path string
	f    *os.File
}

// makeWorkDir makes and locks a fresh hidden directory lxcpath/prefixNNNN.
func makeWorkDir(lxcpath, prefix string) (*workDir, error) {
	for tries := 0; tries < 100; tries++ {
		p, err := os.MkdirTemp(lxcpath, prefix)
		if err != nil {
			return nil, err
		}
		f, err := openDirNoFollow(p)
		if errors.Is(err, os.ErrNotExist) {
			continue // swept between our mkdir and our open
		}
		if err != nil {
			os.Remove(p)
			return nil, err
		}
		// Blocking: a sweep that caught the directory between our mkdir
		// and this flock holds the lock only while it removes it.
		if err := sysfile.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
			f.Close()
			os.Remove(p)
			return nil, fmt.Errorf("lock %s: %w", p, err)
		}
		if sameFile(f, p) {
			return &workDir{path: p, f: f}, nil
		}
		f.Close() // swept: make another
	}
	return nil, fmt.Errorf("make a work directory in %s: it keeps being removed", lxcpath)
}

// release drops the lock; the directory, if still there, is a leftover
// for the next sweep from then on.
func (w *workDir) release() {
	if w != nil && w.f != nil {
		w.f.Close()
		w.f = nil
	}
}

// remove deletes the directory while still holding its lock, then drops it.
func (w *workDir) remove() error {
	defer w.release()
	if err := removeTree(w.path); err != nil {
		return fmt.Errorf("remove %s: %w", w.path, err)
	}
	return nil
}

// sweepStale removes the hidden directories of creates and destroys that
// were killed: one whose own lock is free. own is the name whose container
// lock the caller holds.
func sweepStale(lxcpath, own string) {
	entries, err := os.ReadDir(lxcpath)
	if err != nil {
		return
	}
	for _, e := range entries {
		n := e.Name()
		i := strings.Index(n, creatingInfix)
		if i < 0 {
			i = strings.Index(n, destroyingInfix)
		}
		if !e.IsDir() || !strings.HasPrefix(n, ".") || i < 1 {
			continue
		}
		if !sweepLeftover(filepath.Join(lxcpath, n)) || n[1:i] == own {
			continue
		}
		// A killed create or destroy may have left the lock file of a
		// name that no longer exists: /run must not collect them.
		if other, err := New(lxcpath, n[1:i]); err == nil {
			if l, err := other.TryLock(); err == nil {
				if !other.Defined() {
					l.remove()
				}
				l.Release()
			}
		}
	}
}

// sweepLeftover removes the work directory p if nobody works on it, and
// reports whether it did.
func sweepLeftover(p string) bool {
	f, err := openDirNoFollow(p)
	if err != nil {
		return false
	}
	defer f.Close()
	if sysfile.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) != nil {
		return false // in progress
	}
	// Still the directory we locked: a create renames its finished
	// directory into place before dropping the lock, and then p names
	// nothing (or, should a new one ever take the name, another inode).
	if !sameFile(f, p) {
		return false
	}
	return removeTree(p) == nil
}

// openDirNoFollow opens directory p itself, never what a symlink there
// points at.
func openDirNoFollow(p string) (*os.File, error) {
	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: p, Err: err}
	}
	return os.NewFile(uintptr(fd), p), nil
}

// sameFile reports whether path p still names the open file f.
func sameFile(f *os.File, p string) bool {
	var a, b unix.Stat_t
	return unix.Fstat(int(f.Fd()), &a) == nil && unix.Lstat(p, &b) == nil && a.Dev == b.Dev && a.Ino == b.Ino
}
