package storage

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// A rootfs's files are the container's, hence hostile: the copier walks
// it one name at a time from directory descriptors (openat with
// O_NOFOLLOW, every object checked to be what lstat said), so no symlink,
// planted or swapped in during the copy, leads it out of the tree; device
// nodes are recreated with mknod, never opened; and the destination is a
// tree it makes itself, so nothing there is followed either.

// CopyTree copies the tree under the directory src into the empty
// directory dst: ownership, modes, xattrs (ACLs are xattrs), times,
// hardlinks, device nodes, fifos, sockets and sparse holes kept; a file
// is reflinked (FICLONE) where the filesystem can. It stays on src's
// mount, by RemoveTree's rule (mountOf): a mount point, a bind mount of
// the same filesystem among them, is copied as an empty directory.
func CopyTree(src, dst string) error {
	s, err := OpenDirNoFollow(src)
	if err != nil {
		return err
	}
	defer unix.Close(s)
	d, err := OpenDirNoFollow(dst)
	if err != nil {
		return err
	}
	defer unix.Close(d)
	return CopyTreeFD(s, d, src)
}

// OpenDirNoFollow opens path, whose last component must be a directory
// and not a symlink (a rootfs that is a link to a host tree is refused).
func OpenDirNoFollow(path string) (int, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR) {
		return -1, fmt.Errorf("%s is not a directory (a symbolic link is not followed)", path)
	}
	if err != nil {
		return -1, fmt.Errorf("open %s: %w", path, err)
	}
	return fd, nil
}

// CopyTreeFD copies the tree of directory descriptor src into dst; name
// is src's path for messages.
func CopyTreeFD(src, dst int, name string) error {
	// A mount's descriptor (fsmount, open_tree) is an O_PATH one, which
	// can be neither read nor chowned: its root opened for real.
	var err error
	if src, err = unix.Openat(src, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0); err != nil {
		return fmt.Errorf("open %s: %w", name, err)
	}
	defer unix.Close(src)
	if dst, err = unix.Openat(dst, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0); err != nil {
		return fmt.Errorf("open the copy of %s: %w", name, err)
	}
	defer unix.Close(dst)
	c := &copier{links: map[[2]uint64]string{}, buf: make([]byte, 1<<20), top: name}
	var st unix.Stat_t
	if err := unix.Fstat(src, &st); err != nil {
		return fmt.Errorf("stat %s: %w", name, err)
	}
	if c.mount, err = mountOf(src, ""); err != nil {
		return fmt.Errorf("statx %s: %w", name, err)
	}
	c.root = dst
	if err := c.dir(src, dst); err != nil {
		return err
	}
	return c.meta(dst, -1, "", &st, name)
}

// MaxCopyDepth is how deep a tree the copier descends: each level holds
// three descriptors, and no real rootfs comes near it; a deeper one (a
// container's way to exhaust the copier) is refused.
const MaxCopyDepth = 4096

type copier struct {
	// links maps a source inode with more than one link to the first
	// path (relative to the tree) it was copied to.
	links map[[2]uint64]string
	root  int // destination root, for linkat
	buf   []byte
	// mount is the tree's mount: a directory on another (a mount
	// point) is copied empty, as LXC's copies (rsync --one-file-system)
	// do; what is mounted there is not the container's. A bind mount
	// of the tree's own filesystem is another mount too (rsync's
	// device test would descend it).
	mount mountID
	// top is the tree's name for messages and stack the names of the
	// directories being copied below it: a path is spelled only when
	// needed (an error, a hardlink), so a deep tree costs memory in
	// proportion to its depth, not to its depth squared.
	top   string
	stack []string
}

// rel is the path of n, in the directory being copied, relative to the
// tree.
func (c *copier) rel(n string) string {
	return strings.Join(append(c.stack[:len(c.stack):len(c.stack)], n), "/")
}

// path is the path of n for messages.
func (c *copier) path(n string) string { return c.top + "/" + c.rel(n) }

