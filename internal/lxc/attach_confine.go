package lxc

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/golxc/golxc/internal/config"
	"github.com/golxc/golxc/internal/monitor"
	"github.com/golxc/golxc/internal/namespace"
	"github.com/golxc/golxc/internal/seccomp"
)

// confinement is how a running container's init was confined beyond its
// capabilities: what lxc-attach confines its command with.
type confinement struct {
	Seccomp    []byte // seccomp.Encode's form; nil: no filter
	Nesting    bool   // lxc.seccomp.allow_nesting
	NoNewPrivs bool   // lxc.no_new_privs
}

// runningConfinement asks the monitor for the filter and no_new_privs the
// container was started with: its config on disk may have changed since
// (LXC's lxc-attach likewise asks its monitor for the running values). A
// monitor older than that command answers it unknown; the config as it
// is now (cfg, nil when it could not be read) stands in then.
func (c *Container) runningConfinement(conn *monitor.Conn, cfg *config.Config, warn func(string)) (confinement, error) {
	resp, err := conn.Call(monitor.Request{Command: "seccomp"}, time.Now().Add(10*time.Second))
	if err == nil {
		return confinement{Seccomp: resp.Seccomp, Nesting: resp.SeccompNesting, NoNewPrivs: resp.NoNewPrivs}, nil
	}
	if resp == nil || !strings.HasPrefix(resp.Error, "unknown command") {
		return confinement{}, fmt.Errorf("ask the monitor of %s for its seccomp filter: %w", c.Name, err)
	}
	if cfg == nil {
		return confinement{}, nil
	}
	conf := confinement{NoNewPrivs: cfg.NoNewPrivs}
	f, err := seccompFilter(cfg)
	if err != nil {
		// A running container must stay reachable; its init has
		// whatever filter its start could compile.
		if warn != nil {
			warn(fmt.Sprintf("%v: not loaded for the attached command", err))
		}
		return conf, nil
	}
	if f != nil {
		conf.Seccomp, conf.Nesting = f.Program, f.AllowNesting
	}
	return conf, nil
}

// attachConfinement decides the filter and no_new_privs of an attached
// command, as LXC 5.0's lxc-attach does: no_new_privs whenever the
// container has it, -e or not; the filter unless -e LSM (a bare -e
// included) elevates the restrictions it belongs to in lxc-attach(1), and,
// as at start, not when lxc-attach already runs under a filter unless
// lxc.seccomp.allow_nesting. The kernel loads a filter only for a process
// with CAP_SYS_ADMIN or no_new_privs: the command is forked with no more
// than the container's bounding set (its own user namespace gives it all
// of that namespace's), so a container without CAP_SYS_ADMIN gets
// no_new_privs with its filter. joinUser: the command joins the init's
// user namespace; keep: the init's bounding set.
func attachConfinement(conf confinement, elevated Privileges, joinUser bool, keep []string, warn func(string)) (filter []byte, nnp bool) {
	filter, nnp = conf.Seccomp, conf.NoNewPrivs
	if elevated&ElevateLSM != 0 {
		filter = nil
	}
	if filter != nil && !conf.Nesting {
		if confined, err := seccomp.Confined(); err == nil && confined {
			if warn != nil {
				warn("the container's seccomp filter is not loaded: lxc-attach already runs under a seccomp filter (lxc.seccomp.allow_nesting = 1 stacks it)")
			}
			filter = nil
		}
	}
	if filter != nil && warn != nil {
		if prog, err := seccomp.Decode(filter); err == nil && seccomp.Returns(prog, unix.SECCOMP_RET_USER_NOTIF) {
			// Only the init's listener reaches the monitor's proxy: a
			// notify rule's call by the command fails with ENOSYS (the
			// kernel's answer when a filter has no listener).
			warn("the container's seccomp notify rules make the attached command's calls fail with ENOSYS: only its init's are forwarded to lxc.seccomp.notify.proxy")
		}
	}
	if filter != nil && !joinUser && elevated&ElevateCap == 0 && !slices.Contains(keep, "CAP_SYS_ADMIN") {
		nnp = true
	}
	return filter, nnp
}

// hostNulls are the replacements of the host's null device among an
// attached command's standard fds, and the pipes lxc-attach drains.
type hostNulls struct {
	ours []*os.File // this process's copies of what the command gets
}

// isNullDevice reports whether st is a null device (character 1:3).
func isNullDevice(st *unix.Stat_t) bool {
	return st.Mode&unix.S_IFMT == unix.S_IFCHR && unix.Major(uint64(st.Rdev)) == 1 && unix.Minor(uint64(st.Rdev)) == 3
}

