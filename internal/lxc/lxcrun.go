package lxc

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/golxc/golxc/internal/network"
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
// ss -xlp and strace of lxc-info) listens on an abstract unix stream socket
// named "LXCPATH/NAME/command", LXCPATH as its user typed it, symlinks and
// all; when that name is longer than lxcSocketPlainMax bytes, on
// "lxc/HASH/command" instead, HASH the 64-bit FNV-1a of "LXCPATH/NAME" in 16
// hex digits. In the background its monitor is titled "[lxc monitor]
// LXCPATH NAME" and holds the socket (created before it daemonized, so the
// socket's credentials name a process that is gone); with -F, lxc-start
// itself holds it. The container's init is that process's child.
//
// Anybody may bind an abstract name, and a privileged container in the
// host's network namespace is root there. So a listener counts as LXC's
// only when root owns it (SO_PEERCRED, recorded at listen(2)) and a root
// process of our own pid namespace holds it open (its /proc/PID/fd names
// the socket's inode): a squatter that is not root, or a container's
// process, is not LXC, and the container is not running.

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
	listening map[string][]uint64 // name: socket inodes (a forged /proc/net/unix line may add one)
	err       error

	deadlineOnce sync.Once
	deadline     time.Time // one lxcStartWindow per scan, however many listeners

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
	l, err := abstractListeners()
	return &LXCScan{listening: l, err: err}
}

// UseLXCScan makes RunByLXC (and Info) look at s instead of reading its own.
func (c *Container) UseLXCScan(s *LXCScan) { c.lxcScan = s }

// lxcStartWindow is how long a root listener on LXC's socket name may go
// without a process that proves it LXC's: the socket exists a moment
// before lxc-start's daemonized monitor takes its title.
const lxcStartWindow = 500 * time.Millisecond

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
	for l, inode := range scan.listening {
		prefix, named := strings.CutSuffix(l, "/"+c.Name+"/command")
		switch {
		case want[l] || named && filepath.IsAbs(prefix):
			// Root first: a path a squatter chose is never resolved.
			pid, ok := rootListener(l)
			if !ok {
				continue
			}
			// The holder is proven before the path in the name is
			// resolved: root of a container that shares the host's
			// network namespace could otherwise make golxc follow a
			// path of its choosing.
			if run := c.proveLXC(scan, l, inode, pid); run != nil && (want[l] || c.resolvesHere(prefix)) {
				return run, nil
			}
		case strings.HasPrefix(l, "lxc/") && strings.HasSuffix(l, "/command"):
			otherHashed = true
		}
	}
	if !otherHashed {
		return nil, nil
	}
	for _, m := range c.lxcMonitors(scan.titled()) {
		l := lxcSocketName(m.lxcpath, c.Name)
		if inodes, ok := scan.listening[l]; ok {
			if pid, ok := rootListener(l); ok {
				if run := c.proveLXC(scan, l, inodes, pid); run != nil {
					return run, nil
				}
			}
		}
	}
	return nil, nil
}