func (c *copier) dir(src, dst int) error {
	f, err := dirFile(src)
	if err != nil {
		return fmt.Errorf("read %s: %w", c.dirName(), err)
	}
	defer f.Close()
	for {
		names, err := f.Readdirnames(256)
		for _, n := range names {
			if err := c.entry(src, dst, n); err != nil {
				return err
			}
		}
		if err == io.EOF || len(names) == 0 {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", c.dirName(), err)
		}
	}
}

// dirName is the path of the directory being copied, for messages.
func (c *copier) dirName() string {
	if len(c.stack) == 0 {
		return c.top
	}
	return c.top + "/" + strings.Join(c.stack, "/")
}

func (c *copier) entry(sdir, ddir int, n string) error {
	var st unix.Stat_t
	if err := unix.Fstatat(sdir, n, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("stat %s: %w", c.path(n), err)
	}
	typ := st.Mode & unix.S_IFMT
	if typ != unix.S_IFDIR && st.Nlink > 1 {
		key := [2]uint64{st.Dev, st.Ino}
		if first, ok := c.links[key]; ok {
			if err := unix.Linkat(c.root, first, ddir, n, 0); err != nil {
				return fmt.Errorf("link %s: %w", c.path(n), err)
			}
			return nil
		}
		c.links[key] = c.rel(n)
	}
	if typ == unix.S_IFDIR {
		return c.subdir(sdir, ddir, n, &st)
	}
	name := c.path(n)
	switch typ {
	case unix.S_IFREG:
		// O_NONBLOCK: a fifo swapped in after the lstat does not hang
		// the open (and is then refused by sameObject).
		s, err := unix.Openat(sdir, n, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("open %s: %w", name, err)
		}
		defer unix.Close(s)
		if err := sameObject(s, &st, name); err != nil {
			return err
		}
		d, err := unix.Openat(ddir, n, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
		if err != nil {
			return fmt.Errorf("create copy of %s: %w", name, err)
		}
		defer unix.Close(d)
		if err := c.data(s, d, st.Size, name); err != nil {
			return err
		}
		return c.meta(d, s, "", &st, name)
	case unix.S_IFLNK:
		target := make([]byte, unix.PathMax)
		k, err := unix.Readlinkat(sdir, n, target)
		if err != nil {
			return fmt.Errorf("readlink %s: %w", name, err)
		}
		if err := unix.Symlinkat(string(target[:k]), ddir, n); err != nil {
			return fmt.Errorf("symlink %s: %w", name, err)
		}
		return c.metaPath(sdir, ddir, n, &st, name)
	case unix.S_IFCHR, unix.S_IFBLK, unix.S_IFIFO, unix.S_IFSOCK:
		// Made anew, never opened: opening a device runs its driver.
		if err := unix.Mknodat(ddir, n, st.Mode&unix.S_IFMT|0o600, int(st.Rdev)); err != nil {
			return fmt.Errorf("mknod %s: %w", name, err)
		}
		return c.metaPath(sdir, ddir, n, &st, name)
	}
	return fmt.Errorf("%s: unknown file type %#o", name, typ)
}

// subdir copies the directory n of sdir (lstat st) into ddir.
func (c *copier) subdir(sdir, ddir int, n string, st *unix.Stat_t) error {
	if len(c.stack) >= MaxCopyDepth {
		return fmt.Errorf("copy %s: deeper than %d directories: refused", c.path(n), MaxCopyDepth)
	}
	s, err := unix.Openat(sdir, n, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", c.path(n), err)
	}
	defer unix.Close(s)
	if err := sameObject(s, st, c.path(n)); err != nil {
		return err
	}
	d, err := c.mkdir(ddir, n)
	if err != nil {
		return err
	}
	defer unix.Close(d)
	m, err := mountOf(s, "")
	if err != nil {
		return fmt.Errorf("statx %s: %w", c.path(n), err)
	}
	if m.same(c.mount) {
		c.stack = append(c.stack, n)
		err := c.dir(s, d)
		c.stack = c.stack[:len(c.stack)-1]
		if err != nil {
			return err
		}
	}
	return c.meta(d, s, "", st, c.path(n))
}

// mkdir makes the copy of directory n in ddir and opens it. mkfs.ext4
// leaves an empty lost+found at the top of a fresh image: the source's
// is merged into that one (the top of the copy is a tree the copier was
// handed, so only there can a name already exist).
func (c *copier) mkdir(ddir int, n string) (int, error) {
	err := unix.Mkdirat(ddir, n, 0o700)
	merge := errors.Is(err, unix.EEXIST) && len(c.stack) == 0 && n == "lost+found"
	if err != nil && !merge {
		return -1, fmt.Errorf("mkdir %s: %w", c.path(n), err)
	}
	d, err := unix.Openat(ddir, n, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("open copy of %s: %w", c.path(n), err)
	}
	if merge {
		if empty, err := emptyDir(d); err != nil || !empty {
			unix.Close(d)
			return -1, fmt.Errorf("mkdir %s: the destination has a %s that is not empty", c.path(n), n)
		}
	}
	return d, nil
}

// emptyDir reports whether the directory fd has no entries.
func emptyDir(fd int) (bool, error) {
	f, err := dirFile(fd)
	if err != nil {
		return false, err
	}
	defer f.Close()
	names, err := f.Readdirnames(1)
	if err == io.EOF {
		return true, nil
	}
	return len(names) == 0, err
}

// sameObject checks that fd is the object lstat saw: a name swapped for a
// link or another file between the two is refused.
func sameObject(fd int, want *unix.Stat_t, name string) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("stat %s: %w", name, err)
	}
	if st.Dev != want.Dev || st.Ino != want.Ino || st.Mode&unix.S_IFMT != want.Mode&unix.S_IFMT {
		return fmt.Errorf("%s changed while being copied", name)
	}
	return nil
}

