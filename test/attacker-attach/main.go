// Command attacker-attach plays a container's root against lxc-attach.
// The tests in test/attack_attach_test.go copy it, statically built, into
// a container's rootfs.
//
//	watch SECRET DEV INO STOPFILE
//	    Scan /proc for processes that appear, and try on each what a
//	    container's root can: read its environment and its memory for
//	    SECRET (a variable of the host's lxc-attach), list its fds for
//	    host paths, open its exe for writing, and stat the exe to see
//	    whether it is the host's golxc (DEV, INO). Print "READY" after the
//	    first scan, one "FOUND ..." line per finding, and "SEEN n PRE-EXEC
//	    m" when STOPFILE appears.
//	tiocsti
//	    Push "echo INJECTED\n" into the input of its stdin's terminal
//	    and of /dev/tty with TIOCSTI, then say what its stdin is.
package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: attacker-attach watch SECRET DEV INO STOPFILE | tiocsti")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "watch":
		if len(os.Args) != 6 {
			os.Exit(2)
		}
		dev, _ := strconv.ParseUint(os.Args[3], 10, 64)
		ino, _ := strconv.ParseUint(os.Args[4], 10, 64)
		watch([]byte(os.Args[2]), dev, ino, os.Args[5])
	case "tiocsti":
		tiocsti()
	default:
		os.Exit(2)
	}
}

func watch(secret []byte, dev, ino uint64, stop string) {
	self := os.Getpid()
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

func tiocsti() {
	inject := func(fd int) error {
		for _, c := range []byte("echo INJECTED\n") {
			b := c
			if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.TIOCSTI, uintptr(unsafePtr(&b))); e != 0 {
				return e
			}
		}
		return nil
	}
	fmt.Printf("TIOCSTI stdin: %v\n", inject(0))
	if fd, err := unix.Open("/dev/tty", unix.O_RDWR|unix.O_NOCTTY, 0); err == nil {
		fmt.Printf("TIOCSTI /dev/tty: %v\n", inject(fd))
		unix.Close(fd)
	} else {
		fmt.Printf("TIOCSTI /dev/tty: open: %v\n", err)
	}
	var sfs unix.Statfs_t
	var st, pts unix.Stat_t
	_ = unix.Fstatfs(0, &sfs)
	_ = unix.Fstat(0, &st)
	_ = unix.Stat("/dev/pts", &pts)
	fmt.Printf("STDIN devpts=%v same-devpts=%v\n", sfs.Type == unix.DEVPTS_SUPER_MAGIC, st.Dev == pts.Dev)
	// Let what was pushed sit in the queue as the command exits.
	time.Sleep(100 * time.Millisecond)
}

func unsafePtr(b *byte) uintptr { return uintptr(unsafe.Pointer(b)) }
