// Package sysfile reads small files (cgroup, proc and sysfs files, a
// container's config, a monitor's record) with plain system calls.
// os.Open registers every file with the runtime's poller first (fcntl,
// epoll_ctl refused for a regular file, fcntl again): for a short-lived
// tool such as lxc-info that touches no other file through os, that
// set-up is most of what a read costs.
package sysfile

import "golang.org/x/sys/unix"

// Read returns the contents of the file at path, at most limit bytes
// (0: no limit; cgroup and proc files tell no size, so it reads until
// end of file). Errors are the system's, for the caller to wrap; EINTR
// is retried.
func Read(path string, limit int) ([]byte, error) {
	var fd int
	var err error
	for {
		if fd, err = unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0); err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	b := make([]byte, 0, 512)
	for limit <= 0 || len(b) < limit {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		end := cap(b)
		if limit > 0 {
			end = min(end, limit)
		}
		n, err := unix.Read(fd, b[len(b):end])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		if n == 0 {
			break
		}
		b = b[:len(b)+n]
	}
	return b, nil
}

// Flock is flock(2) on fd, again after EINTR (a blocking lock is
// interrupted by every signal the runtime takes, its preemption's too).
func Flock(fd, how int) error {
	for {
		if err := unix.Flock(fd, how); err != unix.EINTR {
			return err
		}
	}
}