// data copies a regular file's bytes: a reflink where the filesystem
// can, else extent by extent (SEEK_DATA/SEEK_HOLE), leaving holes holes.
func (c *copier) data(s, d int, size int64, name string) error {
	if size == 0 {
		return nil
	}
	if unix.IoctlFileClone(d, s) == nil {
		return nil
	}
	if err := unix.Ftruncate(d, size); err != nil {
		return fmt.Errorf("copy %s: %w", name, err)
	}
	for off := int64(0); off < size; {
		start, err := unix.Seek(s, off, unix.SEEK_DATA)
		if errors.Is(err, unix.ENXIO) {
			return nil // only a hole is left
		}
		if err != nil {
			start = off // no SEEK_DATA: copy everything
		}
		end, err := unix.Seek(s, start, unix.SEEK_HOLE)
		if err != nil || end > size {
			end = size
		}
		if err := c.extent(s, d, start, end, name); err != nil {
			return err
		}
		off = end
	}
	return nil
}

func (c *copier) extent(s, d int, start, end int64, name string) error {
	for start < end {
		so, do := start, start
		n, err := unix.CopyFileRange(s, &so, d, &do, int(min(end-start, 1<<30)), 0)
		if err == nil && n > 0 {
			start += int64(n)
			continue
		}
		if err == nil {
			return fmt.Errorf("copy %s: file shrank while being copied", name)
		}
		// Across filesystems copy_file_range may refuse: plain reads.
		k, rerr := unix.Pread(s, c.buf[:min(int64(len(c.buf)), end-start)], start)
		if rerr != nil {
			return fmt.Errorf("read %s: %w", name, rerr)
		}
		if k == 0 {
			return fmt.Errorf("copy %s: file shrank while being copied", name)
		}
		if _, werr := unix.Pwrite(d, c.buf[:k], start); werr != nil {
			return fmt.Errorf("write copy of %s: %w", name, werr)
		}
		start += int64(k)
	}
	return nil
}

