package seccomp

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Load installs filter on every thread of the calling process
// (SECCOMP_FILTER_FLAG_TSYNC): a Go program's other threads would
// otherwise stay unfiltered, and golxc's own init forks its command from
// any of them. The caller needs CAP_SYS_ADMIN in its user namespace or
// no_new_privs set (seccomp(2)).
func Load(filter []unix.SockFilter) error {
	if len(filter) == 0 {
		return fmt.Errorf("load seccomp filter: empty program")
	}
	prog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	r, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_TSYNC, uintptr(unsafe.Pointer(&prog)))
	if errno != 0 {
		return fmt.Errorf("load seccomp filter: %w", errno)
	}
	if r != 0 {
		// TSYNC names the thread it could not synchronise.
		return fmt.Errorf("load seccomp filter: thread %d cannot take it", r)
	}
	return nil
}

// SetNoNewPrivs sets PR_SET_NO_NEW_PRIVS on every thread of the process,
// so whichever thread forks or execs next carries it.
func SetNoNewPrivs() error {
	if _, _, errno := syscall.AllThreadsSyscall(unix.SYS_PRCTL, unix.PR_SET_NO_NEW_PRIVS, 1, 0); errno != 0 {
		return fmt.Errorf("prctl PR_SET_NO_NEW_PRIVS: %w", errno)
	}
	return nil
}

// Confined reports whether the calling process already runs under a
// seccomp mode ("Seccomp:" of /proc/self/status is not 0).
func Confined() (bool, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return false, fmt.Errorf("read seccomp mode: %w", err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "Seccomp:"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				return false, fmt.Errorf("parse seccomp mode %q: %w", v, err)
			}
			return n != 0, nil
		}
	}
	// A kernel without CONFIG_SECCOMP shows no such line.
	return false, nil
}
