package test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/golxc/golxc/internal/monitor"
)

// TestMain runs the tests, then sweeps what golxc keeps under /run/golxc
// for the labs' lxcpaths, gone by then: a monitor a test kills leaves
// its command socket and lock files, and nothing of a temporary lxcpath
// comes back to sweep them, as the next monitor of a real one does.
//
// It also removes the lxc.pivot cgroups that LXC's own lxc-start, run by
// the compatibility tests, makes at the top of each hierarchy and never
// removes, when they were not there before the run (and only if empty).
func TestMain(m *testing.M) {
	pivots := lxcPivots()
	code := m.Run()
	if os.Geteuid() == 0 {
		sweepLabRuntime(time.Now().Add(5 * time.Second))
		for p := range lxcPivots() {
			if !pivots[p] {
				_ = unix.Rmdir(p)
			}
		}
	}
	os.Exit(code)
}

// lxcPivots lists the lxc.pivot cgroups of the host's hierarchies.
func lxcPivots() map[string]bool {
	m := map[string]bool{}
	ps, _ := filepath.Glob("/sys/fs/cgroup/*/lxc.pivot")
	for _, p := range ps {
		m[p] = true
	}
	return m
}

// sweepLabRuntime removes, for each lab lxcpath (newLab's
// /tmp/golxc-it-*/lxc) that no longer exists, the lock files nobody
// holds (taken first, unlinked while held), the command sockets of
// their names that nobody listens on, and then the emptied lock
// directories. A lock still held (a shared monitor in its last seconds)
// is waited for until deadline, then left. The lxcpaths of another run
// going on exist, and are not looked at.
func sweepLabRuntime(deadline time.Time) {
	const lockRoot = "/run/golxc/lock"
	dirs, _ := filepath.Glob(filepath.Join(lockRoot, os.TempDir(), "golxc-it-*", "lxc"))
	for _, dir := range dirs {
		lxcpath := strings.TrimPrefix(dir, lockRoot)
		if _, err := os.Lstat(filepath.Dir(lxcpath)); !errors.Is(err, os.ErrNotExist) {
			continue
		}
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			name, ok := strings.CutPrefix(e.Name(), ".")
			if !ok || e.IsDir() {
				continue
			}
			sweepLock(filepath.Join(dir, e.Name()), monitor.SocketPath(lxcpath, name), deadline)
		}
		// Emptied or not: a directory with a lock left stays.
		if os.Remove(dir) == nil {
			_ = os.Remove(filepath.Dir(dir))
		}
	}
}

// sweepLock removes the lock file at p and the socket sock of its name
// once nobody holds the lock and nobody listens on the socket.
func sweepLock(p, sock string, deadline time.Time) {
	fd, err := unix.Open(p, unix.O_RDWR|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return
	}
	defer unix.Close(fd)
	for unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB) != nil {
		if time.Now().After(deadline) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	if listening(sock) {
		return
	}
	_ = os.Remove(sock)
	_ = unix.Unlink(p)
}

// listening reports whether a process accepts connections on the unix
// socket at path.
func listening(path string) bool {
	s, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return true
	}
	defer unix.Close(s)
	err = unix.Connect(s, &unix.SockaddrUnix{Name: path})
	return err == nil || !(errors.Is(err, unix.ECONNREFUSED) || errors.Is(err, unix.ENOENT))
}
