package lxc

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// A shared monitor holds about thirteen descriptors for each container it
// runs (init's pidfds, the console and tty masters, its command socket,
// the reserved LXC socket names, the lock and cgroup lock files). At its
// RLIMIT_NOFILE it can no longer accept a connection: starts fail with
// "does not answer" and, worse, so do lxc-stop and lxc-info of the
// containers it already runs. So it refuses a start while fewer than
// monitorFDHeadroom descriptors are left, saying which limit binds.

// monitorFDHeadroom is what a shared monitor keeps free: one start's
// descriptors and those of the stops, consoles and queries it must still
// serve.
const monitorFDHeadroom = 64

// monitorFDRoom reports an error when this process (a shared monitor)
// has too few descriptors left for another container. A kernel that does
// not count a process's descriptors in the size of /proc/self/fd (before
// 6.2) is not checked: reading the directory would cost every start time
// that grows with the containers running.
func monitorFDRoom(lxcpath string) error {
	var st unix.Stat_t
	var lim unix.Rlimit
	if unix.Stat("/proc/self/fd", &st) != nil || st.Size <= 0 || unix.Getrlimit(unix.RLIMIT_NOFILE, &lim) != nil {
		return nil
	}
	return fdRoom(lxcpath, uint64(st.Size), lim.Cur)
}

// fdRoom is monitorFDRoom's decision: open descriptors of limit.
func fdRoom(lxcpath string, open, limit uint64) error {
	if limit == unix.RLIM_INFINITY || open+monitorFDHeadroom <= limit {
		return nil
	}
	return fmt.Errorf("the shared monitor of %s has %d of its %d descriptors open (RLIMIT_NOFILE; about 13 a running container): "+
		"not starting another; raise the nofile limit it gets (PID 1's when it may take it: systemd's DefaultLimitNOFILE=; "+
		"else that of what starts the first container: ulimit -n, LimitNOFILE=), or set golxc.monitor = per-container", lxcpath, open, limit)
}
