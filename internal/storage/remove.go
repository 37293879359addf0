package storage

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/golxc/golxc/internal/mountinfo"
	"golang.org/x/sys/unix"
)

// A container's directory is removed by a walk that never leaves the
// mount it starts on: what someone mounted under it (a bind mount of
// host data into the rootfs, left behind) is not the container's to
// delete. The walk is descriptor-based (openat O_NOFOLLOW, unlinkat), so
// a symlink in the tree is removed, never followed.

// MountPointError is a removal that met a mount point: it was left in
// place with everything under it.
type MountPointError struct{ Path string }

func (e *MountPointError) Error() string {
	return e.Path + " is a mount point: unmount it first"
}

// RemoveTree removes path and everything under it on path's own mount,
// as rm -r --one-file-system does. A directory on another mount is left
// whole and the removal fails with a *MountPointError naming the first
// one (everything else is removed). A btrfs subvolume under path is on
// the same mount and goes too. path missing is no error.
func RemoveTree(path string) error {
	path = filepath.Clean(path)
	parent, err := unix.Open(filepath.Dir(path), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return &os.PathError{Op: "open", Path: filepath.Dir(path), Err: err}
	}
	defer unix.Close(parent)
	return RemoveAt(parent, filepath.Base(path), filepath.Dir(path))
}

// RemoveAt is RemoveTree for base, a name in the directory parent (a
// descriptor, O_PATH will do, that stays the caller's): for a tree
// reached through descriptors only, such as a rootfs being unpacked.
// dir is parent's path, for messages.
func RemoveAt(parent int, base, dir string) error {
	if base == "" || base == "." || base == ".." || strings.ContainsRune(base, '/') {
		// One name, or the lstat below would follow the links of a path.
		return fmt.Errorf("remove %q in %s: not a single name", base, dir)
	}
	path := filepath.Join(dir, base)
	var st unix.Stat_t
	if err := unix.Fstatat(parent, base, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil
		}
		return &os.PathError{Op: "lstat", Path: path, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		if err := unix.Unlinkat(parent, base, 0); err != nil && !errors.Is(err, unix.ENOENT) {
			return &os.PathError{Op: "remove", Path: path, Err: err}
		}
		return nil
	}
	top, err := mountOf(parent, base)
	if err != nil {
		return &os.PathError{Op: "statx", Path: path, Err: err}
	}
	up, err := mountOf(parent, ".")
	if err != nil {
		return &os.PathError{Op: "statx", Path: dir, Err: err}
	}
	if !top.same(up) {
		return &MountPointError{Path: path}
	}
	r := &remover{top: top, path: []*frame{{name: dir, fd: parent}}}
	r.entry(base, &st)
	if r.mount != "" {
		return &MountPointError{Path: r.mount}
	}
	return r.err
}

// mountID is what tells one mount from another, for the remover and the
// copier alike: the mount id (statx STATX_MNT_ID), which tells a bind
// mount from the filesystem it binds (they share a device number), or
// on a kernel without it the device number, a btrfs subvolume's root
// counted as its parent's (it has a device of its own on the same mount).
type mountID struct {
	mnt  bool
	id   uint64
	subv bool // fallback only: the root of a btrfs subvolume
}

func (a mountID) same(b mountID) bool {
	return a.id == b.id || !a.mnt && (a.subv || b.subv)
}