// meta gives the copy d (an open descriptor) the source's owner, mode,
// xattrs and times. s is the source's descriptor (-1: none, the top).
// Order matters: chown clears set-id bits and file capabilities, so mode
// and xattrs come after it; a POSIX ACL, set last, keeps the mode's bits
// in step.
func (c *copier) meta(d, s int, _ string, st *unix.Stat_t, name string) error {
	if err := unix.Fchown(d, int(st.Uid), int(st.Gid)); err != nil {
		return fmt.Errorf("chown copy of %s: %w", name, err)
	}
	if err := unix.Fchmod(d, st.Mode&0o7777); err != nil {
		return fmt.Errorf("chmod copy of %s: %w", name, err)
	}
	if s >= 0 {
		if err := copyXattrs(fdPath(s), fdPath(d), name); err != nil {
			return err
		}
	}
	ts := []unix.Timespec{st.Atim, st.Mtim}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, fdPath(d), ts, 0); err != nil {
		return fmt.Errorf("set times of copy of %s: %w", name, err)
	}
	return nil
}

// metaPath is meta for what cannot be opened (symlinks, devices, fifos,
// sockets): O_PATH descriptors, their xattrs through /proc/self/fd
// (which names the object itself, not what a link points to).
func (c *copier) metaPath(sdir, ddir int, n string, st *unix.Stat_t, name string) error {
	if err := unix.Fchownat(ddir, n, int(st.Uid), int(st.Gid), unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("chown copy of %s: %w", name, err)
	}
	link := st.Mode&unix.S_IFMT == unix.S_IFLNK
	if !link {
		if err := unix.Fchmodat(ddir, n, st.Mode&0o7777, 0); err != nil {
			return fmt.Errorf("chmod copy of %s: %w", name, err)
		}
	}
	s, err := unix.Openat(sdir, n, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", name, err)
	}
	defer unix.Close(s)
	if err := sameObject(s, st, name); err != nil {
		return err
	}
	d, err := unix.Openat(ddir, n, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open copy of %s: %w", name, err)
	}
	defer unix.Close(d)
	if link {
		// A link's own xattrs (trusted.*, security.*), by its name in
		// its verified parent, never followed (the l* calls).
		if err := copyXattrsWith(fdPath(sdir)+"/"+n, fdPath(ddir)+"/"+n, name, unix.Llistxattr, unix.Lgetxattr, unix.Lsetxattr); err != nil {
			return err
		}
	} else if err := copyXattrs(fdPath(s), fdPath(d), name); err != nil {
		return err
	}
	ts := []unix.Timespec{st.Atim, st.Mtim}
	if err := unix.UtimesNanoAt(ddir, n, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("set times of copy of %s: %w", name, err)
	}
	return nil
}

func fdPath(fd int) string { return "/proc/self/fd/" + strconv.Itoa(fd) }

// copyXattrs copies every extended attribute of src to dst (paths of
// descriptors under /proc/self/fd).
func copyXattrs(src, dst, name string) error {
	return copyXattrsWith(src, dst, name, unix.Listxattr, unix.Getxattr, unix.Setxattr)
}

func copyXattrsWith(src, dst, name string,
	list func(string, []byte) (int, error),
	get func(string, string, []byte) (int, error),
	set func(string, string, []byte, int) error) error {
	size, err := list(src, nil)
	if errors.Is(err, unix.ENOTSUP) {
		return nil // a filesystem without xattrs has none to copy
	}
	if err != nil {
		return fmt.Errorf("list xattrs of %s: %w", name, err)
	}
	if size == 0 {
		return nil
	}
	names := make([]byte, size)
	if size, err = list(src, names); err != nil {
		return fmt.Errorf("list xattrs of %s: %w", name, err)
	}
	for _, attr := range strings.Split(strings.TrimRight(string(names[:size]), "\x00"), "\x00") {
		if attr == "" {
			continue
		}
		vs, err := get(src, attr, nil)
		if errors.Is(err, unix.ENODATA) {
			continue
		}
		if err != nil {
			return fmt.Errorf("read xattr %s of %s: %w", attr, name, err)
		}
		val := make([]byte, vs)
		if vs, err = get(src, attr, val); err != nil {
			return fmt.Errorf("read xattr %s of %s: %w", attr, name, err)
		}
		if err := set(dst, attr, val[:vs], 0); err != nil {
			return fmt.Errorf("set xattr %s on copy of %s: %w", attr, name, err)
		}
	}
	return nil
}
