package cgroup

import (
	"fmt"
	"github.com/golxc/golxc/internal/sysfile"
	"strings"

	"golang.org/x/sys/unix"
)

// writeFile writes value to an existing cgroup file with one write(2):
// cgroup files parse each write on its own, so a value split over two
// writes would be two values. No O_CREAT: a missing key must say ENOENT.
// O_TRUNC means nothing to cgroupfs but keeps fixture files exact.
func writeFile(path, value string) error {
	var fd int
	var err error
	for {
		fd, err = unix.Open(path, unix.O_WRONLY|unix.O_TRUNC|unix.O_CLOEXEC, 0)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer unix.Close(fd)
	var n int
	for {
		n, err = unix.Write(fd, []byte(value))
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if n != len(value) {
		return fmt.Errorf("write %s: short write (%d of %d bytes)", path, n, len(value))
	}
	return nil
}

// readFile returns a cgroup file's content with surrounding space trimmed.
// Plain system calls: os.ReadFile registers every file with the
// runtime's poller first (five more system calls, each open), and
// lxc-info and lxc-ls -f read a dozen of these a container.
func readFile(path string) (string, error) {
	b, err := readAll(path)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	return strings.TrimSpace(string(b)), nil
}

// readAll reads the whole file at path; cgroup and proc files tell no
// size, so it reads until end of file.
func readAll(path string) ([]byte, error) { return sysfile.Read(path, 0) }
