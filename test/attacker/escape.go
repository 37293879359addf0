package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// escapeArgs is what the test tells the attacker about the host.
type escapeArgs struct {
	disk     uint64 // the host's root block device (major:minor)
	fstype   string // the file system on it
	marker   string // argv[0] of a process the test runs on the host
	socket   string // the container's command socket, as the host names it
	hostname string // the host's name
	mounts   bool   // also try to remount and mount afresh (CAP_SYS_ADMIN dropped)
}

// escape tries, as the container's root, each way out of a privileged
// container that the container's set-up must close, and prints one line
// per attempt: "NAME: blocked DETAIL", "NAME: absent DETAIL" (this kernel
// has no such file: nothing to reach) or "NAME: ESCAPED DETAIL". The test
// judges; the attacker never changes anything of the host's that it
// reaches (it opens for writing without writing, sets the clock to the
// time it just read, reads a disk without writing it).
//
//	escape MAJOR:MINOR FSTYPE MARKER SOCKET HOSTNAME [mounts]
func escape(args []string) {
	if len(args) < 5 {
		fmt.Fprintln(os.Stderr, "usage: attacker escape MAJOR:MINOR FSTYPE MARKER SOCKET HOSTNAME [mounts]")
		os.Exit(2)
	}
	maj, min, _ := strings.Cut(args[0], ":")
	ma, _ := strconv.ParseUint(maj, 10, 32)
	mi, _ := strconv.ParseUint(min, 10, 32)
	a := escapeArgs{disk: unix.Mkdev(uint32(ma), uint32(mi)), fstype: args[1], marker: args[2], socket: args[3], hostname: args[4]}
	a.mounts = len(args) > 5 && args[5] == "mounts"

	openForWrite("sysrq-trigger", "/proc/sysrq-trigger")
	for _, p := range []string{"/proc/sys/kernel/core_pattern", "/proc/sys/kernel/modprobe", "/proc/sys/vm/drop_caches", "/proc/sys/kernel/hostname"} {
		openForWrite("proc-sys "+p, p)
	}
	for _, p := range []string{"/sys/kernel/mm/transparent_hugepage/enabled", "/sys/kernel/profiling", "/sys/power/state", "/sys/module/printk/parameters/time", "/sys/kernel/uevent_helper"} {
		openForWrite("sys-write "+p, p)
	}
	create("sys-create /sys/class/golxc-escape", "/sys/class/golxc-escape")
	for _, p := range []string{"/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sched_debug", "/proc/latency_stats", "/proc/interrupts", "/proc/acpi", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap"} {
		readMasked("read "+p, p)
	}
	node := mknodDisk(a.disk)
	mountDisk(node, a.fstype)
	if node != "" {
		os.Remove(node)
	}
	loadModule()
	setTime()
	setHostname(a.marker)
	hostProcesses(a.marker)
	leakedFDs()
	commandSocket(a.socket)
	releaseAgent()
	if a.mounts {
		remounts()
	}
	fmt.Println("done")
}

func report(name, verdict, format string, v ...any) {
	fmt.Printf("%s: %s %s\n", name, verdict, fmt.Sprintf(format, v...))
}

func absentOr(name string, err error) {
	if errors.Is(err, unix.ENOENT) {
		report(name, "absent", "%v", err)
		return
	}
	report(name, "blocked", "%v", err)
}

