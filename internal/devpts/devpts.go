// Package devpts gives a container its own devpts instance: /dev/ptmx, and
// the ptys behind /dev/console and /dev/tty1..N whose masters the monitor
// keeps for lxc-console.
package devpts

import (
	"fmt"
	"os"
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"golxc/internal/rootfs"
)

// MountOptions are those of a container's devpts: a new instance, so the
// container sees only its own ptys, whose /dev/ptmx anyone may open, whose
// slaves belong to the tty group (gid 5) with mode 0620.
var MountOptions = []string{"newinstance", "ptmxmode=0666", "mode=0620", "gid=5", "nosuid", "noexec"}

// Mount mounts the container's devpts on /dev/pts and points /dev/ptmx at
// its ptmx.
func Mount(root *rootfs.Root) error {
	m := specs.Mount{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: MountOptions}
	if err := root.Mount(m); err != nil {
		return err
	}
	if root.Exists("/dev/ptmx") {
		// A node or file from the rootfs's own /dev: cover it with the
		// instance's ptmx so that opening it allocates in this instance.
		// The source is opened inside the root: a path string would be
		// resolved on the host, through the container's symlinks.
		fd, err := root.Open("/dev/pts/ptmx")
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		return root.Mount(specs.Mount{Source: "/proc/self/fd/" + strconv.Itoa(fd), Destination: "/dev/ptmx", Type: "bind", Options: []string{"bind"}})
	}
	return root.Symlink("pts/ptmx", "/dev/ptmx")
}

// PTY is one pty pair of the container's devpts.
type PTY struct {
	Master *os.File
	Slave  *os.File
	Index  int
}

// Open allocates a pty in the container's devpts instance.
func Open(root *rootfs.Root) (*PTY, error) {
	fd, err := root.OpenFile("/dev/pts/ptmx", unix.O_RDWR|unix.O_NOCTTY)
	if err != nil {
		return nil, fmt.Errorf("allocate pty: %w", err)
	}
	master := os.NewFile(uintptr(fd), "ptmx")
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		master.Close()
		return nil, fmt.Errorf("unlock pty: %w", err)
	}
	n, err := unix.IoctlGetUint32(fd, unix.TIOCGPTN)
	if err != nil {
		master.Close()
		return nil, fmt.Errorf("get pty number: %w", err)
	}
	// TIOCGPTPEER opens the slave through the master, so it is the slave
	// of this very instance whatever the paths say.
	sfd, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.TIOCGPTPEER, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC)
	if errno != 0 {
		master.Close()
		return nil, fmt.Errorf("open pty slave: %w", errno)
	}
	return &PTY{Master: master, Slave: os.NewFile(sfd, "/dev/pts/"+strconv.Itoa(int(n))), Index: int(n)}, nil
}

// BindSlave mounts the pty's slave over path (e.g. /dev/console) inside
// the root, making the file first.
func (p *PTY) BindSlave(root *rootfs.Root, path string) error {
	if err := root.CreateFile(path, 0o600); err != nil {
		return err
	}
	src := "/proc/self/fd/" + strconv.Itoa(int(p.Slave.Fd()))
	return root.Mount(specs.Mount{Source: src, Destination: path, Type: "bind", Options: []string{"bind"}})
}

// SetSize sets the pty's window size (rows, columns).
func (p *PTY) SetSize(rows, cols uint) error {
	ws := &unix.Winsize{Row: uint16(rows), Col: uint16(cols)}
	if err := unix.IoctlSetWinsize(int(p.Master.Fd()), unix.TIOCSWINSZ, ws); err != nil {
		return fmt.Errorf("set window size of pty %d: %w", p.Index, err)
	}
	return nil
}

// Close closes both ends held by this process.
func (p *PTY) Close() {
	p.Master.Close()
	p.Slave.Close()
}
