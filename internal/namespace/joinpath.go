package namespace

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// JoinOnThread enters the namespace fd (of type flag, a CLONE_NEW* flag)
// with the calling thread, which the caller has locked and execs from:
// a namespace given by path (OCI linux.namespaces[].path). A mount
// namespace is entered only by a thread whose filesystem information
// (root, working directory) is its own, so that is unshared from the
// process's other threads first (unshare(2) CLONE_FS is allowed with
// threads; setns(2) into a mount namespace is not, without it). A user
// namespace cannot be entered by a process with more than one thread, as
// every Go program has: refused.
func JoinOnThread(fd, flag int) error {
	switch flag {
	case unix.CLONE_NEWUSER:
		return fmt.Errorf("join a user namespace: a process with threads cannot (setns(2))")
	case unix.CLONE_NEWNS:
		if err := unix.Unshare(unix.CLONE_FS); err != nil {
			return fmt.Errorf("unshare filesystem information to join a mount namespace: %w", err)
		}
	}
	return unix.Setns(fd, flag)
}
