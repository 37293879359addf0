package lxc

import (
	"encoding/binary"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// LXC 5.0.2's command socket names, as observed (/proc/net/unix, strace of
// lxc-info): plain up to 105 bytes, hashed from 106.
func TestLXCSocketName(t *testing.T) {
	tests := []struct {
		lxcpath, name, want string
	}{
		{"/tmp/c8store/lp", "stlxc1", "/tmp/c8store/lp/stlxc1/command"},
		{"/var/lib/lxc", "c1", "/var/lib/lxc/c1/command"},
		// 105 bytes: still plain.
		{"/tmp/c8store/" + strings.Repeat("b", 77), "stlxc1", "/tmp/c8store/" + strings.Repeat("b", 77) + "/stlxc1/command"},
		// 106 bytes: hashed.
		{"/tmp/c8store/" + strings.Repeat("b", 78), "stlxc1", "lxc/2fa2f8f458092fa9/command"},
		{"/tmp/c8store/" + strings.Repeat("a", 100), "stlxc2", "lxc/d588b439315bc414/command"},
	}
	for _, tt := range tests {
		if got := lxcSocketName(tt.lxcpath, tt.name); got != tt.want {
			t.Errorf("lxcSocketName(%q, %q) = %q, want %q", tt.lxcpath, tt.name, got, tt.want)
		}
	}
}

func TestTopCgroup(t *testing.T) {
	if got := topCgroup(os.Getpid()); strings.Contains(got, "/") {
		t.Errorf("topCgroup(self) = %q: not a top-level name", got)
	}
	if got := topCgroup(-1); got != "" {
		t.Errorf("topCgroup(-1) = %q, want \"\"", got)
	}
}

func TestResolveLXCPath(t *testing.T) {
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	real := filepath.Join(dir, "real")
	if err := os.Mkdir(real, 0o755); err != nil {
		t.Fatal(err)
	}
	link := func(name, to string) string {
		p := filepath.Join(dir, name)
		if err := os.Symlink(to, p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	alias := link("alias", real)
	chain := link("chain", alias)
	rel := link("rel", "real")
	dangling := link("dangling", filepath.Join(dir, "nowhere"))
	tests := []struct{ in, want string }{
		{real, real},
		{alias, real},
		{chain, real},
		{rel, real},
		{filepath.Join(alias, "not", "yet"), filepath.Join(real, "not", "yet")},
		{filepath.Join(dir, "missing"), filepath.Join(dir, "missing")},
		{dangling, dangling},
		{filepath.Join(dangling, "sub"), filepath.Join(dangling, "sub")},
	}
	for _, tt := range tests {
		got, err := ResolveLXCPath(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ResolveLXCPath(%s) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	// New keys the container on the resolved path.
	a, err := New(alias, "c1")
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(real, "c1")
	if err != nil {
		t.Fatal(err)
	}
	if a.LXCPath != b.LXCPath || a.lockPath() != b.lockPath() {
		t.Errorf("through %s: %s (lock %s); through %s: %s (lock %s): want one store", alias, a.LXCPath, a.lockPath(), real, b.LXCPath, b.lockPath())
	}
}

// A work directory a live worker holds is never swept; one whose worker is
// gone is, and so is the debris of the sweeping create's own name.
func TestSweepTakesWorkDirLock(t *testing.T) {
	lxcpath := t.TempDir()
	held, err := makeWorkDir(lxcpath, ".held"+creatingInfix)
	if err != nil {
		t.Fatal(err)
	}
	defer held.release()
	dropped, err := makeWorkDir(lxcpath, ".dropped"+destroyingInfix)
	if err != nil {
		t.Fatal(err)
	}
	dropped.release()
	own, err := makeWorkDir(lxcpath, ".own"+creatingInfix)
	if err != nil {
		t.Fatal(err)
	}
	own.release()
	sweepStale(lxcpath, "own")
	if _, err := os.Stat(held.path); err != nil {
		t.Errorf("swept a held work dir: %v", err)
	}
	for _, p := range []string{dropped.path, own.path} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("%s (lock free) not swept", filepath.Base(p))
		}
	}
}

// A listener of this process is found with its inode, by the sock_diag
// dump and by /proc/net/unix alike, and this process (root, in its own
// pid namespace) holds it; nobody holds another inode. A name bound but
// not listened on (golxc's reservation of LXC's names), a path socket and
// a name not ending in "/command" are not listed.
func TestAbstractListenerHolder(t *testing.T) {
	skipUnlessRoot(t)
	base := "golxc-test/" + strconv.Itoa(os.Getpid())
	name := base + "/c1/command"
	ln, err := net.Listen("unix", "@"+name)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	other, err := net.Listen("unix", "@"+base+"/c1/other")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	pathName := filepath.Join(t.TempDir(), "command")
	path, err := net.Listen("unix", pathName)
	if err != nil {
		t.Fatal(err)
	}
	defer path.Close()
	bound := base + "/c2/command"
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: "@" + bound}); err != nil {
		t.Fatal(err)
	}
	diag, err := diagListeners()
	if err != nil {
		t.Fatalf("diagListeners: %v", err)
	}
	proc, err := procListeners()
	if err != nil {
		t.Fatal(err)
	}
	for how, l := range map[string]map[string][]uint64{"sock_diag": diag, "/proc/net/unix": proc} {
		if inodes := l[name]; len(inodes) != 1 {
			t.Errorf("%s: %v for %s, want one inode", how, inodes, name)
		}
		for _, k := range []string{bound, pathName, base + "/c1/other"} {
			if _, ok := l[k]; ok {
				t.Errorf("%s lists %s (bound but not listening, a path, or not .../command)", how, k)
			}
		}
	}
	if !slices.Equal(diag[name], proc[name]) {
		t.Errorf("inodes of %s: sock_diag %v, /proc/net/unix %v", name, diag[name], proc[name])
	}
	inode := diag[name][0]
	if pid, root := rootListener(name); !root || pid != os.Getpid() {
		t.Errorf("rootListener(%s) = %d, %v; want %d, true", name, pid, root, os.Getpid())
	}
	if !holdsSocket(os.Getpid(), inode) {
		t.Errorf("holdsSocket(self, %d) = false", inode)
	}
	if holdsSocket(os.Getpid(), inode+1_000_000_000) {
		t.Errorf("holdsSocket(self, another inode) = true")
	}
}

// The candidates for holding LXC's socket are the monitors whose title
// makes that socket's name: LXC's monitor of a same-named container in
// another lxcpath is a candidate for its own socket (so its listener is
// proven at once, not waited on), and never for this store's.
func TestMonitorsNaming(t *testing.T) {
	long := "/tmp/c8store/" + strings.Repeat("b", 78)
	monitors := []lxcMonitorProc{
		{pid: 10, lxcpath: "/tmp/other", name: "a1"},
		{pid: 11, lxcpath: "/tmp/here", name: "a1"},
		{pid: 12, lxcpath: "/tmp/here/", name: "a1"}, // another spelling: another socket name
		{pid: 13, lxcpath: "/tmp/here", name: "a2"},
		{pid: 14, lxcpath: long, name: "a1"},
	}
	pids := func(ms []lxcMonitorProc) (out []int) {
		for _, m := range ms {
			out = append(out, m.pid)
		}
		return out
	}
	for _, tt := range []struct {
		l, name string
		want    []int
	}{
		{"/tmp/other/a1/command", "a1", []int{10}},
		{"/tmp/here/a1/command", "a1", []int{11}},
		{"/tmp/here//a1/command", "a1", []int{12}},
		{"/tmp/here/a2/command", "a1", nil},
		{lxcSocketName(long, "a1"), "a1", []int{14}},
		{"/tmp/nowhere/a1/command", "a1", nil},
	} {
		if got := pids(monitorsNaming(monitors, tt.l, tt.name)); !slices.Equal(got, tt.want) {
			t.Errorf("monitorsNaming(%q, %q) = %v, want %v", tt.l, tt.name, got, tt.want)
		}
	}
}

// The two ways of listing the host's listeners, on whatever the host runs
// (go test -bench AbstractListeners ./internal/lxc with many containers up).
func BenchmarkAbstractListeners(b *testing.B) {
	for _, f := range []struct {
		name string
		list func() (map[string][]uint64, error)
	}{{"sock_diag", diagListeners}, {"proc", procListeners}} {
		b.Run(f.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := f.list(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// diagAbstractCommand reads only what it can trust of a unix_diag_msg:
// a stream socket, an abstract name ending in "/command" (a path, a
// datagram socket or a cut attribute gives nothing, and never a panic).
func TestDiagAbstractCommand(t *testing.T) {
	msg := func(typ byte, inode uint32, name []byte, attrLen int) []byte {
		m := make([]byte, unixDiagMsgSz, unixDiagMsgSz+4+len(name)+3)
		m[0], m[1] = unix.AF_UNIX, typ
		binary.NativeEndian.PutUint32(m[4:], inode)
		a := make([]byte, 4)
		binary.NativeEndian.PutUint16(a[0:], uint16(attrLen))
		binary.NativeEndian.PutUint16(a[2:], unixDiagName)
		m = append(append(m, a...), name...)
		for len(m)%4 != 0 {
			m = append(m, 0)
		}
		return m
	}
	abstract := append([]byte{0}, "/tmp/p/c1/command"...)
	for _, tt := range []struct {
		what  string
		m     []byte
		name  string
		inode uint64
		ok    bool
	}{
		{"abstract stream listener", msg(unix.SOCK_STREAM, 42, abstract, 4+len(abstract)), "/tmp/p/c1/command", 42, true},
		{"a path", msg(unix.SOCK_STREAM, 43, []byte("/tmp/p/c1/command\x00"), 4+18), "", 0, false},
		{"a datagram socket", msg(unix.SOCK_DGRAM, 44, abstract, 4+len(abstract)), "", 0, false},
		{"not .../command", msg(unix.SOCK_STREAM, 45, []byte("\x00/tmp/p/c1/other"), 4+17), "", 0, false},
		{"an attribute longer than the message", msg(unix.SOCK_STREAM, 46, abstract, 4+len(abstract)+64), "", 0, false},
		{"an attribute shorter than its header", msg(unix.SOCK_STREAM, 47, abstract, 2), "", 0, false},
		{"a short message", make([]byte, unixDiagMsgSz-1), "", 0, false},
	} {
		name, inode, ok := diagAbstractCommand(tt.m)
		if name != tt.name || inode != tt.inode || ok != tt.ok {
			t.Errorf("%s: got %q, %d, %v; want %q, %d, %v", tt.what, name, inode, ok, tt.name, tt.inode, tt.ok)
		}
	}
}

// TestDiagListenersSpoofedDone: a process with CAP_NET_ADMIN over the
// host's network namespace (root of a privileged container sharing it)
// can send to the port of golxc's sock_diag socket; an NLMSG_DONE of its
// own ending a dump of several parts early hid LXC's listener, and a start
// of a container LXC runs went ahead. Only the kernel's messages, of this
// request, count; a dump the flood broke is read from /proc/net/unix.
func TestDiagListenersSpoofedDone(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("sending to another netlink port needs CAP_NET_ADMIN: not root")
	}
	// Enough listeners for a dump of several parts, the LXC-style one last.
	var lns []net.Listener
	defer func() {
		for _, l := range lns {
			l.Close()
		}
	}()
	tag := "gxspoof" + strconv.Itoa(os.Getpid())
	for i := 0; i < 600; i++ {
		l, err := net.Listen("unix", "@"+tag+"/filler"+strconv.Itoa(i))
		if err != nil {
			t.Skipf("abstract listener: %v", err)
		}
		lns = append(lns, l)
	}
	want := tag + "/c1/command"
	l, err := net.Listen("unix", "@"+want)
	if err != nil {
		t.Fatal(err)
	}
	lns = append(lns, l)
	// The sprayer: NLMSG_DONE to the port the victim's socket gets (the
	// process's pid, its first netlink socket's).
	spray, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
	if err != nil {
		t.Skipf("netlink: %v", err)
	}
	defer unix.Close(spray)
	if err := unix.Bind(spray, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Pid: uint32(os.Getpid()) + 7777}); err != nil {
		t.Skipf("bind the sprayer: %v", err)
	}
	done := make([]byte, unix.NLMSG_HDRLEN+4)
	binary.NativeEndian.PutUint32(done[0:], uint32(len(done)))
	binary.NativeEndian.PutUint16(done[4:], unix.NLMSG_DONE)
	binary.NativeEndian.PutUint16(done[6:], unix.NLM_F_MULTI)
	binary.NativeEndian.PutUint32(done[8:], 1)
	binary.NativeEndian.PutUint32(done[12:], uint32(os.Getpid()))
	stop := make(chan struct{})
	sprayed := make(chan struct{})
	go func() {
		defer close(sprayed)
		for {
			select {
			case <-stop:
				return
			default:
			}
			_ = unix.Sendto(spray, done, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Pid: uint32(os.Getpid())})
		}
	}()
	missed := 0
	for i := 0; i < 300; i++ {
		// A flood may overrun the socket (ENOBUFS): the scan then falls
		// back to /proc/net/unix, and still finds the listener.
		names, err := abstractListeners()
		if err != nil {
			t.Fatal(err)
		}
		if len(names[want]) == 0 {
			missed++
		}
	}
	close(stop)
	<-sprayed
	if missed > 0 {
		t.Errorf("%d of 300 sock_diag scans missed a listener while another port sent NLMSG_DONE", missed)
	}
}