// proveLXC looks for the process of our pid namespace that holds root's
// listening socket l (any of the inodes /proc/net/unix lists for the name:
// a user's forged line adds one): lxc-start -F itself (the listener's
// pid), or the monitor titled for this container. A listener none holds
// is given lxcStartWindow, once per scan, for LXC's monitor to take its
// title, then taken for a squatter's.
func (c *Container) proveLXC(scan *LXCScan, l string, inodes []uint64, listenerPid int) *LXCRun {
	monitors := scan.titled()
	scan.deadlineOnce.Do(func() { scan.deadline = time.Now().Add(lxcStartWindow) })
	for deadline := scan.deadline; ; {
		candidates := []int{listenerPid}
		for _, m := range monitorsNaming(monitors, l, c.Name) {
			candidates = append(candidates, m.pid)
		}
		for _, pid := range candidates {
			for _, inode := range inodes {
				if holdsSocket(pid, inode) {
					run := &LXCRun{Socket: l, MonitorPid: pid, InitPid: firstChild(pid)}
					if run.InitPid > 0 {
						run.Cgroup = topCgroup(run.InitPid)
					}
					return run
				}
			}
		}
		if time.Now().After(deadline) {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
		monitors = lxcMonitorProcs()
	}
}

// monitorsNaming are those of monitors whose title makes socket name l
// for container name: LXC names the socket and titles its monitor from
// the same lxcpath string, so only those can hold l. Matched as strings,
// nothing resolved. (Candidates filtered by "resolves to this store"
// instead left no candidate for a listener of the same name in another
// lxcpath, LXC's container of that name running elsewhere: each start
// then waited out lxcStartWindow re-reading /proc every 20 ms.)
func monitorsNaming(monitors []lxcMonitorProc, l, name string) []lxcMonitorProc {
	var out []lxcMonitorProc
	for _, m := range monitors {
		if m.name == name && lxcSocketName(m.lxcpath, m.name) == l {
			out = append(out, m)
		}
	}
	return out
}

// titled is the host's LXC monitors, read once per scan.
func (s *LXCScan) titled() []lxcMonitorProc {
	s.monitorsOnce.Do(func() { s.monitors = lxcMonitorProcs() })
	return s.monitors
}

// lxcMonitors are those of monitors that are this container's: its name,
// an lxcpath that resolves to this store.
func (c *Container) lxcMonitors(monitors []lxcMonitorProc) []lxcMonitorProc {
	var mine []lxcMonitorProc
	for _, m := range monitors {
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

// abstractListeners maps the abstract unix stream sockets of our network
// namespace that listen and whose name ends in "/command" (all LXC names),
// by name, to their inodes. It asks the kernel's sock_diag for listeners
// only: /proc/net/unix prints every unix socket of the namespace, and a
// host running a thousand containers has thousands (each golxc container
// keeps a listener and its reserved LXC names, each of its processes'
// sockets count too), so reading it cost every start ~2 ms at 1000
// running, growing with N. A kernel without unix_diag gets the old read.
func abstractListeners() (map[string][]uint64, error) {
	names, err := diagListeners()
	if err != nil {
		// No unix_diag, or netlink refused (a filter, a security
		// module) or broken: /proc/net/unix, which fails closed.
		return procListeners()
	}
	return names, nil
}

// errNoUnixDiag: the kernel has no unix_diag (CONFIG_UNIX_DIAG).
var errNoUnixDiag = errors.New("no unix_diag in this kernel")

// Of linux/unix_diag.h and linux/sock_diag.h.
const (
	udiagShowName = 0x1 // UDIAG_SHOW_NAME
	unixDiagName  = 0   // UNIX_DIAG_NAME, an attribute: sun_path as bound
	tcpListen     = 10  // TCP_LISTEN, the state of a listening socket
	unixDiagReqSz = 24  // struct unix_diag_req
	unixDiagMsgSz = 16  // struct unix_diag_msg
)

// diagListeners is abstractListeners through a NETLINK_SOCK_DIAG dump
// of the listening unix sockets (the state filtered by the kernel). Each
// name comes as the bytes it was bound with: a name cannot fake another
// as a line of /proc/net/unix can.
func diagListeners() (map[string][]uint64, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
	if err != nil {
		if err == unix.EPROTONOSUPPORT || err == unix.EAFNOSUPPORT {
			return nil, errNoUnixDiag
		}
		return nil, fmt.Errorf("look for LXC's monitors: sock_diag socket: %w", err)
	}
	defer unix.Close(fd)
	req := make([]byte, unixDiagReqSz)
	req[0] = unix.AF_UNIX
	binary.NativeEndian.PutUint32(req[4:], 1<<tcpListen)
	binary.NativeEndian.PutUint32(req[12:], udiagShowName)
	// network.Dump takes only the kernel's answer to this request: a
	// process with CAP_NET_ADMIN over the host's network namespace (a
	// privileged container sharing it) can send to this port, and an
	// early NLMSG_DONE of its own would hide LXC's listener.
	msgs, err := network.Dump(fd, unix.SOCK_DIAG_BY_FAMILY, req)
	if err != nil {
		return nil, fmt.Errorf("look for LXC's monitors: sock_diag: %w", err)
	}
	names := map[string][]uint64{}
	for _, m := range msgs {
		if m.Header.Type != unix.SOCK_DIAG_BY_FAMILY {
			continue
		}
		if name, inode, ok := diagAbstractCommand(m.Data); ok {
			names[name] = append(names[name], inode)
		}
	}
	return names, nil
}

// diagAbstractCommand reads one unix_diag_msg: a stream socket bound to
// an abstract name ending in "/command", that name (without its leading
// NUL) and the socket's inode.
func diagAbstractCommand(m []byte) (string, uint64, bool) {
	if len(m) < unixDiagMsgSz || m[0] != unix.AF_UNIX || m[1] != unix.SOCK_STREAM {
		return "", 0, false
	}
	inode := uint64(binary.NativeEndian.Uint32(m[4:]))
	for a := m[unixDiagMsgSz:]; len(a) >= unix.SizeofRtAttr; {
		l := int(binary.NativeEndian.Uint16(a[0:]))
		if l < unix.SizeofRtAttr || l > len(a) {
			return "", 0, false
		}
		typ, val := binary.NativeEndian.Uint16(a[2:]), a[unix.SizeofRtAttr:l]
		a = a[min(nlmAlign(l), len(a)):]
		if typ != unixDiagName {
			continue
		}
		if len(val) < 2 || val[0] != 0 || !bytes.HasSuffix(val, []byte("/command")) {
			return "", 0, false // a path, or nothing LXC names
		}
		return string(val[1:]), inode, true
	}
	return "", 0, false
}

// nlmAlign rounds a netlink length up to its 4-byte alignment.
func nlmAlign(l int) int { return (l + unix.NLMSG_ALIGNTO - 1) &^ (unix.NLMSG_ALIGNTO - 1) }

// procListeners is abstractListeners from /proc/net/unix. Names are as
// it prints them (a NUL inside becomes '@'); one that fakes a line of its
// own only adds a name that rootListener and holdsSocket then check.
func procListeners() (map[string][]uint64, error) {
	f, err := os.Open("/proc/net/unix")
	if err != nil {
		return nil, fmt.Errorf("look for LXC's monitors: %w", err)
	}
	defer f.Close()
	names := map[string][]uint64{}
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
		inode, err := strconv.ParseUint(fields[6], 10, 64)
		i := strings.Index(line, " @")
		if err != nil || i < 0 {
			continue
		}
		names[line[i+2:]] = append(names[line[i+2:]], inode)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read /proc/net/unix: %w", err)
	}
	return names, nil
}

// rootListener reports whether abstract socket name is listened on by
// root, and the pid that listened (in our pid namespace; 0 if outside it).
func rootListener(name string) (int, bool) {
	d := net.Dialer{Timeout: lxcDialTimeout}
	conn, err := d.Dial("unix", "@"+name)
	if err != nil {
		return 0, false
	}
	defer conn.Close()
	raw, err := conn.(*net.UnixConn).SyscallConn()
	if err != nil {
		return 0, false
	}
	var cred *unix.Ucred
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil || cerr != nil {
		return 0, false
	}
	return int(cred.Pid), cred.Uid == 0
}

// holdsSocket reports whether pid is a root process of our pid namespace
// with socket inode open.
func holdsSocket(pid int, inode uint64) bool {
	if pid <= 0 || !rootProcess(pid) || !samePidNS(pid) {
		return false
	}
	dir := filepath.Join("/proc", strconv.Itoa(pid), "fd")
	fds, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	want := "socket:[" + strconv.FormatUint(inode, 10) + "]"
	for _, fd := range fds {
		if link, err := os.Readlink(filepath.Join(dir, fd.Name())); err == nil && link == want {
			return true
		}
	}
	return false
}

// samePidNS reports whether pid is in our pid namespace: a container's
// processes are not, whatever their uid and title.
func samePidNS(pid int) bool {
	var a, b unix.Stat_t
	return unix.Stat("/proc/self/ns/pid", &a) == nil &&
		unix.Stat(filepath.Join("/proc", strconv.Itoa(pid), "ns", "pid"), &b) == nil &&
		a.Dev == b.Dev && a.Ino == b.Ino
}

// lxcMonitorProcs lists the root processes titled "[lxc monitor] LXCPATH
// NAME", that being their only argument, and not golxc's own monitors
// (titled the same, told apart by the GOLXC_STAGE of their environment).
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
		if i < 1 || !rootProcess(pid) || golxcMonitor(pid) {
			continue
		}
		procs = append(procs, lxcMonitorProc{pid: pid, lxcpath: rest[:i], name: rest[i+1:]})
	}
	return procs
}

