package cgroup

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
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
func readFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path is in our message already
		}
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	return strings.TrimSpace(string(b)), nil
}