// replaceHostNull replaces each of stdio that is not a terminal (isTTY:
// those get the container's pty) and is a null device, or not open at
// all (os/exec would give the host's null device for it): the command
// would hold the host's /dev/null, whose mode and owner the container's
// root could change through /proc/PID/fd/N. It gets the container's own
// /dev/null instead, found through the init's root and checked to be a
// null device before it is opened; a container without one gets a pipe:
// at EOF for stdin, drained and discarded by lxc-attach for the others.
func replaceHostNull(proc *namespace.Proc, stdio []*os.File, isTTY [3]bool) (*hostNulls, error) {
	n := &hostNulls{}
	for i := range stdio {
		if isTTY[i] {
			continue
		}
		var st unix.Stat_t
		err := unix.Fstat(int(stdio[i].Fd()), &st)
		if err == nil && !isNullDevice(&st) {
			continue
		}
		if err != nil && !errors.Is(err, unix.EBADF) {
			return nil, fmt.Errorf("stat standard fd %d: %w", i, err)
		}
		f, err := n.replacement(proc, i)
		if err != nil {
			n.close()
			return nil, err
		}
		stdio[i] = f
	}
	return n, nil
}

// replacement is the container's /dev/null for standard fd i, or a pipe.
func (n *hostNulls) replacement(proc *namespace.Proc, i int) (*os.File, error) {
	flags := unix.O_WRONLY
	if i == 0 {
		flags = unix.O_RDONLY
	}
	if pfd, err := proc.OpenInRoot("dev/null", unix.O_PATH|unix.O_NOFOLLOW); err == nil {
		var st unix.Stat_t
		ok := unix.Fstat(pfd, &st) == nil && isNullDevice(&st)
		var fd int
		if ok {
			fd, err = unix.Open("/proc/self/fd/"+strconv.Itoa(pfd), flags|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
			ok = err == nil
		}
		unix.Close(pfd)
		if ok {
			f := os.NewFile(uintptr(fd), "container's /dev/null")
			n.ours = append(n.ours, f)
			return f, nil
		}
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("pipe for standard fd %d: %w", i, err)
	}
	if i == 0 {
		w.Close() // nothing to read: EOF
		n.ours = append(n.ours, r)
		return r, nil
	}
	go func() {
		_, _ = io.Copy(io.Discard, r)
		r.Close()
	}()
	n.ours = append(n.ours, w)
	return w, nil
}

// started closes this process's copies once the helper and the command
// hold theirs: a drained pipe then ends when they are gone.
func (n *hostNulls) started() {
	if n == nil {
		return
	}
	for _, f := range n.ours {
		f.Close()
	}
	n.ours = nil
}

func (n *hostNulls) close() { n.started() }

// chownToMappedRoot gives f to the host ids that root of the process's
// user namespace maps to (its uid_map and gid_map).
func chownToMappedRoot(proc *namespace.Proc, f *os.File) error {
	uid, gid, err := proc.RootIDs()
	if err != nil {
		return err
	}
	if os.Geteuid() != 0 {
		// A user cannot chown: a user namespace mapping both its own
		// ids and the container's does it, as root there (all the
		// container's ids are mapped: the pty's group is its tty group,
		// which the chown turns into root's, as LXC's does).
		var maps [2][]specs.LinuxIDMapping
		for i, name := range []string{"uid_map", "gid_map"} {
			b, err := proc.ReadFile(name, 64<<10)
			if err != nil {
				return err
			}
			maps[i] = parseIDMap(b)
		}
		m := namespace.IDMaps{UID: maps[0], GID: maps[1]}
		if err := namespace.GiveToMappedRoot(m.WithCaller(namespace.CurrentCaller()), nil, []*os.File{f}, namespace.OwnerAndGroup); err != nil {
			return fmt.Errorf("give the pty to the container's root (%d:%d): %w", uid, gid, err)
		}
		return nil
	}
	if err := f.Chown(int(uid), int(gid)); err != nil {
		return fmt.Errorf("give the pty to the container's root (%d:%d): %w", uid, gid, err)
	}
	return nil
}

// parseIDMap reads a /proc/PID/uid_map or gid_map as the reader's
// namespace sees it.
func parseIDMap(b []byte) []specs.LinuxIDMapping {
	var m []specs.LinuxIDMapping
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			continue
		}
		in, err1 := strconv.ParseUint(f[0], 10, 32)
		out, err2 := strconv.ParseUint(f[1], 10, 32)
		n, err3 := strconv.ParseUint(f[2], 10, 32)
		if err1 == nil && err2 == nil && err3 == nil && n > 0 {
			m = append(m, specs.LinuxIDMapping{ContainerID: uint32(in), HostID: uint32(out), Size: uint32(n)})
		}
	}
	return m
}
