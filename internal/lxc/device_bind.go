package lxc

import (
	"errors"
	"fmt"
	"runtime"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/golxc/golxc/internal/namespace"
)

// A container with a user namespace of its own (lxc.idmap) cannot use a
// device node made in its /dev: that filesystem was mounted in its user
// namespace, so the kernel marks it SB_I_NODEV and refuses to open any
// node on it (may_open_dev). As LXC does for the nodes of an unprivileged
// container's /dev, lxc-device binds the host's node instead: an empty
// file owned by the container's root is made at the path inside, and a
// detached clone of the host's node (open_tree) is moved onto it, from a
// thread that has joined the container's mount namespace.

// errNotBound is returned by unbindDeviceNode when nothing is mounted at
// the path: a node the container made there itself.
var errNotBound = errors.New("not a bind mount")

// inMountNamespace runs fn on a thread of its own that has joined the
// mount namespace mntns. The thread is never handed back to the Go
// runtime: it exits with the goroutine, so no other code ever runs in the
// container's mount namespace, or with the fsuid fn may set.
func inMountNamespace(mntns int, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_FS); err != nil {
			errc <- fmt.Errorf("unshare CLONE_FS: %w", err)
			return
		}
		if err := unix.Setns(mntns, unix.CLONE_NEWNS); err != nil {
			errc <- fmt.Errorf("join the container's mount namespace: %w", err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}

// bindDeviceNode binds the host's node src (whose stat is st) at base in
// dir, a directory of the container's opened through its root, dst being
// its path inside (for messages). The mount point is made with O_EXCL
// and O_NOFOLLOW, and the mount goes onto that file's descriptor: nothing
// the container planted at dst is followed, and the mount can only land
// in the container's own mount namespace.
func (c *Container) bindDeviceNode(proc *namespace.Proc, src string, st *unix.Stat_t, dir int, base, dst string) error {
	tree, err := unix.OpenTree(unix.AT_FDCWD, src, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	if err != nil {
		return fmt.Errorf("clone the mount of %s: %w", src, err)
	}
	defer unix.Close(tree)
	var got unix.Stat_t
	if err := unix.Fstat(tree, &got); err != nil {
		return fmt.Errorf("stat %s: %w", src, err)
	}
	if got.Mode&unix.S_IFMT != st.Mode&unix.S_IFMT || got.Rdev != st.Rdev {
		return fmt.Errorf("%s changed while it was being added", src)
	}
	uid, gid, err := proc.RootIDs()
	if err != nil {
		return err
	}
	// Only into a mount namespace of the container's own: one it shares
	// with the host (lxc.namespace.keep, share) would get the mount.
	if same, err := proc.SharesNamespace("mnt"); err != nil {
		return fmt.Errorf("container %s's init: %w", c.Name, err)
	} else if same {
		return fmt.Errorf("container %s shares lxc-device's mount namespace: no node is bound into it", c.Name)
	}
	mntns, err := proc.OpenNamespace("mnt")
	if err != nil {
		return err
	}
	defer unix.Close(mntns)
	return inMountNamespace(mntns, func() error {
		// Made as the container's root: a filesystem of its user
		// namespace has no inode owner for host root.
		// setfsuid and setfsgid say nothing of a failure but the ids
		// they leave: read back.
		_, _ = unix.SetfsgidRetGid(int(gid))
		if now, _ := unix.SetfsgidRetGid(-1); now != int(gid) {
			return fmt.Errorf("setfsgid %d: still %d", gid, now)
		}
		_, _ = unix.SetfsuidRetUid(int(uid))
		if now, _ := unix.SetfsuidRetUid(-1); now != int(uid) {
			return fmt.Errorf("setfsuid %d: still %d", uid, now)
		}
		fd, err := unix.Openat(dir, base, unix.O_CREAT|unix.O_EXCL|unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("make %s in %s: %w", dst, c.Name, err)
		}
		defer unix.Close(fd)
		if err := unix.MoveMount(tree, "", fd, "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH); err != nil {
			_ = unix.Unlinkat(dir, base, 0)
			return fmt.Errorf("bind %s on %s in %s: %w", src, dst, c.Name, err)
		}
		return nil
	})
}

// unbindDeviceNode unmounts the node bound at base in dir and removes its
// mount point; errNotBound when nothing is mounted there.
func (c *Container) unbindDeviceNode(proc *namespace.Proc, dir int, base, dst string) error {
	fd, err := unix.Openat(dir, base, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("%s in %s: %w", dst, c.Name, err)
	}
	defer unix.Close(fd)
	// umount(2) takes a path only: the descriptor's, through the host's
	// /proc (the container's /proc is its own to fake).
	hostProc, err := unix.Open("/proc", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open /proc: %w", err)
	}
	defer unix.Close(hostProc)
	mntns, err := proc.OpenNamespace("mnt")
	if err != nil {
		return err
	}
	defer unix.Close(mntns)
	err = inMountNamespace(mntns, func() error {
		if err := unix.Fchdir(hostProc); err != nil {
			return fmt.Errorf("chdir to the host's /proc: %w", err)
		}
		err := unix.Unmount("self/fd/"+strconv.Itoa(fd), unix.MNT_DETACH)
		if errors.Is(err, unix.EINVAL) {
			return errNotBound
		}
		if err != nil {
			return fmt.Errorf("unmount %s in %s: %w", dst, c.Name, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	// What is left is the mount point bindDeviceNode made.
	var st unix.Stat_t
	if err := unix.Fstatat(dir, base, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("%s in %s: %w", dst, c.Name, err)
	}
	if st.Mode&unix.S_IFMT == unix.S_IFREG && st.Size == 0 {
		if err := unix.Unlinkat(dir, base, 0); err != nil {
			return fmt.Errorf("remove %s in %s: %w", dst, c.Name, err)
		}
	}
	return nil
}