// openForWrite opens p for writing and closes it unwritten: being allowed
// to open it is the escape.
func openForWrite(name, p string) {
	fd, err := unix.Open(p, unix.O_WRONLY|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
	if err != nil {
		absentOr(name, err)
		return
	}
	unix.Close(fd)
	report(name, "ESCAPED", "opened %s for writing", p)
}

func create(name, p string) {
	fd, err := unix.Open(p, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, 0o600)
	if err != nil {
		report(name, "blocked", "%v", err)
		return
	}
	unix.Close(fd)
	os.Remove(p)
	report(name, "ESCAPED", "created %s", p)
}

// readMasked reads p, a file or directory that must be masked: the null
// device over a file, an empty tmpfs over a directory. The kernel's own
// file readable, even empty, is the escape: what it shows depends on the
// host, not on the mask.
func readMasked(name, p string) {
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		absentOr(name, err)
		return
	}
	var fs unix.Statfs_t
	_ = unix.Statfs(p, &fs)
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFCHR:
		if st.Rdev == unix.Mkdev(1, 3) {
			b, _ := os.ReadFile(p)
			if len(b) == 0 {
				report(name, "blocked", "masked by the null device")
				return
			}
		}
		report(name, "ESCAPED", "a character device %d:%d", unix.Major(st.Rdev), unix.Minor(st.Rdev))
	case unix.S_IFDIR:
		ents, err := os.ReadDir(p)
		if err != nil {
			report(name, "blocked", "%v", err)
			return
		}
		if fs.Type == unix.TMPFS_MAGIC && len(ents) == 0 {
			report(name, "blocked", "masked by an empty tmpfs")
			return
		}
		report(name, "ESCAPED", "%d entries readable (file system %#x)", len(ents), fs.Type)
	default:
		f, err := os.Open(p)
		if err != nil {
			report(name, "blocked", "%v", err)
			return
		}
		defer f.Close()
		buf := make([]byte, 4096)
		n, err := f.Read(buf)
		if err != nil && n == 0 && !errors.Is(err, io.EOF) {
			report(name, "blocked", "read: %v", err)
			return
		}
		report(name, "ESCAPED", "the kernel's file is readable (%d bytes, file system %#x)", n, fs.Type)
	}
}

// mknodDisk makes a node of the host's root disk and reads its first
// sector. It returns the node's path for mountDisk when mknod worked.
func mknodDisk(dev uint64) string {
	const name = "mknod-read-disk"
	node := "/dev/golxc-escape-disk"
	if err := unix.Mknod(node, unix.S_IFBLK|0o600, int(dev)); err != nil {
		report(name, "blocked", "mknod %d:%d: %v", unix.Major(dev), unix.Minor(dev), err)
		return ""
	}
	f, err := os.Open(node)
	if err != nil {
		report(name, "blocked", "mknod worked, open: %v", err)
		return node
	}
	defer f.Close()
	buf := make([]byte, 512)
	n, err := f.Read(buf)
	if err != nil {
		report(name, "blocked", "mknod and open worked, read: %v", err)
		return node
	}
	report(name, "ESCAPED", "read %d bytes of the host's disk %d:%d", n, unix.Major(dev), unix.Minor(dev))
	return node
}

// mountDisk mounts the host's root disk and lists it.
func mountDisk(node, fstype string) {
	const name = "mount-disk"
	if node == "" {
		report(name, "blocked", "no node of the host's disk")
		return
	}
	dir := "/tmp/golxc-escape-mnt"
	if err := os.MkdirAll(dir, 0o700); err != nil {
		report(name, "blocked", "mkdir: %v", err)
		return
	}
	defer os.Remove(dir)
	// Not read-only: the kernel hands out the host's superblock, which is
	// read-write, and refuses a read-only mount of it with EBUSY.
	if err := unix.Mount(node, dir, fstype, unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		report(name, "blocked", "%v", err)
		return
	}
	ents, _ := os.ReadDir(dir)
	unix.Unmount(dir, unix.MNT_DETACH)
	report(name, "ESCAPED", "mounted the host's disk: %d entries at its root", len(ents))
}

// loadModule asks the kernel to load a module. Only EPERM says the
// capability check refused it: any other error means the kernel went on
// to parse what it was given.
func loadModule() {
	f, err := os.Open("/proc/self/exe")
	if err != nil {
		report("finit_module", "blocked", "open own exe: %v", err)
	} else {
		_, _, e := unix.Syscall(unix.SYS_FINIT_MODULE, f.Fd(), uintptr(unsafePtr("")), 0)
		f.Close()
		verdictEPERM("finit_module", e)
	}
	_, _, e := unix.Syscall(unix.SYS_INIT_MODULE, 0, 0, uintptr(unsafePtr("")))
	verdictEPERM("init_module", e)
	_, _, e = unix.Syscall(unix.SYS_DELETE_MODULE, uintptr(unsafePtr("golxc_no_such_module")), 0, 0)
	verdictEPERM("delete_module", e)
}

