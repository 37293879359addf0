// Package rootfs builds a container's filesystem view inside its new mount
// namespace: the root bind, the mounts of lxc.mount.auto and lxc.mount.entry,
// an autodev /dev, masked and read-only paths, and the pivot_root into it.
// It runs in the container's init stage, before the container's own init.
package rootfs

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Prepare makes the mount namespace's propagation one-way (host events
// still reach the container, nothing flows back) and, when dir is a
// container root, binds it onto itself so that pivot_root can use it.
func Prepare(dir string) error {
	if err := MakeSlave(); err != nil {
		return err
	}
	return BindRoot(dir)
}

// MakeSlave makes the mount namespace's propagation one-way: host events
// still reach the container, nothing flows back.
func MakeSlave() error {
	if err := unix.Mount("", "/", "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("make / rslave: %w", err)
	}
	return nil
}

// BindRoot binds the container root dir onto itself, so that pivot_root
// can use it ("" and "/" need nothing).
func BindRoot(dir string) error {
	if dir == "" || dir == "/" {
		return nil
	}
	if err := unix.Mount(dir, dir, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind rootfs %s: %w", dir, err)
	}
	return nil
}

// Mount performs one mount with its destination inside the root.
func (r *Root) Mount(m specs.Mount) error {
	o := ParseOptions(m.Options)
	err := r.mount(m, o)
	if err != nil && o.Optional {
		return nil
	}
	return err
}

func (r *Root) mount(m specs.Mount, o Options) error {
	dst := filepath.Clean("/" + m.Destination)
	bind := o.Flags&unix.MS_BIND != 0 || m.Type == "bind"
	if !o.Relative && bind {
		// A bind source under the rootfs by name is the container's:
		// looked up in it, not through its symlinks on the host.
		if rel, ok := r.Within(m.Source); ok {
			m.Source, o.Relative = rel, true
		}
	}
	if o.Relative {
		// Resolved inside the root, never on the host through the
		// container's symlinks.
		fd, err := r.Open(m.Source)
		if err != nil {
			return fmt.Errorf("mount %s on %s: %w", m.Source, dst, err)
		}
		defer unix.Close(fd)
		m.Source = fdPath(fd)
	}
	if bind {
		o.Flags |= unix.MS_BIND
		if _, err := os.Stat(m.Source); err != nil {
			return fmt.Errorf("mount %s on %s: source: %w", m.Source, dst, err)
		}
	}
	if !r.Exists(dst) {
		var err error
		switch {
		case o.CreateFile, bind && !o.CreateDir && !hostIsDir(m.Source):
			err = r.CreateFile(dst, 0o644)
		default:
			// A bind of a directory and every filesystem mount need a
			// directory; LXC wants create=dir for that, OCI runtimes just
			// make it. Making it is kinder and has no downside here.
			err = r.MkdirAll(dst, 0o755)
		}
		if err != nil {
			return fmt.Errorf("mount %s on %s: %w", m.Source, dst, err)
		}
	}
	target, err := r.Open(dst)
	if err != nil {
		return fmt.Errorf("mount %s on %s: %w", m.Source, dst, err)
	}
	defer unix.Close(target)

	fstype := m.Type
	if bind {
		fstype = ""
	}
	first := o.Flags
	if bind {
		// mount(2) ignores every flag but MS_REC on the first call of a
		// bind; the rest needs a remount.
		first = o.Flags & (unix.MS_BIND | unix.MS_REC)
	}
	if err := unix.Mount(m.Source, fdPath(target), fstype, first, o.Data); err != nil {
		return fmt.Errorf("mount %s on %s (type %q, options %q): %w", m.Source, dst, m.Type, strings.Join(m.Options, ","), err)
	}
	if bind && o.Flags&^(unix.MS_BIND|unix.MS_REC) != 0 || o.Propagation != 0 {
		mounted, err := r.Open(dst)
		if err != nil {
			return err
		}
		defer unix.Close(mounted)
		if bind && o.Flags&^(unix.MS_BIND|unix.MS_REC) != 0 {
			flags := o.Flags&^unix.MS_REC | unix.MS_REMOUNT | unix.MS_BIND
			// The bind keeps what its source enforces, as LXC's does: a
			// remount with only the entry's flags would make a read-only
			// (or nosuid, nodev, noexec) source's bind lose it.
			var sfs unix.Statfs_t
			if err := unix.Fstatfs(mounted, &sfs); err != nil {
				return fmt.Errorf("statfs %s: %w", dst, err)
			}
			flags |= uintptr(sfs.Flags) & (unix.ST_RDONLY | unix.ST_NOSUID | unix.ST_NODEV | unix.ST_NOEXEC)
			if err := unix.Mount("", fdPath(mounted), "", flags, ""); err != nil {
				return fmt.Errorf("remount %s with %q: %w", dst, strings.Join(m.Options, ","), err)
			}
		}
		if o.Propagation != 0 {
			if err := unix.Mount("", fdPath(mounted), "", o.Propagation, ""); err != nil {
				return fmt.Errorf("set propagation of %s: %w", dst, err)
			}
		}
	}
	return nil
}

