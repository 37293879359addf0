package image

import (
	"io"
	"os"
)

// writerOnly hides an *os.File's ReadFrom, so that a copy goes through the
// buffer given rather than probing for splice on every file.
type writerOnly struct{ io.Writer }

func fdFile(fd int, name string) *os.File { return os.NewFile(uintptr(fd), name) }
