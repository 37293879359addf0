package containerinit

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/golxc/golxc/internal/namespace"
	"github.com/golxc/golxc/internal/rootfs"
)

// IDMapMount is a bind mount of OCI.Mounts made idmapped (runtime-spec
// mounts' uidMappings/gidMappings, options "idmap" and "ridmap"): the
// parent clones its source's mount and idmaps it on the host's side
// (mount_setattr(2) MOUNT_ATTR_IDMAP takes CAP_SYS_ADMIN over the
// source's mount, which the stage in a user namespace lacks), and the
// stage attaches the detached tree at its destination in the rootfs.
type IDMapMount struct {
	Index  int    `json:"index"`  // in OCI.Mounts
	Source string `json:"source"` // the host's path, absolute
	// Rbind clones the whole tree below Source, not only its mount;
	// Ridmap idmaps every mount of it, not only the first.
	Rbind  bool `json:"rbind,omitempty"`
	Ridmap bool `json:"ridmap,omitempty"`
	// UIDMappings and GIDMappings are the mount's own maps; none: those
	// of the container's user namespace.
	UIDMappings []specs.LinuxIDMapping `json:"uidMappings,omitempty"`
	GIDMappings []specs.LinuxIDMapping `json:"gidMappings,omitempty"`
	// Options are the mount's (ro, nosuid, nodev, noexec, propagation),
	// set on the tree with the idmap.
	Options []string `json:"options,omitempty"`
}

// idmapMountTrees makes the detached, idmapped trees of ms, in order; pid
// is the stage's (for the container's own user namespace), root the
// rootfs's directory. On error nothing is left open.
func idmapMountTrees(ms []IDMapMount, root string, pid int) (fds []int, err error) {
	defer func() {
		if err != nil {
			for _, fd := range fds {
				unix.Close(fd)
			}
			fds = nil
		}
	}()
	for _, m := range ms {
		fd, err := idmapMountTree(m, root, pid)
		if err != nil {
			return fds, fmt.Errorf("mounts[%d] %s: %w", m.Index, m.Source, err)
		}
		fds = append(fds, fd)
	}
	return fds, nil
}

// rootDir is r's rootfs directory, "" without one.
func rootDir(r *specs.Root) string {
	if r == nil {
		return ""
	}
	return r.Path
}

func idmapMountTree(m IDMapMount, root string, pid int) (int, error) {
	var userns int
	if len(m.UIDMappings) == 0 {
		fd, err := unix.Open("/proc/"+strconv.Itoa(pid)+"/ns/user", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return -1, fmt.Errorf("the container's user namespace: %w", err)
		}
		userns = fd
	} else {
		fd, err := mappedUserNamespace(namespace.IDMaps{UID: m.UIDMappings, GID: m.GIDMappings})
		if err != nil {
			return -1, err
		}
		userns = fd
	}
	defer unix.Close(userns)
	flags := unix.OPEN_TREE_CLONE | unix.OPEN_TREE_CLOEXEC
	if m.Rbind {
		flags |= unix.AT_RECURSIVE
	}
	// A source under the rootfs by name is the container's, looked up in
	// it (never through its symlinks on the host); others are the
	// caller's host paths.
	src, err := rootfs.OpenWithin(root, m.Source)
	if err != nil {
		return -1, err
	}
	tree, err := unix.OpenTree(src, "", uint(flags|unix.AT_EMPTY_PATH))
	unix.Close(src)
	if err != nil {
		return -1, fmt.Errorf("clone the mount: %w", err)
	}
	o := rootfs.ParseOptions(m.Options)
	attr := &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_IDMAP, Userns_fd: uint64(userns), Propagation: uint64(o.Propagation &^ unix.MS_REC)}
	for flag, a := range map[uintptr]uint64{unix.MS_RDONLY: unix.MOUNT_ATTR_RDONLY, unix.MS_NOSUID: unix.MOUNT_ATTR_NOSUID,
		unix.MS_NODEV: unix.MOUNT_ATTR_NODEV, unix.MS_NOEXEC: unix.MOUNT_ATTR_NOEXEC} {
		if uintptr(o.Flags)&flag != 0 {
			attr.Attr_set |= a
		}
	}
	at := unix.AT_EMPTY_PATH
	if m.Ridmap {
		at |= unix.AT_RECURSIVE
	}
	err = unix.MountSetattr(tree, "", uint(at), attr)
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.EOPNOTSUPP) {
		fsName := "its filesystem"
		var fs unix.Statfs_t
		if unix.Fstatfs(tree, &fs) == nil {
			fsName = fmt.Sprintf("its filesystem (magic %#x)", fs.Type)
			if n, ok := fsNames[fs.Type]; ok {
				fsName = "its filesystem (" + n + ")"
			}
		}
		unix.Close(tree)
		return -1, fmt.Errorf("%s does not support idmapped mounts (%w)", fsName, err)
	}
	if err != nil {
		unix.Close(tree)
		return -1, fmt.Errorf("idmap the mount: %w", err)
	}
	return tree, nil
}

// mappedUserNamespace returns a descriptor of a new user namespace with
// maps m: golxc's user stage is spawned in it (the Go runtime writes the
// maps between its clone and exec), waits on a pipe, and is let go (it
// exits) once its namespace is open here.
func mappedUserNamespace(m namespace.IDMaps) (int, error) {
	if err := m.Validate(); err != nil {
		return -1, err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return -1, fmt.Errorf("pipe for a user namespace: %w", err)
	}
	defer r.Close()
	defer w.Close()
	cmd := exec.Command("/proc/self/exe", namespace.UserStageArg)
	cmd.Args[0] = "golxc-userns"
	cmd.ExtraFiles = []*os.File{r}
	cmd.SysProcAttr = m.SpawnAttr()
	cmd.SysProcAttr.Pdeathsig = unix.SIGKILL
	if err := cmd.Start(); err != nil {
		return -1, fmt.Errorf("make a user namespace for the mount's maps: %w", err)
	}
	fd, err := unix.Open("/proc/"+strconv.Itoa(cmd.Process.Pid)+"/ns/user", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	// Closed without a byte: the stage exits at once.
	w.Close()
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	if err != nil {
		return -1, fmt.Errorf("open the mount's user namespace: %w", err)
	}
	return fd, nil
}

// attachTree attaches a detached tree (an idmapped mount the parent
// made) at m's destination in root, making the destination as a bind's
// would be made: a file for a file, else a directory.
func attachTree(root *rootfs.Root, tree int, m specs.Mount) error {
	dst := m.Destination
	if !root.Exists(dst) {
		var st unix.Stat_t
		var err error
		if unix.Fstat(tree, &st) == nil && st.Mode&unix.S_IFMT != unix.S_IFDIR {
			err = root.CreateFile(dst, 0o644)
		} else {
			err = root.MkdirAll(dst, 0o755)
		}
		if err != nil {
			return fmt.Errorf("idmapped mount %s on %s: %w", m.Source, dst, err)
		}
	}
	target, err := root.Open(dst)
	if err != nil {
		return fmt.Errorf("idmapped mount %s on %s: %w", m.Source, dst, err)
	}
	defer unix.Close(target)
	if err := unix.MoveMount(tree, "", target, "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH); err != nil {
		return fmt.Errorf("idmapped mount %s on %s: attach: %w", m.Source, dst, err)
	}
	return nil
}
