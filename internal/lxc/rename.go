package lxc

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/golxc/golxc/internal/config"
	"github.com/golxc/golxc/internal/monitor"
	"github.com/golxc/golxc/internal/storage"
)

// Rename renames a stopped container in its lxcpath (lxc-copy -R): the
// directory moves in one step and the config's name and paths follow.
// As in LXC, a container with snapshots or clones is not renamed.
func (c *Container) Rename(newName string) (*Container, error) {
	if err := c.mustBeDefined(); err != nil {
		return nil, err
	}
	dst, err := New(c.LXCPath, newName)
	if err != nil {
		return nil, err
	}
	if err := checkCreateName(newName); err != nil {
		return nil, err
	}
	if names, _ := List(c.snapsDir()); len(names) > 0 || len(c.Clones()) > 0 {
		return nil, errors.New("Renaming a container with snapshots is not supported") //nolint:staticcheck // LXC's message
	}
	lock, err := c.stoppedLock("rename it")
	if err != nil {
		return nil, err
	}
	defer lock.Release()
	if err := c.notRunByLXC(); err != nil {
		return nil, err
	}
	dlock, err := dst.TryLock()
	if err != nil {
		return nil, fmt.Errorf("%s is in use: %w", newName, err)
	}
	defer dlock.Release()
	if _, err := os.Lstat(dst.Dir()); err == nil {
		return nil, fmt.Errorf("clone: %s exists", dst.ConfigPath())
	}
	cfg, err := config.Load(c.ConfigPath())
	if err != nil {
		return nil, err
	}
	// The new config is written beside the old one first, then the
	// directory moves and the new config replaces the old in one rename.
	work, err := makeWorkDir(c.LXCPath, "."+newName+creatingInfix)
	if err != nil {
		return nil, err
	}
	defer work.release()
	defer work.remove()
	to, err := storage.Parse(cfg.Rootfs.Raw)
	if err != nil {
		return nil, err
	}
	to.Path = rewritePaths(to.Path, c.Dir(), dst.Dir())
	to.Lower = rewritePaths(to.Lower, c.Dir(), dst.Dir())
	if err := writeCloneConfig(c, dst, cfg, work.path, dst.Dir(), to, CopyOptions{KeepMAC: true}); err != nil {
		return nil, err
	}
	if err := os.Rename(c.Dir(), dst.Dir()); err != nil {
		return nil, fmt.Errorf("rename %s to %s: %w", c.Name, newName, err)
	}
	if err := os.Rename(filepath.Join(work.path, "config"), dst.ConfigPath()); err != nil {
		_ = os.Rename(dst.Dir(), c.Dir())
		return nil, fmt.Errorf("rename %s to %s: %w", c.Name, newName, err)
	}
	lock.remove()
	// A clone's origin lists it by name: the new one.
	if origin := originOf(dst); origin != nil {
		err := editDeps(origin.Dir(), func(d []depRef) []depRef {
			for i := range d {
				if d[i] == (depRef{c.LXCPath, c.Name}) {
					d[i].Name = dst.Name
				}
			}
			return d
		})
		if err != nil {
			return dst, err
		}
	}
	return dst, nil
}

// stoppedLock takes the lock of a container that must be stopped: a
// monitor still tearing down after lxc-stop holds it a moment longer,
// which is waited for; a running container is refused (to do what).
func (c *Container) stoppedLock(what string) (*Lock, error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		lock, err := c.TryLock()
		if err != nil && err != ErrLocked {
			return nil, err
		}
		// A free lock is no proof of a stopped container (the monitor of
		// an older golxc holds a lock file of another name): its socket
		// is asked either way.
		st, serr := c.State()
		if serr == nil && st != monitor.Stopped {
			serr = &errNotStopped{name: c.Name, state: st, what: what}
		}
		if serr != nil {
			lock.Release()
			return nil, serr
		}
		if lock != nil {
			return lock, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%s is locked by another golxc process", c.Name)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// errNotStopped refuses what needs a stopped container.
type errNotStopped struct{ name, state, what string }

func (e *errNotStopped) Error() string {
	return fmt.Sprintf("%s is %s: stop it to %s", e.name, e.state, e.what)
}