// ReadOnly makes path read-only; a missing path is skipped. A path that is
// already a mount's root (sysfs on /sys, a bind made for the purpose) is
// remounted read-only in place, so the mount table shows one read-only
// mount, as LXC's does, and what is mounted below it keeps its own flags
// (sys:mixed's writable /sys/devices/virtual/net). Anything else is bound
// onto itself first.
func (r *Root) ReadOnly(path string) error {
	fd, ok := r.openListed(path)
	if !ok {
		return nil
	}
	defer unix.Close(fd)
	if !isMountRoot(fd) {
		if err := unix.Mount(fdPath(fd), fdPath(fd), "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("bind %s read-only: %w", path, err)
		}
	}
	mounted, err := r.Open(path)
	if err != nil {
		return err
	}
	defer unix.Close(mounted)
	flags := uintptr(unix.MS_BIND | unix.MS_REMOUNT | unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC)
	if err := unix.Mount("", fdPath(mounted), "", flags, ""); err != nil {
		return fmt.Errorf("remount %s read-only: %w", path, err)
	}
	return nil
}

// openListed opens (O_PATH) a path of the masked or read-only lists; ok
// is false for one that does not resolve in the root, which the lists
// skip (they name paths a kernel or a distribution may not have).
func (r *Root) openListed(path string) (fd int, ok bool) {
	fd, err := r.openat(path, unix.O_PATH)
	return fd, err == nil
}

// isMountRoot reports whether fd is the root of a mount.
func isMountRoot(fd int) bool {
	var stx unix.Statx_t
	if err := unix.Statx(fd, "", unix.AT_EMPTY_PATH|unix.AT_SYMLINK_NOFOLLOW, 0, &stx); err != nil {
		return false
	}
	return stx.Attributes_mask&unix.STATX_ATTR_MOUNT_ROOT != 0 && stx.Attributes&unix.STATX_ATTR_MOUNT_ROOT != 0
}

// Mask hides path: /dev/null over a file, an empty read-only tmpfs over a
// directory. A missing path is skipped.
func (r *Root) Mask(path string) error {
	fd, ok := r.openListed(path)
	if !ok {
		return nil
	}
	defer unix.Close(fd)
	if isDir(fd) {
		// Room for nothing: one inode (its root) and one page, should
		// it ever be remounted writable ("size=0" means no limit); and
		// nothing on it may be a device, set-user-ID or run.
		flags := uintptr(unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC)
		if err := unix.Mount("tmpfs", fdPath(fd), "tmpfs", flags, "size=4k,nr_inodes=1,mode=0555"); err != nil {
			return fmt.Errorf("mask %s: %w", path, err)
		}
		return nil
	}
	// The container's own /dev/null when there is one: the host's
	// would show the host's devtmpfs in the container's mount table.
	src := "/dev/null"
	if null, nerr := r.Open("/dev/null"); nerr == nil {
		defer unix.Close(null)
		src = fdPath(null)
	}
	if err := unix.Mount(src, fdPath(fd), "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("mask %s: %w", path, err)
	}
	// Read-only, so the mask cannot be written through, nor its inode
	// (the container's /dev/null) chmod'ed or chown'ed.
	if err := r.remountBindReadOnly(path, 0); err != nil {
		return fmt.Errorf("mask %s: %w", path, err)
	}
	return nil
}

// remountBindReadOnly remounts the bind mount just made at path
// read-only, nosuid and noexec, plus extra: the flags its source's mount
// has among nodev and the atime ones stay, as a remount must keep the
// locked ones (mount(2), EPERM in a user namespace).
func (r *Root) remountBindReadOnly(path string, extra uintptr) error {
	mounted, err := r.Open(path)
	if err != nil {
		return err
	}
	defer unix.Close(mounted)
	var st unix.Statfs_t
	if err := unix.Fstatfs(mounted, &st); err != nil {
		return fmt.Errorf("statfs: %w", err)
	}
	keep := uintptr(st.Flags) & (unix.MS_NODEV | unix.MS_NOATIME | unix.MS_NODIRATIME | unix.MS_RELATIME)
	flags := keep | extra | unix.MS_BIND | unix.MS_REMOUNT | unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NOEXEC
	if err := unix.Mount("", fdPath(mounted), "", flags, ""); err != nil {
		return fmt.Errorf("remount read-only: %w", err)
	}
	return nil
}