// mountOf is the mount of name in the directory dir, or with name "" of
// dir itself.
func mountOf(dir int, name string) (mountID, error) {
	flags := unix.AT_SYMLINK_NOFOLLOW | unix.AT_NO_AUTOMOUNT
	if name == "" {
		flags |= unix.AT_EMPTY_PATH
	}
	var sx unix.Statx_t
	if err := unix.Statx(dir, name, flags, unix.STATX_MNT_ID|unix.STATX_INO, &sx); err != nil {
		return mountID{}, err
	}
	if sx.Mask&unix.STATX_MNT_ID != 0 {
		return mountID{mnt: true, id: sx.Mnt_id}, nil
	}
	id := mountID{id: unix.Mkdev(sx.Dev_major, sx.Dev_minor)}
	if sx.Ino == btrfsFirstFreeObjecid {
		var fs unix.Statfs_t
		fd, err := dir, error(nil)
		if name != "" {
			if fd, err = unix.Openat(dir, name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0); err == nil {
				defer unix.Close(fd)
			}
		}
		id.subv = err == nil && unix.Fstatfs(fd, &fs) == nil && fs.Type == unix.BTRFS_SUPER_MAGIC
	}
	return id, nil
}

// A tree in a rootfs can be far deeper than a process may hold
// descriptors (a container can nest directories without end): the walk
// keeps open only the deepest removeWindow directories and one in every
// removeCheckpoint, and reopens a closed one from the nearest open
// ancestor, name by name, each checked to be the directory it was.
const (
	removeWindow     = 64
	removeCheckpoint = 256
)

type remover struct {
	top   mountID
	mount string // the first mount point met
	err   error  // the first other error
	// path is the directory being emptied and its ancestors up to the
	// top's parent (path[0], the caller's, always open).
	path []*frame
}

type frame struct {
	name     string
	dev, ino uint64
	fd       int // -1: closed for now
}

func (r *remover) fail(op, path string, err error) {
	if r.err == nil {
		r.err = &os.PathError{Op: op, Path: path, Err: err}
	}
}

// dirFD is the descriptor of path[i], reopened if it was closed.
func (r *remover) dirFD(i int) (int, error) {
	j := i
	for r.path[j].fd < 0 {
		j--
	}
	for k := j + 1; k <= i; k++ {
		f := r.path[k]
		fd, err := unix.Openat(r.path[k-1].fd, f.name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return -1, swapped(err)
		}
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil || st.Dev != f.dev || st.Ino != f.ino {
			unix.Close(fd)
			return -1, errChanged
		}
		f.fd = fd
	}
	return r.path[i].fd, nil
}

// push makes f the directory being emptied, closing the one that falls
// out of the window (unless a checkpoint).
func (r *remover) push(f *frame) {
	r.path = append(r.path, f)
	if e := len(r.path) - 1 - removeWindow; e > 0 && e%removeCheckpoint != 0 && r.path[e].fd >= 0 {
		unix.Close(r.path[e].fd)
		r.path[e].fd = -1
	}
}

func (r *remover) pop() {
	if f := r.path[len(r.path)-1]; f.fd >= 0 {
		unix.Close(f.fd)
	}
	r.path = r.path[:len(r.path)-1]
}

// pathOf is the path of n in the directory being emptied, for messages:
// spelled only when needed, a deep tree's paths would cost memory
// quadratic in its depth.
func (r *remover) pathOf(n string) string {
	parts := make([]string, 0, len(r.path)+1)
	for _, f := range r.path {
		parts = append(parts, f.name)
	}
	return filepath.Join(append(parts, n)...)
}

