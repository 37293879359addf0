package storage

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// A rootfs that is not a plain directory is mounted detached (fsopen,
// fsmount): the mount exists only as a descriptor until the container's
// init stage attaches it in its own mount namespace, or is read through
// the descriptor by a copy. Nothing is ever mounted in the host's
// namespace, so nothing is left there when a tool or a container dies:
// the mount goes with the last descriptor or namespace holding it, and a
// loop device (attached with LO_FLAGS_AUTOCLEAR) with the mount.

// MountDetached mounts the rootfs r and returns the mount's descriptor,
// which the caller closes. A dir or btrfs rootfs is a clone of its
// directory's mount (open_tree), so every store is handed over alike.
func MountDetached(r Rootfs) (int, error) {
	switch r.Kind {
	case Dir, Btrfs:
		if _, err := os.Lstat(r.Path); err != nil {
			return -1, fmt.Errorf("rootfs %s: %w", r.Path, err)
		}
		fd, err := unix.OpenTree(unix.AT_FDCWD, r.Path, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_RECURSIVE|unix.AT_SYMLINK_NOFOLLOW)
		if err != nil {
			return -1, fmt.Errorf("clone the mount of rootfs %s: %w", r.Path, err)
		}
		return fd, nil
	case Overlay:
		return mountOverlay(r)
	case Loop:
		return mountLoop(r.Path)
	}
	return -1, fmt.Errorf("rootfs %s: backing store %s cannot be mounted", r, r.Kind)
}

func mountOverlay(r Rootfs) (int, error) {
	for _, d := range []string{r.Lower, r.Path} {
		if st, err := os.Stat(d); err != nil || !st.IsDir() {
			return -1, fmt.Errorf("overlay rootfs %s: %s is not a directory", r, d)
		}
	}
	// LXC makes the work directory on the first mount when it is missing.
	if err := os.MkdirAll(r.WorkDir(), 0o755); err != nil {
		return -1, fmt.Errorf("overlay rootfs %s: make work directory: %w", r, err)
	}
	fs, err := unix.Fsopen("overlay", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return -1, fmt.Errorf("overlay rootfs %s: fsopen overlay: %w", r, err)
	}
	defer unix.Close(fs)
	// lowerdir+ takes one path as it is: a ':' or ',' in a name is no
	// separator there (Documentation/filesystems/overlayfs.rst).
	for _, kv := range [][2]string{{"lowerdir+", r.Lower}, {"upperdir", r.Path}, {"workdir", r.WorkDir()}} {
		if err := unix.FsconfigSetString(fs, kv[0], kv[1]); err != nil {
			return -1, fmt.Errorf("overlay rootfs %s: %s=%s: %w%s", r, kv[0], kv[1], err, fsMessages(fs))
		}
	}
	return createMount(fs, r.String())
}

func createMount(fs int, what string) (int, error) {
	if err := unix.FsconfigCreate(fs); err != nil {
		return -1, fmt.Errorf("mount %s: %w%s", what, err, fsMessages(fs))
	}
	m, err := unix.Fsmount(fs, unix.FSMOUNT_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("mount %s: %w%s", what, err, fsMessages(fs))
	}
	return m, nil
}

// fsMessages is what the kernel said about a failed fsconfig (read from
// the filesystem context), for the error line.
func fsMessages(fs int) string {
	var out []string
	buf := make([]byte, 1024)
	for range 8 {
		n, err := unix.Read(fs, buf)
		if err != nil || n <= 0 {
			break
		}
		out = append(out, strings.TrimSpace(string(buf[:n])))
	}
	if len(out) == 0 {
		return ""
	}
	return " (" + strings.Join(out, "; ") + ")"
}

// loopFSTypes are tried in turn on a loop image: LXC's lxc-create
// --fstype is ext4 by default, and these are the others it documents.
var loopFSTypes = []string{"ext4", "xfs", "btrfs"}

func mountLoop(file string) (int, error) {
	dev, err := AttachLoop(file)
	if err != nil {
		return -1, err
	}
	// The mount holds the device open; closing ours lets the kernel
	// detach it (autoclear) when the mount goes.
	defer dev.Close()
	var errs []string
	for _, t := range loopFSTypes {
		fs, err := unix.Fsopen(t, unix.FSOPEN_CLOEXEC)
		if err != nil {
			continue
		}
		if err := unix.FsconfigSetString(fs, "source", dev.Name()); err != nil {
			unix.Close(fs)
			return -1, fmt.Errorf("loop rootfs %s: source %s: %w", file, dev.Name(), err)
		}
		m, err := createMount(fs, t+" on "+dev.Name())
		unix.Close(fs)
		if err == nil {
			return m, nil
		}
		errs = append(errs, err.Error())
	}
	return -1, fmt.Errorf("loop rootfs %s: no filesystem golxc knows (%s) mounts: %s", file, strings.Join(loopFSTypes, ", "), strings.Join(errs, "; "))
}

