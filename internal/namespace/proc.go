package namespace

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Proc is the /proc directory of the process a pidfd names, opened so
// that what is read through it is that process's and no other's: a pid
// number (one a socket reported, or one recycled since) is never trusted
// on its own.
type Proc struct {
	Pid int // as this process's pid namespace numbers it
	dir int
}

// OpenProc opens /proc/<pid> of the process pidfd refers to. The pid is
// the pidfd's own (its fdinfo), and the process is checked to be alive
// after the open: while it lives its pid cannot name another process, so
// the directory opened is its own, and stays its own (a /proc/<pid>
// directory fd of a process that has died reads nothing of its
// successor).
func OpenProc(pidfd int) (*Proc, error) {
	pid, err := pidfdPid(pidfd)
	if err != nil {
		return nil, err
	}
	dir, err := unix.Open("/proc/"+strconv.Itoa(pid), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return nil, fmt.Errorf("open /proc/%d: %w", pid, err)
	}
	if err := unix.PidfdSendSignal(pidfd, 0, nil, 0); err != nil {
		unix.Close(dir)
		return nil, fmt.Errorf("process %d: %w", pid, err)
	}
	return &Proc{Pid: pid, dir: dir}, nil
}

// pidfdPid reads the pid a pidfd refers to from its fdinfo.
func pidfdPid(pidfd int) (int, error) {
	f, err := os.Open("/proc/self/fdinfo/" + strconv.Itoa(pidfd))
	if err != nil {
		return 0, fmt.Errorf("read pidfd's fdinfo: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		v, ok := strings.CutPrefix(sc.Text(), "Pid:")
		if !ok {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(v))
		switch {
		case err != nil:
			return 0, fmt.Errorf("pidfd's fdinfo: Pid %q: %w", v, err)
		case pid == -1:
			return 0, fmt.Errorf("the process has exited: %w", unix.ESRCH)
		case pid <= 0:
			return 0, errors.New("the process is outside this pid namespace")
		}
		return pid, nil
	}
	return 0, errors.New("fd is not a pidfd (no Pid in its fdinfo)")
}

// Close closes the directory.
func (p *Proc) Close() error { return unix.Close(p.dir) }

// ReadFile reads the file name of the process's /proc directory (e.g.
// "status"), at most max bytes.
func (p *Proc) ReadFile(name string, max int64) ([]byte, error) {
	fd, err := unix.Openat(p.dir, name, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return nil, fmt.Errorf("open /proc/%d/%s: %w", p.Pid, name, err)
	}
	f := os.NewFile(uintptr(fd), "/proc/"+strconv.Itoa(p.Pid)+"/"+name)
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", f.Name(), err)
	}
	return b, nil
}

// OpenInRoot opens path inside the process's root directory, resolved
// as if that root were "/" (symlinks, "..", absolute links all stay
// inside; no /proc magic link is followed).
func (p *Proc) OpenInRoot(path string, flags int) (int, error) {
	root, err := unix.Openat(p.dir, "root", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("open /proc/%d/root: %w", p.Pid, err)
	}
	defer unix.Close(root)
	fd, err := unix.Openat2(root, path, &unix.OpenHow{
		Flags:   uint64(flags | unix.O_CLOEXEC),
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	})
	if err != nil {
		return -1, fmt.Errorf("open %s in the root of process %d: %w", path, p.Pid, err)
	}
	return fd, nil
}

// SharesNamespace reports whether the process is in the same namespace of
// kind (as /proc/PID/ns names it: "user", "net" ...) as the caller.
func (p *Proc) SharesNamespace(kind string) (bool, error) {
	var theirs, ours unix.Stat_t
	if err := unix.Fstatat(p.dir, "ns/"+kind, &theirs, 0); err != nil {
		return false, fmt.Errorf("stat /proc/%d/ns/%s: %w", p.Pid, kind, err)
	}
	if err := unix.Stat("/proc/self/ns/"+kind, &ours); err != nil {
		return false, fmt.Errorf("stat own %s namespace: %w", kind, err)
	}
	return theirs.Dev == ours.Dev && theirs.Ino == ours.Ino, nil
}

// NamespaceID identifies a namespace: the device and inode of its nsfs
// file, the same through every /proc/PID/ns link to it.
type NamespaceID struct {
	Dev uint64 `json:"dev"`
	Ino uint64 `json:"ino"`
}

// Namespace returns the identity of the process's namespace of kind k.
func (p *Proc) Namespace(k Kind) (NamespaceID, error) {
	var st unix.Stat_t
	if err := unix.Fstatat(p.dir, "ns/"+k.ProcFile(), &st, 0); err != nil {
		return NamespaceID{}, fmt.Errorf("stat /proc/%d/ns/%s: %w", p.Pid, k.ProcFile(), err)
	}
	return NamespaceID{Dev: st.Dev, Ino: st.Ino}, nil
}

// FDNamespace returns the identity of the namespace fd (an nsfs file) is.
func FDNamespace(fd int) (NamespaceID, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return NamespaceID{}, fmt.Errorf("stat namespace descriptor: %w", err)
	}
	return NamespaceID{Dev: st.Dev, Ino: st.Ino}, nil
}

// nsGetOwnerUID is NS_GET_OWNER_UID (linux/nsfs.h): the uid that owns a
// user namespace, as the caller's namespace sees it.
const nsGetOwnerUID = 0xb704

// UserNamespaceOwner returns the uid that owns the process's user
// namespace.
func (p *Proc) UserNamespaceOwner() (uint32, error) {
	fd, err := unix.Openat(p.dir, "ns/user", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, fmt.Errorf("open /proc/%d/ns/user: %w", p.Pid, err)
	}
	defer unix.Close(fd)
	uid, err := unix.IoctlGetUint32(fd, nsGetOwnerUID)
	if err != nil {
		return 0, fmt.Errorf("owner of /proc/%d/ns/user: %w", p.Pid, err)
	}
	return uid, nil
}

// OpenNamespace opens the process's namespace of kind (as /proc/PID/ns
// names it: "mnt", "user" ...), for setns(2).
func (p *Proc) OpenNamespace(kind string) (int, error) {
	fd, err := unix.Openat(p.dir, "ns/"+kind, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("open /proc/%d/ns/%s: %w", p.Pid, kind, err)
	}
	return fd, nil
}

// RootIDs returns the host uid and gid that are root (0) in the process's
// user namespace, from its uid_map and gid_map.
func (p *Proc) RootIDs() (uid, gid uint32, err error) {
	ids := [2]uint32{}
	for i, name := range []string{"uid_map", "gid_map"} {
		b, err := p.ReadFile(name, 64<<10)
		if err != nil {
			return 0, 0, err
		}
		found := false
		for _, l := range strings.Split(string(b), "\n") {
			f := strings.Fields(l)
			if len(f) != 3 || f[0] != "0" {
				continue
			}
			host, err := strconv.ParseUint(f[1], 10, 32)
			if err != nil {
				return 0, 0, fmt.Errorf("/proc/%d/%s: %q: %w", p.Pid, name, l, err)
			}
			ids[i], found = uint32(host), true
		}
		if !found {
			return 0, 0, fmt.Errorf("/proc/%d/%s maps no root", p.Pid, name)
		}
	}
	return ids[0], ids[1], nil
}
