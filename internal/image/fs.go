package image

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// writerOnly hides an *os.File's ReadFrom, so that a copy goes through the
// buffer given rather than probing for splice on every file.
type writerOnly struct{ io.Writer }

func fdFile(fd int, name string) *os.File { return os.NewFile(uintptr(fd), name) }

// readDirNames lists the directory fd (open for reading), without "." and
// "..".
func readDirNames(fd int) ([]string, error) {
	var names []string
	buf := make([]byte, 32<<10)
	if _, err := unix.Seek(fd, 0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("rewind directory: %w", err)
	}
	for {
		n, err := unix.Getdents(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("getdents: %w", err)
		}
		if n <= 0 {
			return names, nil
		}
		_, _, names = unix.ParseDirent(buf[:n], -1, names)
	}
}
