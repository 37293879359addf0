package lxc

import (
	"bufio"
	"bytes"
	"fmt"
	"hash/fnv"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// A host may still run some containers with LXC's own tools. LXC's
// lxc-start (LXC 5.0.2, as Debian 12 ships it; observed in /proc/net/unix,
// ss -xlp and strace of lxc-info) runs a container under a monitor titled
// "[lxc monitor] LXCPATH NAME" that listens on an abstract unix stream
// socket named "LXCPATH/NAME/command", LXCPATH as its user typed it,
// symlinks and all. When that name is longer than lxcSocketPlainMax bytes,
// the socket is "lxc/HASH/command" instead, HASH the 64-bit FNV-1a of
// "LXCPATH/NAME" in 16 hex digits. The socket is created before lxc-start
// daemonizes, so its credentials name a process that is gone: the
// listener's uid is the proof, the title only finds the pids.
//
// Anybody may bind an abstract name, so a listener counts as LXC's only if
// its owner is root (SO_PEERCRED, as the kernel recorded it at listen(2),
// in our user namespace): a squatter that is not root is not LXC, and the
// container is not running. root is trusted anyway.

// lxcSocketPlainMax is the longest "LXCPATH/NAME/command" LXC 5.0 uses
// as is (measured: 105 bytes plain, 106 hashed).
const lxcSocketPlainMax = 105

// soAcceptCon is __SO_ACCEPTCON, the Flags bit of /proc/net/unix that
// marks a listening socket (include/linux/net.h).
const soAcceptCon = 1 << 16

// lxcDialTimeout bounds the connect that asks the kernel for a listener's
// credentials; a full backlog must not hang a tool.
const lxcDialTimeout = time.Second

// LXCRun is a container that LXC's own lxc-start runs.
type LXCRun struct {
	Socket     string // the abstract name of its command socket
	MonitorPid int    // 0 when no "[lxc monitor]" process is found
	InitPid    int    // 0 when unknown
	Cgroup     string // the init's cgroup directory name, "" when unknown
}

// ErrRunByLXC refuses to start, stop or destroy a container that LXC's own
// tools run: golxc cannot supervise it, and a second start would run two
// inits on one root filesystem.
type ErrRunByLXC struct{ Name string }

func (e *ErrRunByLXC) Error() string {
	return e.Name + " is running under LXC's own tools (LXC's lxc-start), not golxc: stop it with LXC's lxc-stop first"
}

// LXCScan is what RunByLXC looks at, read once for many containers
// (lxc-ls): the host's listening abstract sockets and, when needed, its
// LXC monitor processes. A container asked alone reads its own.
type LXCScan struct {
	listening map[string]bool
	err       error

	monitorsOnce sync.Once
	monitors     []lxcMonitorProc
}

// lxcMonitorProc is a root process titled "[lxc monitor] LXCPATH NAME".
type lxcMonitorProc struct {
	pid           int
	lxcpath, name string // LXCPATH as LXC's user typed it
}

// ScanLXC reads the host's listening abstract sockets.
func ScanLXC() *LXCScan {
	s := &LXCScan{listening: map[string]bool{}}
	names, err := abstractListeners()
	for _, n := range names {
		s.listening[n] = true
	}
	s.err = err
	return s
}

// UseLXCScan makes RunByLXC (and Info) look at s instead of reading its own.
func (c *Container) UseLXCScan(s *LXCScan) { c.lxcScan = s }

// RunByLXC reports whether LXC's own monitor runs the container, nil when
// it does not. It finds LXC's command socket under any spelling of the
// lxcpath that resolves to this store: a plain name by its lxcpath, a
// hashed one by the path as given here or resolved, else (a hash cannot be
// traced back) by the title of a monitor that names this store.
func (c *Container) RunByLXC() (*LXCRun, error) {
	scan := c.lxcScan
	if scan == nil {
		scan = ScanLXC()
	}
	if scan.err != nil {
		return nil, scan.err
	}
	want := map[string]bool{}
	for _, p := range []string{c.typed, c.LXCPath} {
		if p != "" {
			want[lxcSocketName(p, c.Name)] = true
		}
	}
	otherHashed := false
	for l := range scan.listening {
		prefix, named := strings.CutSuffix(l, "/"+c.Name+"/command")
		switch {
		case want[l] || named && c.resolvesHere(prefix):
			if rootListener(l) {
				return c.lxcRun(scan, l), nil
			}
		case strings.HasPrefix(l, "lxc/") && strings.HasSuffix(l, "/command"):
			otherHashed = true
		}
	}
	if !otherHashed {
		return nil, nil
	}
	for _, m := range c.lxcMonitors(scan) {
		if l := lxcSocketName(m.lxcpath, c.Name); scan.listening[l] && rootListener(l) {
			return c.lxcRun(scan, l), nil
		}
	}
	return nil, nil
}

// lxcRun describes the container LXC runs with command socket l.
func (c *Container) lxcRun(scan *LXCScan, l string) *LXCRun {
	run := &LXCRun{Socket: l}
	// The monitor whose title names that socket; else, LXC having been
	// given the same store twice, any of them.
	for _, m := range c.lxcMonitors(scan) {
		if run.MonitorPid == 0 || lxcSocketName(m.lxcpath, c.Name) == l {
			run.MonitorPid = m.pid
		}
	}
	if run.MonitorPid > 0 {
		run.InitPid = firstChild(run.MonitorPid)
	}
	if run.InitPid > 0 {
		run.Cgroup = topCgroup(run.InitPid)
	}
	return run
}

// lxcMonitors are the LXC monitors of this container: its name, an
// lxcpath that resolves to this store.
func (c *Container) lxcMonitors(scan *LXCScan) []lxcMonitorProc {
	scan.monitorsOnce.Do(func() { scan.monitors = lxcMonitorProcs() })
	var mine []lxcMonitorProc
	for _, m := range scan.monitors {
		if m.name == c.Name && c.resolvesHere(m.lxcpath) {
			mine = append(mine, m)
		}
	}
	return mine
}

// notRunByLXC is ErrRunByLXC when LXC's own monitor runs the container
// (or an error when that cannot be told), nil otherwise.
func (c *Container) notRunByLXC() error {
	run, err := c.RunByLXC()
	if err != nil {
		return err
	}
	if run != nil {
		return &ErrRunByLXC{Name: c.Name}
	}
	return nil
}

// lxcSocketName is the abstract name (without the leading NUL) of LXC's
// command socket for lxcpath/name.
func lxcSocketName(lxcpath, name string) string {
	plain := lxcpath + "/" + name + "/command"
	if len(plain) <= lxcSocketPlainMax {
		return plain
	}
	h := fnv.New64a()
	h.Write([]byte(lxcpath + "/" + name))
	return fmt.Sprintf("lxc/%016x/command", h.Sum64())
}

// resolvesHere reports whether lxcpath p, as LXC was given it, resolves to
// this store.
func (c *Container) resolvesHere(p string) bool {
	if !filepath.IsAbs(p) {
		return false
	}
	r, err := ResolveLXCPath(filepath.Clean(p))
	return err == nil && r == c.LXCPath
}

// abstractListeners lists the abstract unix stream sockets of our network
// namespace that listen, by name. Names are as /proc/net/unix prints them
// (a NUL inside becomes '@'); one that fakes a line of its own only adds a
// name that rootListener then checks.
func abstractListeners() ([]string, error) {
	f, err := os.Open("/proc/net/unix")
	if err != nil {
		return nil, fmt.Errorf("look for LXC's monitors: %w", err)
	}
	defer f.Close()
	var names []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 4096), 1<<20)
	for sc.Scan() {
		// Num RefCount Protocol Flags Type St Inode Path
		line := sc.Text()
		if !strings.HasSuffix(line, "/command") {
			continue // nothing LXC names (most lines: cheap to skip)
		}
		fields := strings.Fields(line)
		if len(fields) < 8 || fields[4] != "0001" {
			continue
		}
		flags, err := strconv.ParseUint(fields[3], 16, 32)
		if err != nil || flags&soAcceptCon == 0 {
			continue
		}
		i := strings.Index(line, " @")
		if i < 0 {
			continue
		}
		names = append(names, line[i+2:])
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read /proc/net/unix: %w", err)
	}
	return names, nil
}

