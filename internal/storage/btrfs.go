package storage

import (
	"fmt"
	"path/filepath"
	"unsafe"

	"golang.org/x/sys/unix"
)

// btrfs ioctls (linux/btrfs.h): _IOW(0x94, nr, 4096-byte args).
const (
	btrfsIocSubvolCreate  = 0x5000940e // BTRFS_IOC_SUBVOL_CREATE, btrfs_ioctl_vol_args
	btrfsIocSnapCreateV2  = 0x50009417 // BTRFS_IOC_SNAP_CREATE_V2, btrfs_ioctl_vol_args_v2
	btrfsIocSnapDestroy   = 0x5000940f // BTRFS_IOC_SNAP_DESTROY, btrfs_ioctl_vol_args
	btrfsFirstFreeObjecid = 256        // a subvolume's root directory inode
)

// btrfsVolArgs is struct btrfs_ioctl_vol_args.
type btrfsVolArgs struct {
	fd   int64
	name [4088]byte
}

// btrfsVolArgsV2 is struct btrfs_ioctl_vol_args_v2.
type btrfsVolArgsV2 struct {
	fd      int64
	transid uint64
	flags   uint64
	unused  [4]uint64
	name    [4040]byte
}

// IsSubvolume reports whether path is the root of a btrfs subvolume (its
// inode is the subvolume root's, BTRFS_FIRST_FREE_OBJECTID).
func IsSubvolume(path string) bool {
	var st unix.Stat_t
	return OnBtrfs(path) && unix.Lstat(path, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR && st.Ino == btrfsFirstFreeObjecid
}

// setName copies a subvolume's name (one path component) into an ioctl's
// buffer.
func setName(buf []byte, name string) error {
	if name == "" || name == "." || name == ".." || len(name) >= len(buf) || filepath.Base(name) != name {
		return fmt.Errorf("bad subvolume name %q", name)
	}
	copy(buf, name)
	return nil
}

// CreateSubvolume makes path a new, empty btrfs subvolume.
func CreateSubvolume(path string) error {
	parent, err := unix.Open(filepath.Dir(path), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("btrfs subvolume %s: %w", path, err)
	}
	defer unix.Close(parent)
	var args btrfsVolArgs
	if err := setName(args.name[:], filepath.Base(path)); err != nil {
		return err
	}
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(parent), btrfsIocSubvolCreate, uintptr(unsafe.Pointer(&args))); e != 0 {
		return fmt.Errorf("create btrfs subvolume %s: %w", path, e)
	}
	return nil
}

// Snapshot makes dst a writable snapshot of the subvolume src.
func Snapshot(src, dst string) error {
	s, err := unix.Open(src, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("btrfs snapshot of %s: %w", src, err)
	}
	defer unix.Close(s)
	parent, err := unix.Open(filepath.Dir(dst), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("btrfs snapshot to %s: %w", dst, err)
	}
	defer unix.Close(parent)
	args := btrfsVolArgsV2{fd: int64(s)}
	if err := setName(args.name[:], filepath.Base(dst)); err != nil {
		return err
	}
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(parent), btrfsIocSnapCreateV2, uintptr(unsafe.Pointer(&args))); e != 0 {
		return fmt.Errorf("btrfs snapshot of %s to %s: %w", src, dst, e)
	}
	return nil
}

// DeleteSubvolumeAt deletes the subvolume name in the directory dir
// (BTRFS_IOC_SNAP_DESTROY), for kernels whose rmdir refuses an empty
// subvolume.
func DeleteSubvolumeAt(dir int, name string) error {
	var args btrfsVolArgs
	if err := setName(args.name[:], name); err != nil {
		return err
	}
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(dir), btrfsIocSnapDestroy, uintptr(unsafe.Pointer(&args))); e != 0 {
		return e
	}
	return nil
}