// golxcMonitor reports whether pid is one of golxc's own monitors.
func golxcMonitor(pid int) bool {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "environ"))
	return err == nil && (bytes.HasPrefix(b, []byte(StageEnv+"=")) || bytes.Contains(b, []byte("\x00"+StageEnv+"=")))
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
	// The container's cgroup is the top one; its init may have moved
	// below it (systemd's init.scope).
	for _, p := range []string{memory, unified} {
		rel, ok := strings.CutPrefix(p, "/")
		if top, _, _ := strings.Cut(rel, "/"); ok && strings.HasPrefix(top, "lxc.payload.") {
			return top
		}
	}
	return ""
}

// reserveLXCNames binds the abstract names LXC's own tools give this
// container's command socket (LXC names it after the lxcpath as typed: the
// spelling given here and the resolved one), never listening on them, and
// hands them to the lock, which the monitor holds for the container's
// life. LXC cannot see golxc's monitor; with the names taken, its monitor
// cannot make its command socket and its lxc-start fails instead of
// starting a second copy on the same rootfs. Taken under the lock and
// before the check for LXC's own monitor, so no LXC start slips in
// between. Nobody can connect to a name that is not listened on, so it
// opens no way in; a name already taken (LXC's, found by the check, or a
// squatter's) is skipped.
func (c *Container) reserveLXCNames(l *Lock) {
	seen := map[string]bool{}
	for _, p := range []string{c.typed, c.LXCPath} {
		if p == "" {
			continue
		}
		name := lxcSocketName(p, c.Name)
		if seen[name] {
			continue
		}
		seen[name] = true
		fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			continue
		}
		if err := unix.Bind(fd, &unix.SockaddrUnix{Name: "@" + name}); err != nil {
			unix.Close(fd)
			continue
		}
		l.reserved = append(l.reserved, os.NewFile(uintptr(fd), "@"+name))
	}
}