func verdictEPERM(name string, e unix.Errno) {
	if e == unix.ENOSYS && strings.HasSuffix(name, "module") {
		// A kernel without module support: what would refuse a kernel
		// with it is the missing capability.
		const capSysModule = 16
		if capField(os.Getpid(), "CapBnd:")&(1<<capSysModule) != 0 {
			report(name, "ESCAPED", "no module support in this kernel (%v), but CAP_SYS_MODULE is in the bounding set", e)
		} else {
			report(name, "blocked", "no module support in this kernel (%v), and CAP_SYS_MODULE is not in the bounding set", e)
		}
		return
	}
	if e == unix.EPERM {
		report(name, "blocked", "%v", e)
		return
	}
	report(name, "ESCAPED", "passed the capability check (%v)", e)
}

// setTime sets the host's clock to what it reads.
func setTime() {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_REALTIME, &ts); err != nil {
		report("clock_settime", "blocked", "gettime: %v", err)
		return
	}
	_, _, e := unix.Syscall(unix.SYS_CLOCK_SETTIME, unix.CLOCK_REALTIME, uintptr(unsafe.Pointer(&ts)), 0)
	verdictEPERM("clock_settime", e)
	tv := unix.NsecToTimeval(time.Now().UnixNano())
	verdictEPERM("settimeofday", errnoOf(unix.Settimeofday(&tv)))
}

func errnoOf(err error) unix.Errno {
	var e unix.Errno
	if errors.As(err, &e) {
		return e
	}
	return 0
}

// setHostname changes the name of the container's UTS namespace; the test
// checks the host's is unchanged.
func setHostname(marker string) {
	name := marker + "-hostname"
	if err := unix.Sethostname([]byte(name)); err != nil {
		report("sethostname", "blocked", "%v", err)
		return
	}
	report("sethostname", "done", "%s (the test checks the host's name)", name)
}

// hostProcesses looks through /proc for a process of the host's (the
// test's marker) and checks that PID 1's root is the container's.
func hostProcesses(marker string) {
	found := ""
	for _, p := range pids() {
		if p == os.Getpid() {
			continue // its arguments name the marker
		}
		b, err := os.ReadFile("/proc/" + strconv.Itoa(p) + "/cmdline")
		if err == nil && bytes.Contains(b, []byte(marker)) {
			found = fmt.Sprintf("pid %d: %q", p, b)
		}
	}
	if found != "" {
		report("host-process", "ESCAPED", "the host's marker process is visible: %s", found)
	} else {
		report("host-process", "blocked", "%d processes visible, none of the host's", len(pids()))
	}
	for _, l := range []string{"/proc/1/root", "/proc/1/cwd", "/proc/self/root"} {
		var st, root unix.Stat_t
		err1 := unix.Stat(l+"/", &st)
		err2 := unix.Stat("/", &root)
		name := "root-of " + l
		switch {
		case err1 != nil || err2 != nil:
			report(name, "blocked", "%v %v", err1, err2)
		case l == "/proc/1/cwd":
			// Init's working directory must lie inside the container's
			// root: walk up from it.
			if inside(l) {
				report(name, "blocked", "inside the container's root")
			} else {
				report(name, "ESCAPED", "outside the container's root")
			}
		case st.Dev == root.Dev && st.Ino == root.Ino:
			report(name, "blocked", "the container's own root")
		default:
			report(name, "ESCAPED", "another root (dev %d ino %d)", st.Dev, st.Ino)
		}
	}
}