// AttachLoop attaches file to a free loop device (LOOP_CONFIGURE, with
// autoclear: the device detaches itself once its last user closes it)
// and returns the open device.
func AttachLoop(file string) (*os.File, error) {
	img, err := openImage(file)
	if err != nil {
		return nil, err
	}
	defer img.Close()
	ctl, err := os.OpenFile("/dev/loop-control", os.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("loop image %s: %w", file, err)
	}
	defer ctl.Close()
	for tries := 0; ; tries++ {
		n, err := unix.IoctlRetInt(int(ctl.Fd()), unix.LOOP_CTL_GET_FREE)
		if err != nil {
			return nil, fmt.Errorf("loop image %s: get a free loop device: %w", file, err)
		}
		path := "/dev/loop" + strconv.Itoa(n)
		dev, err := os.OpenFile(path, os.O_RDWR|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, fmt.Errorf("loop image %s: %w", file, err)
		}
		cfg := unix.LoopConfig{Fd: uint32(img.Fd())}
		cfg.Info.Flags = unix.LO_FLAGS_AUTOCLEAR
		copy(cfg.Info.File_name[:], file)
		err = unix.IoctlLoopConfigure(int(dev.Fd()), &cfg)
		if err == nil {
			return dev, nil
		}
		dev.Close()
		// Another process took the device between GET_FREE and here.
		if errors.Is(err, unix.EBUSY) && tries < 100 {
			time.Sleep(time.Millisecond)
			continue
		}
		return nil, fmt.Errorf("loop image %s: configure %s: %w", file, path, err)
	}
}

// openImage opens the loop image file read-write. It is looked at first
// through an O_PATH descriptor, which opens nothing: a device (opening
// /dev/watchdog arms the watchdog), a fifo or a symlink named as an
// image is refused before any real open. The real open reopens that very
// inode (through /proc/self/fd), so no name swapped in meanwhile is
// opened either, and is checked to be it.
func openImage(file string) (*os.File, error) {
	p, err := unix.Open(file, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("loop image %s: %w", file, &os.PathError{Op: "open", Path: file, Err: err})
	}
	defer unix.Close(p)
	var want unix.Stat_t
	if err := unix.Fstat(p, &want); err != nil {
		return nil, fmt.Errorf("loop image %s: %w", file, err)
	}
	if want.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, fmt.Errorf("loop image %s is not a regular file (a symbolic link is not followed)", file)
	}
	img, err := os.OpenFile(fdPath(p), os.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("loop image %s: open: %w", file, err)
	}
	var got unix.Stat_t
	if err := unix.Fstat(int(img.Fd()), &got); err != nil || got.Dev != want.Dev || got.Ino != want.Ino || got.Mode&unix.S_IFMT != unix.S_IFREG {
		img.Close()
		return nil, fmt.Errorf("loop image %s changed while being opened", file)
	}
	return img, nil
}

// MakeLoopImage creates file, a sparse image of size bytes, with a
// filesystem of type fstype on it (mkfs from e2fsprogs, xfsprogs or
// btrfs-progs, as LXC runs it). A failure removes the file.
func MakeLoopImage(file string, size int64, fstype string) (err error) {
	f, err := os.OpenFile(file, os.O_RDWR|os.O_CREATE|os.O_EXCL|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return fmt.Errorf("loop image %s: %w", file, err)
	}
	defer func() {
		if err != nil {
			os.Remove(file)
		}
	}()
	if err := f.Truncate(size); err != nil {
		f.Close()
		return fmt.Errorf("loop image %s: size %d: %w", file, size, err)
	}
	f.Close()
	mkfs := "mkfs." + fstype
	if !strings.Contains("ext2 ext3 ext4 xfs btrfs", fstype) || strings.Contains(fstype, " ") {
		return fmt.Errorf("--fstype %s: not one of ext2, ext3, ext4, xfs, btrfs", fstype)
	}
	args := []string{file}
	if strings.HasPrefix(fstype, "ext") {
		args = []string{"-q", "-F", file}
	} else {
		args = []string{"-q", "-f", file}
	}
	out, err := exec.Command(mkfs, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("loop image %s: %s: %v: %s", file, mkfs, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// CopySize is the size of a loop image copied from r when none is asked
// for: a loop rootfs's own image size (its files fit again in as much),
// else def.
func CopySize(r Rootfs, def int64) int64 {
	var st unix.Stat_t
	if r.Kind == Loop && unix.Lstat(r.Path, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFREG && st.Size > 0 {
		return st.Size
	}
	return def
}

// ParseSize reads --fssize: a number with an optional unit (B, K, M, G,
// T; LXC's are powers of 1024).
func ParseSize(s string) (int64, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	t = strings.TrimSuffix(strings.TrimSuffix(t, "B"), "I")
	mult := int64(1)
	if t != "" {
		switch t[len(t)-1] {
		case 'K':
			mult = 1 << 10
		case 'M':
			mult = 1 << 20
		case 'G':
			mult = 1 << 30
		case 'T':
			mult = 1 << 40
		}
		if mult > 1 {
			t = t[:len(t)-1]
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n <= 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("bad size %q (want a number with K, M, G or T)", s)
	}
	return n * mult, nil
}