// Device makes a device node inside the root (character unless d.Type
// says "b" for block or "p" for a FIFO), or, when mknod is not allowed (a
// user namespace), binds the host's node of the same path.
func (r *Root) Device(d specs.LinuxDevice) error {
	dst := filepath.Clean("/" + d.Path)
	if r.Exists(dst) {
		return nil
	}
	dir := filepath.Dir(dst)
	if err := r.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	parent, err := r.openat(dir, unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		return fmt.Errorf("open %s in rootfs: %w", dir, err)
	}
	defer unix.Close(parent)
	mode := uint32(0o666)
	if d.FileMode != nil {
		mode = uint32(d.FileMode.Perm())
	}
	dev := int(unix.Mkdev(uint32(d.Major), uint32(d.Minor)))
	kind := uint32(unix.S_IFCHR)
	switch d.Type {
	case "b":
		kind = unix.S_IFBLK
	case "p":
		kind, dev = unix.S_IFIFO, 0
	}
	err = unix.Mknodat(parent, filepath.Base(dst), kind|mode, dev)
	if err == unix.EPERM {
		if err := r.CreateFile(dst, 0o644); err != nil {
			return err
		}
		return r.Mount(specs.Mount{Source: d.Path, Destination: dst, Type: "bind", Options: []string{"bind"}})
	}
	if err != nil {
		return fmt.Errorf("mknod %s: %w", dst, err)
	}
	// mknod applies the umask; the node's mode is a contract.
	if err := unix.Fchmodat(parent, filepath.Base(dst), mode, 0); err != nil {
		return fmt.Errorf("chmod %s: %w", dst, err)
	}
	return nil
}

// Symlink makes rel a symlink to target unless rel exists.
func (r *Root) Symlink(target, rel string) error {
	rel = filepath.Clean("/" + rel)
	if r.Exists(rel) {
		return nil
	}
	dir := filepath.Dir(rel)
	parent, err := r.openat(dir, unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		return fmt.Errorf("open %s in rootfs: %w", dir, err)
	}
	defer unix.Close(parent)
	if err := unix.Symlinkat(target, parent, filepath.Base(rel)); err != nil && err != unix.EEXIST {
		return fmt.Errorf("symlink %s -> %s: %w", rel, target, err)
	}
	return nil
}

// PivotRoot makes the root the process's "/" and detaches the old one.
// pivot_root(".", ".") stacks the old root on the new one, so no put_old
// directory is needed.
func (r *Root) PivotRoot() error {
	if err := unix.Fchdir(r.fd); err != nil {
		return fmt.Errorf("chdir %s: %w", r.Path, err)
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root %s: %w", r.Path, err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detach old root: %w", err)
	}
	if err := unix.Chdir("/"); err != nil {
		return fmt.Errorf("chdir /: %w", err)
	}
	return nil
}

// ShowAt makes the root, with everything mounted in it so far, reachable
// at target too, for programs that find it by path (the mount hooks of a
// container whose rootfs tree is not at a path its root may walk): a
// recursive bind that shares its mount events with the root's own tree,
// so that what is mounted under target lands in the root. hide undoes it:
// the bind goes and the root's tree is private again, as it was.
func (r *Root) ShowAt(target string) (hide func() error, err error) {
	root := fdPath(r.fd)
	if err := unix.Mount("", root, "", unix.MS_SHARED|unix.MS_REC, ""); err != nil {
		return nil, fmt.Errorf("share the rootfs's mounts: %w", err)
	}
	private := func() error {
		if err := unix.Mount("", root, "", unix.MS_PRIVATE|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("make the rootfs's mounts private: %w", err)
		}
		return nil
	}
	if err := unix.Mount(root, target, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		_ = private()
		return nil, fmt.Errorf("bind the rootfs on %s: %w", target, err)
	}
	return func() error {
		// Out of the peer group first: an unmount of the bind's tree
		// would otherwise take the root's own mounts along.
		if err := unix.Mount("", target, "", unix.MS_PRIVATE|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("make %s private: %w", target, err)
		}
		if err := unix.Unmount(target, unix.MNT_DETACH); err != nil {
			return fmt.Errorf("unmount the rootfs from %s: %w", target, err)
		}
		return private()
	}, nil
}
