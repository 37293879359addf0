// Package rundir is where golxc keeps what lives only while the host is
// up: monitors' command sockets, container locks and cgroup name locks.
// Root's are under /run/golxc; another user's under its own runtime
// directory ($XDG_RUNTIME_DIR/golxc, else /run/user/UID/golxc), so users
// never share a lock or a socket directory with root or each other.
package rundir

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// Dir is golxc's runtime directory for the effective user.
func Dir() string {
	uid := os.Geteuid()
	if uid == 0 {
		return "/run/golxc"
	}
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "golxc")
	}
	return filepath.Join("/run/user", strconv.Itoa(uid), "golxc")
}

// Sub is the directory name under Dir (sock, lock, cgroup).
func Sub(name string) string { return filepath.Join(Dir(), name) }

// Prepare makes Dir/name (and Dir) if need be, and checks, for a user
// other than root, the runtime directory above them too: each must be a
// real directory (not a symlink) of this user that nobody else can write,
// and Dir/name (a user's Dir too) is made 0700. A runtime directory another local
// user made first, or replaced with a link, is refused: its owner could
// take a lock or a socket name from under golxc.
func Prepare(name string) (string, error) {
	dir := Sub(name)
	if os.Geteuid() != 0 {
		// The user's runtime directory is made by whoever logs users in
		// (systemd-logind), never by golxc: one it made under a shared
		// directory could be another user's first.
		if _, err := os.Lstat(filepath.Dir(Dir())); err != nil {
			return "", fmt.Errorf("runtime directory %s: %w (log in through systemd-logind, or set XDG_RUNTIME_DIR to a directory of yours, mode 0700)", filepath.Dir(Dir()), err)
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("make runtime directory %s: %w", dir, err)
	}
	if os.Geteuid() != 0 {
		if err := checkOwn(filepath.Dir(Dir()), false); err != nil {
			return "", err
		}
	}
	if err := checkOwn(Dir(), os.Geteuid() != 0); err != nil {
		return "", err
	}
	if err := checkOwn(dir, true); err != nil {
		return "", err
	}
	return dir, nil
}

// checkOwn refuses d unless it is a directory (not a symlink) of this
// user that nobody else can write; closed also makes it 0700.
func checkOwn(d string, closed bool) error {
	var st unix.Stat_t
	if err := unix.Lstat(d, &st); err != nil {
		return fmt.Errorf("check runtime directory %s: %w", d, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR || int(st.Uid) != os.Geteuid() || st.Mode&0o022 != 0 {
		return fmt.Errorf("runtime directory %s is not a directory of uid %d that only it can write: refusing to use it", d, os.Geteuid())
	}
	if closed && st.Mode&0o077 != 0 {
		if err := unix.Chmod(d, 0o700); err != nil {
			return fmt.Errorf("close runtime directory %s: %w", d, err)
		}
	}
	return nil
}
