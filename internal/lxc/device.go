package lxc

import (
	"errors"
	"fmt"
	"path"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"

	"golxc/internal/cgroup"
	"golxc/internal/monitor"
	"golxc/internal/namespace"
)

// DeviceNode makes (add) or removes (del) the host's device node src in
// the running container, at dst inside (src's path when dst is ""), and
// allows (or denies again) its major:minor in the container's v1 devices
// cgroup, as lxc-device does.
//
// The node is made from the host, in the container's mount tree, through
// the init's /proc/<pid>/root opened by its pidfd (so a recycled pid can
// never be taken for it) and resolved with RESOLVE_IN_ROOT: a symlink or
// ".." the container planted in dst stays inside its root, and nothing
// of this process ever enters the container. On cgroup2 the device
// program would have to be rebuilt with the extra rule: not supported yet.
func (c *Container) DeviceNode(add bool, src, dst string) error {
	var st unix.Stat_t
	if err := unix.Stat(src, &st); err != nil {
		return fmt.Errorf("%s: %w", src, err)
	}
	typ := "c"
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFCHR:
	case unix.S_IFBLK:
		typ = "b"
	default:
		return fmt.Errorf("%s: not a device node (a character or block device)", src)
	}
	if dst == "" {
		dst = src
	}
	dst = path.Clean("/" + dst)
	if dst == "/" {
		return fmt.Errorf("%s: not a path for a device node", dst)
	}
	rule := fmt.Sprintf("%s %d:%d rwm", typ, unix.Major(st.Rdev), unix.Minor(st.Rdev))

	conn, err := monitor.Dial(c.LXCPath, c.Name)
	if errors.Is(err, monitor.ErrNotRunning) {
		return &ErrNotRunning{Name: c.Name}
	}
	if err != nil {
		return err
	}
	pidfd, info, err := conn.PidFD()
	conn.Close()
	if err != nil {
		if info != nil && info.State != "" && info.State != monitor.Running {
			return &ErrNotRunning{Name: c.Name}
		}
		return err
	}
	defer unix.Close(pidfd)
	proc, err := namespace.OpenProc(pidfd)
	if errors.Is(err, unix.ESRCH) {
		return &ErrNotRunning{Name: c.Name}
	}
	if err != nil {
		return fmt.Errorf("container %s's init: %w", c.Name, err)
	}
	defer proc.Close()
	// A filesystem mounted in the container's own user namespace (its
	// /dev) is nodev, and host root's node would have no owner there.
	if same, err := proc.SharesNamespace("user"); err != nil || !same {
		if err != nil {
			return fmt.Errorf("container %s's init: %w", c.Name, err)
		}
		return fmt.Errorf("%s: device nodes in a container with its own user namespace (lxc.idmap) are not supported yet", src)
	}
	if info.Cgroup == "" {
		return fmt.Errorf("container %s has no cgroup to allow %s in", c.Name, src)
	}
	layout, err := hostLayout()
	if err != nil {
		return err
	}
	g := layout.Group(info.Cgroup)
	v2, err := hasDeviceProgram(g)
	if err != nil {
		return err
	}
	if _, err := g.FilePath("devices.allow"); err != nil || v2 {
		// The device program (lxc.cgroup2.devices.*) would deny the
		// node whatever v1 allows.
		return fmt.Errorf("%s: device nodes in a container whose devices controller is cgroup2 are not supported yet", src)
	}
	dir, err := proc.OpenInRoot(path.Dir(dst), unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		return err
	}
	defer unix.Close(dir)
	base := path.Base(dst)
	if add {
		// Allowed first: a node the container cannot open is no use,
		// and an allow without a node is harmless.
		if err := g.WriteKey("devices.allow", rule); err != nil {
			return fmt.Errorf("allow %s in the devices cgroup: %w", rule, err)
		}
		if err := unix.Mknodat(dir, base, st.Mode&(unix.S_IFMT|0o7777), int(st.Rdev)); err != nil {
			err = fmt.Errorf("make %s in %s: %w", dst, c.Name, err)
			if werr := g.WriteKey("devices.deny", rule); werr != nil {
				err = fmt.Errorf("%w; deny %s again: %v", err, rule, werr)
			}
			return err
		}
		return nil
	}
	// Only the node of that device goes: whatever else the container
	// keeps at dst is its own.
	var have unix.Stat_t
	if err := unix.Fstatat(dir, base, &have, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("%s in %s: %w", dst, c.Name, err)
	}
	if have.Mode&unix.S_IFMT != st.Mode&unix.S_IFMT || have.Rdev != st.Rdev {
		return fmt.Errorf("%s in %s is not the node of %s", dst, c.Name, src)
	}
	if err := unix.Unlinkat(dir, base, 0); err != nil {
		return fmt.Errorf("remove %s in %s: %w", dst, c.Name, err)
	}
	if err := g.WriteKey("devices.deny", rule); err != nil {
		return fmt.Errorf("deny %s in the devices cgroup: %w", rule, err)
	}
	return nil
}

// hasDeviceProgram reports whether a device program is attached to the
// group's cgroup2 directory (lxc.cgroup2.devices.* at start).
func hasDeviceProgram(g *cgroup.Group) (bool, error) {
	p, ok := g.Paths()["unified"]
	if !ok {
		return false, nil
	}
	dir, err := unix.Open(p, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return false, fmt.Errorf("cgroup2 directory of the container: %w", err)
	}
	defer unix.Close(dir)
	q, err := link.QueryPrograms(link.QueryOptions{Target: dir, Attach: ebpf.AttachCGroupDevice})
	if err != nil {
		return false, fmt.Errorf("device programs of %s: %w", p, err)
	}
	return len(q.Programs) > 0, nil
}
