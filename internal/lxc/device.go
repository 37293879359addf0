package lxc

import (
	"errors"
	"fmt"
	"github.com/golxc/golxc/internal/sysfile"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/golxc/golxc/internal/cgroup"
	"github.com/golxc/golxc/internal/monitor"
	"github.com/golxc/golxc/internal/namespace"
)

// DeviceNode makes (add) or removes (del) the host's device node src in
// the running container, at dst inside (src's path when dst is ""), and
// allows (or denies again) its major:minor in the container's devices
// cgroup and device program, as lxc-device does.
//
// The node is made from the host, in the container's mount tree, through
// the init's /proc/<pid>/root opened by its pidfd (so a recycled pid can
// never be taken for it) and resolved with RESOLVE_IN_ROOT: a symlink or
// ".." the container planted in dst stays inside its root. In a container
// with a user namespace of its own the host's node is bound there
// instead (device_bind.go), by one thread that joins the container's
// mount namespace and nothing else of it. A cgroup2 device program
// (lxc.cgroup2.devices.*) is rebuilt with the node's rule, or without it.
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

	conn, err := c.dial()
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
	// A container with a user namespace of its own gets the host's node
	// bound (device_bind.go): one made in its /dev would not open.
	same, err := proc.SharesNamespace("user")
	if err != nil {
		return fmt.Errorf("container %s's init: %w", c.Name, err)
	}
	bind := !same
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
	_, v1err := g.FilePath("devices.allow")
	v1 := v1err == nil
	node, err := cgroup.ParseDeviceRule(true, rule)
	if err != nil {
		return err
	}
	// allow and deny change whichever device controllers confine the
	// container: v1's list, and the cgroup2 device program, rebuilt with
	// or without the node's rule. With neither nothing confines it.
	allow := func() error {
		if v1 {
			if err := g.WriteKey("devices.allow", rule); err != nil {
				return fmt.Errorf("allow %s in the devices cgroup: %w", rule, err)
			}
		}
		if v2 {
			if err := c.updateDeviceProgram(g, node, true); err != nil {
				err = fmt.Errorf("allow %s in the device program: %w", rule, err)
				if v1 {
					if werr := g.WriteKey("devices.deny", rule); werr != nil {
						err = fmt.Errorf("%w; deny %s again: %v", err, rule, werr)
					}
				}
				return err
			}
		}
		return nil
	}
	deny := func() error {
		var errs []error
		if v2 {
			if err := c.updateDeviceProgram(g, node, false); err != nil {
				errs = append(errs, fmt.Errorf("deny %s in the device program: %w", rule, err))
			}
		}
		if v1 {
			if err := g.WriteKey("devices.deny", rule); err != nil {
				errs = append(errs, fmt.Errorf("deny %s in the devices cgroup: %w", rule, err))
			}
		}
		return errors.Join(errs...)
	}
	dir, err := proc.OpenInRoot(path.Dir(dst), unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		return err
	}
	defer unix.Close(dir)
	base := path.Base(dst)
	if add {
		// A rule the v1 list has already (the config's, an earlier
		// add's) stays whatever happens here.
		if v1 && v1Allows(g, rule) {
			v1 = false
		}
		// Allowed first: a node the container cannot open is no use,
		// and an allow without a node is harmless.
		if err := allow(); err != nil {
			return err
		}
		var err error
		if bind {
			err = c.bindDeviceNode(proc, src, &st, dir, base, dst)
		} else if err = unix.Mknodat(dir, base, st.Mode&(unix.S_IFMT|0o7777), int(st.Rdev)); err != nil {
			err = fmt.Errorf("make %s in %s: %w", dst, c.Name, err)
		}
		if err != nil {
			if werr := deny(); werr != nil {
				err = fmt.Errorf("%w; %v", err, werr)
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
	if bind {
		err := c.unbindDeviceNode(proc, dir, base, dst)
		if err == nil {
			return deny()
		}
		if !errors.Is(err, errNotBound) {
			return err
		}
	}
	if err := unix.Unlinkat(dir, base, 0); err != nil {
		return fmt.Errorf("remove %s in %s: %w", dst, c.Name, err)
	}
	return deny()
}

// deviceStateFile records, in the container's directory, the rules
// lxc-device added to its running device program: "PROGRAM-ID\n" then
// one rule a line. The ID is the program's that has them, so a record
// from an earlier run (whose program is gone) is never taken for this
// one's.
const deviceStateFile = "lxc-device.cgroup2"

// updateDeviceProgram rebuilds the container's cgroup2 device program
// with (add) or without node and replaces the attached one with it in
// one BPF_F_REPLACE attach. The program's own rules are its config's
// lxc.cgroup2.devices.* lines; they are used only when the program built
// from them (and the rules added before) has the attached program's tag,
// so a container started with another config (lxc-start -f), or whose
// config changed since, is never given a program its start did not
// mean: that is refused.
func (c *Container) updateDeviceProgram(g *cgroup.Group, node cgroup.DeviceRule, add bool) error {
	f, err := os.OpenFile(filepath.Join(c.Dir(), deviceStateFile), os.O_RDWR|os.O_CREATE|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	// Two lxc-device at once would each replace the program with its
	// own change alone.
	if err := sysfile.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		return fmt.Errorf("lock %s: %w", f.Name(), err)
	}
	cur, tag, err := g.DeviceProgram()
	if err != nil {
		return err
	}
	cfg, err := c.LoadConfig("", nil)
	if err != nil {
		return err
	}
	var base []cgroup.DeviceRule
	for _, s := range cfg.Cgroup {
		if s.Version != 2 || (s.Key != "devices.allow" && s.Key != "devices.deny") {
			continue
		}
		r, err := cgroup.ParseDeviceRule(s.Key == "devices.allow", s.Value)
		if err != nil {
			return fmt.Errorf("lxc.cgroup2.%s = %s: %w", s.Key, s.Value, err)
		}
		base = append(base, r)
	}
	var added []cgroup.DeviceRule
	b, err := io.ReadAll(f)
	if err != nil {
		return fmt.Errorf("read %s: %w", f.Name(), err)
	}
	if id, rest, _ := strings.Cut(string(b), "\n"); id == strconv.FormatUint(uint64(cur), 10) {
		for _, l := range strings.Split(strings.TrimSpace(rest), "\n") {
			if l == "" {
				continue
			}
			r, err := cgroup.ParseDeviceRule(true, l)
			if err != nil {
				return fmt.Errorf("%s: %w", f.Name(), err)
			}
			added = append(added, r)
		}
	}
	p := cgroup.NewDevicePolicy(base)
	p.Added = added
	want, err := p.Tag()
	if err != nil {
		return err
	}
	if want != tag {
		return errors.New("the attached device program is not the one its config's lxc.cgroup2.devices lines make (started with another config, or the config changed since): not rebuilding it")
	}
	added = slices.DeleteFunc(added, func(r cgroup.DeviceRule) bool { return r == node })
	if add {
		added = append(added, node)
	}
	p.Added = added
	id, err := g.ReplaceDevicesV2(p, cur)
	if err != nil {
		return err
	}
	var out strings.Builder
	fmt.Fprintf(&out, "%d\n", id)
	for _, r := range added {
		out.WriteString(r.String() + "\n")
	}
	if err := f.Truncate(0); err != nil {
		return fmt.Errorf("record added devices in %s: %w", f.Name(), err)
	}
	if _, err := f.WriteAt([]byte(out.String()), 0); err != nil {
		return fmt.Errorf("record added devices in %s: %w", f.Name(), err)
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
	ids, err := cgroup.AttachedDevicePrograms(dir)
	if err != nil {
		return false, fmt.Errorf("device programs of %s: %w", p, err)
	}
	return len(ids) > 0, nil
}

// v1Allows says whether a v1 devices cgroup's list has rule ("c 1:5
// rwm") as it is, or allows every device.
func v1Allows(g *cgroup.Group, rule string) bool {
	b, err := g.ReadKey("devices.list")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(b, "\n") {
		if l := strings.TrimSpace(line); l == rule || l == "a *:* rwm" {
			return true
		}
	}
	return false
}