// entry removes the name n of the directory being emptied, whose lstat
// is st.
func (r *remover) entry(n string, st *unix.Stat_t) {
	depth := len(r.path) - 1
	dir, err := r.dirFD(depth)
	if err != nil {
		r.fail("open", r.pathOf(""), err)
		return
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		// EISDIR: what the walk saw as a file or link is a directory
		// now (swapped back): left alone, as any other swap.
		if err := unix.Unlinkat(dir, n, 0); errors.Is(err, unix.EISDIR) {
			r.fail("remove", r.pathOf(n), errChanged)
		} else if err != nil && !errors.Is(err, unix.ENOENT) {
			r.fail("remove", r.pathOf(n), err)
		}
		return
	}
	m, err := mountOf(dir, n)
	if errors.Is(err, unix.ENOENT) {
		return
	}
	if err != nil {
		r.fail("statx", r.pathOf(n), err)
		return
	}
	if !m.same(r.top) {
		if r.mount == "" {
			r.mount = r.pathOf(n)
		}
		return
	}
	fd, err := unix.Openat(dir, n, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOENT) {
		return
	}
	if err != nil {
		r.fail("open", r.pathOf(n), swapped(err))
		return
	}
	// A name swapped between the lstat and the open is left alone.
	var now unix.Stat_t
	if err := unix.Fstat(fd, &now); err != nil || now.Dev != st.Dev || now.Ino != st.Ino {
		unix.Close(fd)
		r.fail("open", r.pathOf(n), errChanged)
		return
	}
	names, err := ReadNames(fd)
	if err != nil {
		unix.Close(fd)
		r.fail("read", r.pathOf(n), err)
		return
	}
	r.push(&frame{name: n, dev: now.Dev, ino: now.Ino, fd: fd})
	for _, c := range names {
		cfd, err := r.dirFD(depth + 1)
		if err != nil {
			r.fail("open", r.pathOf(""), err)
			break
		}
		var cst unix.Stat_t
		if err := unix.Fstatat(cfd, c, &cst, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			if !errors.Is(err, unix.ENOENT) {
				r.fail("lstat", r.pathOf(c), err)
			}
			continue
		}
		r.entry(c, &cst)
	}
	r.pop()
	if dir, err = r.dirFD(depth); err != nil {
		r.fail("open", r.pathOf(""), err)
		return
	}
	err = swapped(unix.Unlinkat(dir, n, unix.AT_REMOVEDIR))
	if errors.Is(err, unix.EPERM) && now.Ino == btrfsFirstFreeObjecid {
		// An empty subvolume is removed by rmdir on kernels since 4.18;
		// before, only by the ioctl.
		err = DeleteSubvolumeAt(dir, n)
	}
	if err != nil && !errors.Is(err, unix.ENOENT) && (r.mount == "" || !errors.Is(err, unix.ENOTEMPTY) && !errors.Is(err, unix.EBUSY)) {
		r.fail("remove", r.pathOf(n), err)
	}
}

// errChanged is a name found to be another object than the one the
// walk saw (a directory swapped for a link, or for another directory):
// the removal stops short of it rather than follow.
var errChanged = errors.New("changed while being removed")

// swapped turns the errors of an O_NOFOLLOW|O_DIRECTORY open or an rmdir
// that met something other than a directory where the walk saw one
// (ELOOP: a symlink; ENOTDIR) into errChanged.
func swapped(err error) error {
	if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR) {
		return errChanged
	}
	return err
}

// ReadNames reads every name in the directory fd, which stays the
// caller's (O_PATH will do).
func ReadNames(fd int) ([]string, error) {
	f, err := dirFile(fd)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.Readdirnames(-1)
}

// dirFile opens the directory fd anew, for reading its entries: a File
// of its own to close (fd stays the caller's) with an offset of its own.
func dirFile(fd int) (*os.File, error) {
	d, err := unix.Openat(fd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(d), ""), nil
}

// MountsUnder lists the mount points of this mount namespace that are dir
// or under it (/proc/self/mountinfo), spelled under dir as given, the
// shallowest first.
func MountsUnder(dir string) ([]string, error) {
	real, err := filepath.EvalSymlinks(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil // nothing there, nothing mounted there
	}
	if err != nil {
		return nil, err
	}
	mounts, err := mountinfo.Self()
	if err != nil {
		return nil, err
	}
	var out []string
	seen := map[string]bool{}
	for _, m := range mounts {
		if m.Point != real && !strings.HasPrefix(m.Point, strings.TrimSuffix(real, "/")+"/") {
			continue
		}
		p := filepath.Join(dir, strings.TrimPrefix(m.Point, real))
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if a, b := strings.Count(out[i], "/"), strings.Count(out[j], "/"); a != b {
			return a < b
		}
		return out[i] < out[j]
	})
	return out, nil
}
