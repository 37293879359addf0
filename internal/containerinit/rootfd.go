package containerinit

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/golxc/golxc/internal/namespace"
)

// rootTree makes, on the host's side, the root of a container with a
// user namespace: a detached clone of the rootfs's mount tree, idmapped
// through the user namespace idmap names when it names one. The stage, as
// the mapped root, could neither make an idmapped mount nor, often, walk
// the path to its rootfs (an lxcpath only host root may enter); the
// descriptor spares it both (see attachRoot).
func rootTree(dir string, pid int, idmap string) (int, error) {
	tree, err := unix.OpenTree(unix.AT_FDCWD, dir, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_RECURSIVE)
	if err != nil {
		return -1, fmt.Errorf("clone the mount of rootfs %s: %w", dir, err)
	}
	if idmap != "" {
		if err := idmapTree(tree, dir, pid, idmap); err != nil {
			unix.Close(tree)
			return -1, err
		}
	}
	return tree, nil
}

// fsNames names the filesystems a rootfs is most often on, for the
// message of one that cannot be idmapped (statfs(2)'s magic numbers).
var fsNames = map[int64]string{
	unix.EXT4_SUPER_MAGIC: "ext4", unix.XFS_SUPER_MAGIC: "xfs", unix.BTRFS_SUPER_MAGIC: "btrfs",
	unix.TMPFS_MAGIC: "tmpfs", unix.OVERLAYFS_SUPER_MAGIC: "overlay", unix.NFS_SUPER_MAGIC: "nfs",
	unix.FUSE_SUPER_MAGIC: "fuse",
}

// attachRoot attaches the detached tree the parent made (rootTree) in the
// stage's own mount namespace and returns a descriptor of its root, the
// container's root from now on. A mount is attached only in the caller's
// mount namespace, and "/" is the one place of it the stage surely
// reaches: the tree goes on top of it, where pivot_root then takes it.
func attachRoot(tree int) (int, error) {
	if err := unix.MoveMount(tree, "", unix.AT_FDCWD, "/", unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return -1, fmt.Errorf("attach the rootfs mount: %w", err)
	}
	fd, err := unix.FcntlInt(uintptr(tree), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("dup rootfs descriptor: %w", err)
	}
	return fd, nil
}

// idmapTree makes tree an idmapped mount through the user namespace of
// process pid ("container") or of the namespace file idmap.
func idmapTree(tree int, dir string, pid int, idmap string) error {
	path := idmap
	if idmap == "container" {
		path = "/proc/" + strconv.Itoa(pid) + "/ns/user"
	}
	userns, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open user namespace %s for the rootfs's idmapped mount: %w", path, err)
	}
	defer unix.Close(userns)
	attr := &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_IDMAP, Userns_fd: uint64(userns)}
	err = unix.MountSetattr(tree, "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, attr)
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.EOPNOTSUPP) {
		var fs unix.Statfs_t
		fsName := "its filesystem"
		if unix.Fstatfs(tree, &fs) == nil {
			fsName = fmt.Sprintf("its filesystem (magic %#x)", fs.Type)
			if n, ok := fsNames[fs.Type]; ok {
				fsName = "its filesystem (" + n + ")"
			}
		}
		return fmt.Errorf("idmapped mount of rootfs %s: %s does not support idmapped mounts (%w): give the rootfs to the mapped ids instead (lxc-create of a container with lxc.idmap does)", dir, fsName, err)
	}
	if err != nil {
		return fmt.Errorf("idmapped mount of rootfs %s: %w", dir, err)
	}
	return nil
}

// userRoot is the stage's first step when a user other than root spawned
// it (message.BecomeRoot): while it still acts as that user on the host
// (its maps are written, but it has not switched ids yet), it clones the
// mount of the rootfs, whose path only that user may be able to walk (a
// home directory), in its own mount namespace; then it becomes the
// namespace's root. It returns the detached tree (-1 without a rootfs),
// which attachRoot attaches as for root's start.
func userRoot(spec *Spec) (int, error) {
	tree := -1
	if r := spec.OCI.Root; r != nil && r.Path != "" {
		// The clone's source must be a mount of this namespace, and
		// nothing done here may propagate to the host's.
		if err := unix.Mount("", "/", "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
			return -1, fmt.Errorf("make / rslave: %w", err)
		}
		var err error
		if tree, err = unix.OpenTree(unix.AT_FDCWD, r.Path, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_RECURSIVE); err != nil {
			return -1, fmt.Errorf("clone the mount of rootfs %s: %w", r.Path, err)
		}
	}
	// A detached stage (every monitor's: init outlives its monitor) has
	// no parent-death signal to keep.
	death := syscall.SIGKILL
	if os.Getenv(detachedEnv) == "1" {
		death = 0
	}
	if err := namespace.BecomeRoot(death); err != nil {
		if tree >= 0 {
			unix.Close(tree)
		}
		return -1, err
	}
	// The switch of ids cleared the parent-death signal until it was set
	// again: a monitor that died in between has closed its end of the
	// sync socket (its pid cannot tell: it is outside this pid namespace).
	fds := []unix.PollFd{{Fd: syncFD, Events: unix.POLLRDHUP}}
	if n, err := unix.Poll(fds, 0); err == nil && n > 0 && fds[0].Revents&(unix.POLLHUP|unix.POLLRDHUP) != 0 {
		if tree >= 0 {
			unix.Close(tree)
		}
		return -1, errors.New("init stage: the monitor is gone")
	}
	return tree, nil
}
