package oci

import (
	"errors"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/golxc/golxc/internal/namespace"
)

// openNamespaceFile opens path, a namespace file (/proc/PID/ns/X or a
// bind mount of one), for setns(2) and the ioctls of ioctl_ns(2). It is
// looked at first through an O_PATH descriptor, which opens nothing: a
// FIFO or a device named by mistake is refused, not opened (a FIFO would
// block the create).
func openNamespaceFile(path string) (*os.File, error) {
	fd, err := unix.Open(path, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	var fs unix.Statfs_t
	if err := unix.Fstatfs(fd, &fs); err != nil {
		return nil, fmt.Errorf("statfs: %w", err)
	}
	if fs.Type != unix.NSFS_MAGIC {
		return nil, errors.New("not a namespace file (nsfs)")
	}
	// The same file, opened for real through the descriptor: the path is
	// not walked again.
	rfd, err := unix.Open("/proc/self/fd/"+strconv.Itoa(fd), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(rfd), path), nil
}

// Ioctls of ioctl_ns(2) (linux/nsfs.h) that x/sys/unix does not name.
const (
	nsGetUserns   = 0xb701 // NS_GET_USERNS: the user namespace that owns a namespace
	nsGetParent   = 0xb702 // NS_GET_PARENT: a user namespace's parent
	nsGetOwnerUID = 0xb704 // NS_GET_OWNER_UID: the uid that made a user namespace
)

// maxUserNesting is the kernel's limit of nested user namespaces.
const maxUserNesting = 32

func ownID() (namespace.NamespaceID, error) {
	var st unix.Stat_t
	if err := unix.Stat("/proc/self/ns/user", &st); err != nil {
		return namespace.NamespaceID{}, fmt.Errorf("golxc-runc's own user namespace: %w", err)
	}
	return namespace.NamespaceID{Dev: st.Dev, Ino: st.Ino}, nil
}

// checkJoinedUser refuses a user namespace the container must not join:
// golxc-runc's own (the container would be the host's root; setns(2)
// refuses it anyway), one that is not below it, and one that a user
// other than root made, itself or an ancestor up to golxc-runc's: that
// user holds every capability in it from outside, so over the namespaces
// made under it for the container and over the init stage while golxc's
// descriptors are open in it (ptrace, setns into its mount namespace).
func checkJoinedUser(f *os.File, path string) error {
	self, err := ownID()
	if err != nil {
		return err
	}
	cur, err := unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("user namespace %s: %w", path, err)
	}
	defer func() { unix.Close(cur) }()
	for depth := 0; ; depth++ {
		id, err := namespace.FDNamespace(cur)
		if err != nil {
			return fmt.Errorf("user namespace %s: %w", path, err)
		}
		if id == self {
			if depth == 0 {
				return fmt.Errorf("user namespace %s is golxc-runc's own (the host's): nothing to join; leave its path out, or give the container a new one", path)
			}
			return nil
		}
		if depth == maxUserNesting {
			return fmt.Errorf("user namespace %s is not below golxc-runc's", path)
		}
		owner, err := unix.IoctlGetUint32(cur, nsGetOwnerUID)
		if err != nil {
			return fmt.Errorf("owner of user namespace %s: %w", path, err)
		}
		if owner != 0 {
			what := "is owned by"
			if depth > 0 {
				what = "is below a user namespace owned by"
			}
			return fmt.Errorf("user namespace %s %s uid %d, not root: that user would hold every capability over the container", path, what, owner)
		}
		parent, err := unix.IoctlRetInt(cur, nsGetParent)
		if errors.Is(err, unix.EPERM) {
			return fmt.Errorf("user namespace %s is not below golxc-runc's", path)
		}
		if err != nil {
			return fmt.Errorf("parent of user namespace %s: %w", path, err)
		}
		unix.Close(cur)
		cur = parent
	}
}

// ownedBy checks that the namespace ns (not a user namespace) is owned
// by the user namespace user or one below it: the container's root, root
// only in user, can enter no other (setns(2) wants CAP_SYS_ADMIN in the
// namespace's owner).
func ownedBy(ns, user *os.File) error {
	want, err := namespace.FDNamespace(int(user.Fd()))
	if err != nil {
		return err
	}
	self, err := ownID()
	if err != nil {
		return err
	}
	cur, err := unix.IoctlRetInt(int(ns.Fd()), nsGetUserns)
	if errors.Is(err, unix.EPERM) {
		return errors.New("not owned by the user namespace joined (it is outside golxc-runc's): the container's root could not enter it")
	}
	if err != nil {
		return fmt.Errorf("its owner: %w", err)
	}
	defer func() { unix.Close(cur) }()
	for depth := 0; depth <= maxUserNesting; depth++ {
		id, err := namespace.FDNamespace(cur)
		if err != nil {
			return err
		}
		if id == want {
			return nil
		}
		if id == self {
			break
		}
		parent, err := unix.IoctlRetInt(cur, nsGetParent)
		if err != nil {
			break
		}
		unix.Close(cur)
		cur = parent
	}
	return errors.New("not owned by the user namespace joined: the container's root could not enter it")
}