// rootListener reports whether abstract socket name is listened on by
// root.
func rootListener(name string) bool {
	d := net.Dialer{Timeout: lxcDialTimeout}
	conn, err := d.Dial("unix", "@"+name)
	if err != nil {
		return false
	}
	defer conn.Close()
	raw, err := conn.(*net.UnixConn).SyscallConn()
	if err != nil {
		return false
	}
	var cred *unix.Ucred
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil || cerr != nil {
		return false
	}
	return cred.Uid == 0
}

// lxcMonitorProcs lists the root processes titled "[lxc monitor] LXCPATH
// NAME", that being their only argument (golxc's own monitors have more).
// A name has no spaces (ValidateName), so it is the title's last word.
func lxcMonitorProcs() []lxcMonitorProc {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var procs []lxcMonitorProc
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !bytes.HasPrefix(b, []byte("[lxc monitor] ")) {
			continue
		}
		title, ok := strings.CutSuffix(string(b), "\x00")
		if !ok || strings.Contains(title, "\x00") {
			continue
		}
		rest := strings.TrimPrefix(title, "[lxc monitor] ")
		i := strings.LastIndexByte(rest, ' ')
		if i < 1 || !rootProcess(pid) {
			continue
		}
		procs = append(procs, lxcMonitorProc{pid: pid, lxcpath: rest[:i], name: rest[i+1:]})
	}
	return procs
}

// rootProcess reports whether pid's real and effective uids are 0.
func rootProcess(pid int) bool {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "Uid:"); ok {
			f := strings.Fields(rest)
			return len(f) >= 2 && f[0] == "0" && f[1] == "0"
		}
	}
	return false
}

// firstChild is pid's first child: an LXC monitor has one, the
// container's init.
func firstChild(pid int) int {
	p := strconv.Itoa(pid)
	b, err := os.ReadFile(filepath.Join("/proc", p, "task", p, "children"))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	child, _ := strconv.Atoi(f[0])
	return child
}

// topCgroup is the top-level cgroup directory pid is in (LXC puts a
// container in lxc.payload.NAME), from the unified or the memory line of
// /proc/PID/cgroup; "" for anything deeper or unknown.
func topCgroup(pid int) string {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cgroup"))
	if err != nil {
		return ""
	}
	var unified, memory string
	for _, line := range strings.Split(string(b), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		switch {
		case parts[0] == "0" && parts[1] == "":
			unified = parts[2]
		case strings.Contains(","+parts[1]+",", ",memory,"):
			memory = parts[2]
		}
	}
	for _, p := range []string{memory, unified} {
		name := strings.TrimPrefix(p, "/")
		if name != "" && name != p && !strings.Contains(name, "/") {
			return name
		}
	}
	return ""
}
