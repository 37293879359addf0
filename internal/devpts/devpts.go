// Package devpts gives a container its own devpts instance: /dev/ptmx, and
// the ptys behind /dev/console and /dev/tty1..N whose masters the monitor
// keeps for lxc-console.
package devpts

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/golxc/golxc/internal/rootfs"
)

// MountOptions are those of a container's devpts: a new instance, so the
// container sees only its own ptys, whose /dev/ptmx anyone may open, whose
// slaves belong to the tty group (gid 5) with mode 0620.
var MountOptions = []string{"newinstance", "ptmxmode=0666", "mode=0620", "gid=5", "nosuid", "noexec"}

// Mount mounts the container's devpts on /dev/pts and points /dev/ptmx at
// its ptmx. max > 0 caps the ptys of the instance (devpts max=): every pty
// opened in it counts, the console and ttys the init stage makes included.
func Mount(root *rootfs.Root, max int) error {
	opts := MountOptions
	if max > 0 {
		opts = append(slices.Clone(MountOptions), "max="+strconv.Itoa(max))
	}
	m := specs.Mount{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: opts}
	if err := root.Mount(m); err != nil {
		return err
	}
	return LinkPtmx(root)
}

// LinkPtmx points /dev/ptmx at the ptmx of the devpts on /dev/pts (one
// Mount made, or the container's config mounted as a new instance).
func LinkPtmx(root *rootfs.Root) error {
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
		if errors.Is(err, unix.ENOSPC) {
			return nil, ErrExhausted
		}
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

// ErrExhausted is opening a pty when none is left: the instance's max=, or
// the ptys kernel.pty.max leaves to devpts instances other than the host's.
var ErrExhausted = errors.New("no pty left")

// HostLimits reads kernel.pty.max, kernel.pty.reserve and kernel.pty.nr
// (ptys in use on the whole machine). A devpts instance other than the
// host's initial one may allocate only while nr < max - reserve
// (Documentation/filesystems/devpts.rst).
func HostLimits() (limit, reserve, inUse int, err error) {
	read := func(name string) (int, error) {
		b, err := os.ReadFile("/proc/sys/kernel/pty/" + name)
		if err != nil {
			return 0, err
		}
		return strconv.Atoi(strings.TrimSpace(string(b)))
	}
	if limit, err = read("max"); err != nil {
		return 0, 0, 0, fmt.Errorf("read kernel.pty.max: %w", err)
	}
	if reserve, err = read("reserve"); err != nil {
		return 0, 0, 0, fmt.Errorf("read kernel.pty.reserve: %w", err)
	}
	if inUse, err = read("nr"); err != nil {
		return 0, 0, 0, fmt.Errorf("read kernel.pty.nr: %w", err)
	}
	return limit, reserve, inUse, nil
}

// Shortage is the one line that says a container cannot have the ptys
// it asks for: want of them (the console, if any, and lxc.tty.max ttys),
// what the host's limit leaves to containers and how many are in use.
func Shortage(want, ttys int, console bool) error {
	asked := fmt.Sprintf("lxc.tty.max = %d", ttys)
	if console {
		asked = "console + " + asked
	}
	max, reserve, inUse, err := HostLimits()
	if err != nil {
		return fmt.Errorf("out of ptys: the container asks for %d (%s); the host's limit is kernel.pty.max", want, asked)
	}
	// Every devpts instance but the host's shares max - reserve (the
	// kernel counts the ptys of all instances together): this container
	// fits once max >= in use + want + reserve.
	return fmt.Errorf("out of ptys: the container asks for %d (%s), and kernel.pty.max = %d leaves %d to containers (kernel.pty.reserve = %d), %d in use: lower lxc.tty.max or raise kernel.pty.max to at least %d",
		want, asked, max, max-reserve, reserve, inUse, inUse+want+reserve)
}

// CheckAvailable refuses, before any is opened, a number of ptys that
// the host's limit could never give a container: a container asking for
// thousands of ttys must not take every pty of the machine on its way to
// failing.
func CheckAvailable(want, ttys int, console bool) error {
	max, reserve, _, err := HostLimits()
	if err != nil {
		return nil // no /proc/sys: the allocation itself will say
	}
	if want > max-reserve {
		return Shortage(want, ttys, console)
	}
	return nil
}