// inside reports whether walking ".." up from dir reaches the container's
// "/" (a directory outside it would reach the host's root instead).
func inside(dir string) bool {
	var root unix.Stat_t
	if unix.Stat("/", &root) != nil {
		return false
	}
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	for i := 0; i < 256; i++ {
		var st unix.Stat_t
		if unix.Fstat(fd, &st) != nil {
			break
		}
		if st.Dev == root.Dev && st.Ino == root.Ino {
			unix.Close(fd)
			return true
		}
		up, err := unix.Openat(fd, "..", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		unix.Close(fd)
		if err != nil {
			return false
		}
		fd = up
	}
	unix.Close(fd)
	return false
}

// leakedFDs classifies every descriptor of the container's init and of
// this attached process: a file that is not the container's would let its
// root walk out through /proc/PID/fd.
func leakedFDs() {
	for _, proc := range []string{"1", "self"} {
		dir := filepath.Join("/proc", proc, "fd")
		ents, err := os.ReadDir(dir)
		if err != nil {
			report("fds-of "+proc, "blocked", "%v", err)
			continue
		}
		var outside []string
		for _, e := range ents {
			p := filepath.Join(dir, e.Name())
			link, err := os.Readlink(p)
			if err != nil {
				continue
			}
			if c := classify(p, link); c == "host" || c == "unknown" && !allowedFD(link) {
				outside = append(outside, e.Name()+" -> "+link)
			}
		}
		if len(outside) > 0 {
			report("fds-of "+proc, "ESCAPED", "descriptors outside the container: %s", strings.Join(outside, ", "))
		} else {
			report("fds-of "+proc, "blocked", "%d descriptors, all the container's or anonymous", len(ents))
		}
	}
}

// commandSocket connects to the container's monitor socket by the host's
// path, and looks for golxc's sockets in the abstract namespace.
func commandSocket(path string) {
	c, err := net.DialTimeout("unix", path, 2*time.Second)
	if err != nil {
		report("command-socket", "blocked", "%v", err)
	} else {
		c.Close()
		report("command-socket", "ESCAPED", "connected to %s", path)
	}
	b, err := os.ReadFile("/proc/net/unix")
	if err != nil {
		report("abstract-socket", "blocked", "%v", err)
		return
	}
	if i := bytes.Index(b, []byte("@golxc")); i >= 0 {
		report("abstract-socket", "ESCAPED", "a golxc abstract socket is reachable")
		return
	}
	report("abstract-socket", "blocked", "no golxc abstract socket in this network namespace")
}

// releaseAgent mounts a cgroup v1 hierarchy and looks for its
// release_agent, which runs a program as the host's root (CVE-2022-0492):
// in the container's cgroup namespace the mount's root is the container's
// cgroup, which has none.
func releaseAgent() {
	const name = "release_agent"
	dir := "/tmp/golxc-escape-cg"
	if err := os.MkdirAll(dir, 0o700); err != nil {
		report(name, "blocked", "mkdir: %v", err)
		return
	}
	defer os.Remove(dir)
	var err error
	for _, c := range []string{"memory", "pids", "cpu", "none,name=systemd"} {
		if err = unix.Mount("cgroup", dir, "cgroup", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, c); err == nil {
			break
		}
	}
	if err != nil {
		report(name, "blocked", "mount cgroup: %v", err)
		return
	}
	defer unix.Unmount(dir, unix.MNT_DETACH)
	p := filepath.Join(dir, "release_agent")
	fd, err := unix.Open(p, unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		// ENOENT: the mount's root is not the hierarchy's root.
		report(name, "blocked", "%v", err)
		return
	}
	unix.Close(fd)
	report(name, "ESCAPED", "opened the hierarchy's release_agent for writing")
}

// remounts undoes the read-only and masked mounts the way a root that
// keeps CAP_SYS_ADMIN could: remount, unmount, mount afresh.
func remounts() {
	try := func(name string, err error, undo func()) {
		if err != nil {
			report(name, "blocked", "%v", err)
			return
		}
		undo()
		report(name, "ESCAPED", "allowed")
	}
	try("remount-rw /sys", unix.Mount("", "/sys", "", unix.MS_REMOUNT|unix.MS_BIND, ""), func() {
		unix.Mount("", "/sys", "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "")
	})
	try("umount /proc/sys", unix.Unmount("/proc/sys", unix.MNT_DETACH), func() {})
	try("umount /proc/keys", unix.Unmount("/proc/keys", unix.MNT_DETACH), func() {})
	dir := "/tmp/golxc-escape-fs"
	os.MkdirAll(dir, 0o700)
	defer os.Remove(dir)
	try("mount sysfs", unix.Mount("sysfs", dir, "sysfs", 0, ""), func() { unix.Unmount(dir, unix.MNT_DETACH) })
	try("mount proc", unix.Mount("proc", dir, "proc", 0, ""), func() { unix.Unmount(dir, unix.MNT_DETACH) })
}

// unsafePtr is a NUL-terminated copy of s for a raw system call.
func unsafePtr(s string) unsafe.Pointer {
	p, err := unix.BytePtrFromString(s)
	if err != nil {
		return nil
	}
	return unsafe.Pointer(p)
}
