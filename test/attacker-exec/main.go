// Command attacker-exec plays a container's root against lxc-execute and
// lxc-start -F, for test/attack_execute_test.go. It is built static and
// copied into a container's rootfs; it prints what it found, one fact a
// line, and the test judges.
//
//	inject [FILE]  TIOCSTI "echo INJECTED\n" into fd 0 and /dev/tty; say
//	          which devpts instance each standard descriptor is on (to
//	          FILE too)
//	interact  print the window size, echo typed lines until "hello",
//	          print the size again after a SIGWINCH, exit 7
//	exe       try to read and rewrite /proc/1/exe; classify /proc/1/fd
package main

import (
	"bufio"
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
		fmt.Fprintln(os.Stderr, "usage: attacker-exec inject|interact|exe")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "inject":
		inject()
	case "interact":
		os.Exit(interact())
	case "exe":
		exe()
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
