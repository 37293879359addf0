// Package namespace owns Linux namespaces for golxc: their kinds and
// names (kinds.go), id maps and user namespaces (idmap.go), joining a
// running container (the raw fork, fork.go), and the sealed copy of the
// golxc binary that runs where a container can see it.
package namespace

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// seals make the copy immutable: no write, no resize, no removal of the
// seals themselves.
const seals = unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE

// SealedSelf returns a sealed in-memory copy of the running golxc binary,
// to exec wherever a process of a container could reach /proc/PID/exe of
// the result (the container's PID 1 under lxc-execute, a process being
// attached). Through /proc/PID/exe a container's root could otherwise
// open the host's binary and rewrite it once it is no longer running
// (CVE-2019-5736); the copy cannot be written, grown or unsealed.
// The file is close-on-exec: hand it to the child as one of its
// ExtraFiles and exec ExecPath of the number it gets there.
func SealedSelf() (*os.File, error) { return sealedSelf(false) }

// SealedSelfExecOnly is SealedSelf's copy made execute-only (mode 0111,
// host root's) before it is sealed: a process that execs a file it
// cannot read is made non-dumpable by the kernel, its memory tied to the
// first user namespace whose root may read the file, the host's. Run as
// root of another container's user namespace (a stage spawned into one),
// it cannot be traced or have its memory read from there. Its own
// /proc/PID files are then host root's: it cannot write them either.
func SealedSelfExecOnly() (*os.File, error) { return sealedSelf(true) }

func sealedSelf(execOnly bool) (*os.File, error) {
	src, err := os.Open("/proc/self/exe")
	if err != nil {
		return nil, fmt.Errorf("open own binary: %w", err)
	}
	defer src.Close()
	// MFD_EXEC says the copy is meant to be executed: a host with
	// vm.memfd_noexec set would otherwise make it non-executable. Kernels
	// before 6.3 do not know the flag.
	fd, err := unix.MemfdCreate("golxc", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING|unix.MFD_EXEC)
	if errors.Is(err, unix.EINVAL) {
		fd, err = unix.MemfdCreate("golxc", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	}
	if err != nil {
		return nil, fmt.Errorf("memfd_create for a sealed copy of golxc: %w", err)
	}
	f := os.NewFile(uintptr(fd), "memfd:golxc")
	if err := copyInto(fd, src); err != nil {
		f.Close()
		return nil, fmt.Errorf("copy golxc into a sealed memfd: %w", err)
	}
	if execOnly {
		if err := unix.Fchmod(fd, 0o111); err != nil {
			f.Close()
			return nil, fmt.Errorf("make the copy of golxc execute-only: %w", err)
		}
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, seals); err != nil {
		f.Close()
		return nil, fmt.Errorf("seal the copy of golxc: %w", err)
	}
	return f, nil
}

// copyInto copies src whole into fd, in the kernel (sendfile: every
// attach pays for this copy, and copy_file_range does not cross from a
// disk's filesystem to a memfd), else through a buffer.
func copyInto(fd int, src *os.File) error {
	st, err := src.Stat()
	if err != nil {
		return err
	}
	if err := unix.Ftruncate(fd, st.Size()); err != nil {
		return err
	}
	var off int64
	for off < st.Size() {
		n, err := unix.Sendfile(fd, int(src.Fd()), &off, int(st.Size()-off))
		if errors.Is(err, unix.EINTR) || errors.Is(err, unix.EAGAIN) {
			continue
		}
		if err != nil || n == 0 {
			break
		}
	}
	if off == st.Size() {
		return nil
	}
	if _, err := unix.Seek(fd, 0, io.SeekStart); err != nil {
		return err
	}
	if _, err := src.Seek(0, io.SeekStart); err != nil {
		return err
	}
	_, err = io.Copy(fdWriter(fd), src)
	return err
}

// fdWriter writes to an fd it does not own (an *os.File would close it
// when collected).
type fdWriter int

func (w fdWriter) Write(b []byte) (int, error) { return unix.Write(int(w), b) }

// ExecPath is the path that execs the file open as fd in the process that
// runs the exec (the child's descriptor number, not the parent's).
func ExecPath(fd int) string { return "/proc/self/fd/" + strconv.Itoa(fd) }
