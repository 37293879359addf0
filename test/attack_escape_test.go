package test

// The escape battery (issue 9) against a privileged container (no
// lxc.idmap) confined as Debian's common.conf confines one: root inside
// tries each way out with real system calls (test/attacker escape) and
// every attempt must fail.

import (
	"bufio"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/golxc/golxc/internal/monitor"
)

// commonConfLines are the lines of /usr/share/lxc/config/common.conf that
// confine a privileged container (its seccomp profile aside), copied so
// that the test needs no lxc package.
var commonConfLines = append([]string{
	"lxc.cap.drop = mac_admin mac_override sys_time sys_module sys_rawio",
	"lxc.mount.auto = cgroup:mixed proc:mixed sys:mixed",
}, commonConfDeviceLines...)

// commonConfDeviceLines are common.conf's device cgroup lines, v1's and
// then v2's, in its order: deny everything, allow mknod of any node, and
// the use of null, zero, full, tty, console, ptmx, random, urandom, the
// ptys and fuse.
var commonConfDeviceLines = func() []string {
	var lines []string
	for _, p := range []string{"lxc.cgroup.", "lxc.cgroup2."} {
		lines = append(lines, p+"devices.deny = a")
		for _, a := range []string{"c *:* m", "b *:* m", "c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 5:0 rwm", "c 5:1 rwm", "c 5:2 rwm", "c 1:8 rwm", "c 1:9 rwm", "c 136:* rwm", "c 10:229 rwm"} {
			lines = append(lines, p+"devices.allow = "+a)
		}
	}
	return lines
}()

// startConfined creates a busybox container whose capabilities and
// automatic mounts are commonConfLines (plus extraDrop dropped), in place
// of the template's, starts it and returns its name.
func (l *lab) startConfined(extraDrop string) string {
	l.t.Helper()
	n := l.createBusybox()
	lines := append([]string{}, commonConfLines...)
	if extraDrop != "" {
		lines = append(lines, "lxc.cap.drop = "+extraDrop)
	}
	rewriteKeys(l.t, l, n, lines)
	l.mustRun("lxc-start", "-n", n)
	l.waitState(n, "RUNNING", 10*time.Second)
	return n
}

// hostRootDisk returns the host's root file system's device and type.
func hostRootDisk(t *testing.T) (dev uint64, fstype string) {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat("/", &st); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		f, g := strings.Fields(pre), strings.Fields(post)
		if ok && len(f) >= 5 && f[4] == "/" && len(g) > 0 {
			fstype = g[0]
		}
	}
	return st.Dev, fstype
}

// hostCanReadDisk says whether the host's root, outside any container,
// can open and read the block device dev through a node of its own: on
// hosts that refuse it (a device cgroup or LSM of the host's), a
// container's failure proves nothing about golxc.
func hostCanReadDisk(t *testing.T, dir string, dev uint64) bool {
	node := filepath.Join(dir, "disk-probe")
	if err := unix.Mknod(node, unix.S_IFBLK|0o600, int(dev)); err != nil {
		return false
	}
	defer os.Remove(node)
	f, err := os.Open(node)
	if err != nil {
		return false
	}
	defer f.Close()
	_, err = f.Read(make([]byte, 512))
	return err == nil
}

// escapeReport runs the attacker's escape attempts in container n and
// returns its verdict line per attempt.
func (l *lab) escapeReport(n, marker string, mounts bool) map[string]string {
	l.t.Helper()
	return l.escapeReportVia("lxc-attach", n, marker, mounts)
}

// escapeReportVia is escapeReport with the attacker run by tool: lxc-attach
// into a running container, or lxc-execute of a stopped one.
func (l *lab) escapeReportVia(tool, n, marker string, mounts bool) map[string]string {
	t := l.t
	t.Helper()
	dev, fstype := hostRootDisk(t)
	host, _ := os.Hostname()
	args := []string{"-n", n, "--", "/attacker", "escape",
		strconv.FormatUint(uint64(unix.Major(dev)), 10) + ":" + strconv.FormatUint(uint64(unix.Minor(dev)), 10),
		fstype, marker, monitor.SocketPath(l.path, n), host}
	if mounts {
		args = append(args, "mounts")
	}
	// stdin a pipe, stdout and stderr pipes: the attached process holds no
	// file of the host's but what the caller passes, and the test passes none.
	out, errs, code := l.runWith(runOpts{stdin: "\n"}, tool, args...)
	if code != 0 || !strings.HasSuffix(out, "done\n") {
		t.Fatalf("%s -n %s -- /attacker escape: exit %d\nstdout: %s\nstderr: %s", tool, n, code, out, errs)
	}
	got := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if name, verdict, ok := strings.Cut(sc.Text(), ": "); ok {
			got[name] = verdict
		}
	}
	return got
}

// startMarker runs a process on the host whose argv[0] is a fresh marker,
// for the container to look for.
func startMarker(t *testing.T) string {
	t.Helper()
	marker := "golxc-host-" + newName(t)
	cmd := exec.Command("/bin/sleep", "300")
	cmd.Args[0] = marker
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	})
	return marker
}

// deviceCgroupAttempts are stopped only by the device cgroup
// (lxc.cgroup.devices.*, lxc.cgroup2.devices.*).
var deviceCgroupAttempts = map[string]bool{"mknod-read-disk": true, "mount-disk": true}

// assertBlocked checks the attempts named; each must be reported and be
// "blocked" (or "absent": this kernel has no such file, so none to reach).
func assertBlocked(t *testing.T, got map[string]string, names []string, canReadDisk bool) {
	t.Helper()
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			v, ok := got[name]
			if !ok {
				t.Fatalf("the attacker did not report %q", name)
			}
			if deviceCgroupAttempts[name] && !canReadDisk {
				t.Logf("this host refuses its own root the disk as well, so %q does not tell the device cgroup's refusal from the host's", v)
			}
			switch {
			case strings.HasPrefix(v, "blocked"):
			case strings.HasPrefix(v, "absent"):
				t.Logf("%s: %s: this kernel has none", name, v)
			default:
				t.Errorf("%s: %s", name, v)
			}
		})
	}
}

// The attempts every confined privileged container must refuse.
var escapeAttempts = []string{
	"sysrq-trigger",
	"proc-sys /proc/sys/kernel/core_pattern", "proc-sys /proc/sys/kernel/modprobe", "proc-sys /proc/sys/vm/drop_caches", "proc-sys /proc/sys/kernel/hostname",
	"sys-write /sys/kernel/mm/transparent_hugepage/enabled", "sys-write /sys/kernel/profiling", "sys-write /sys/power/state", "sys-write /sys/module/printk/parameters/time", "sys-write /sys/kernel/uevent_helper",
	"sys-create /sys/class/golxc-escape",
	"read /proc/kcore", "read /proc/keys", "read /proc/timer_list", "read /proc/sched_debug", "read /proc/latency_stats", "read /proc/interrupts", "read /proc/acpi", "read /proc/scsi", "read /sys/firmware", "read /sys/devices/virtual/powercap",
	"mknod-read-disk",
	"finit_module", "init_module", "delete_module",
	"clock_settime", "settimeofday",
	"host-process", "root-of /proc/1/root", "root-of /proc/1/cwd", "root-of /proc/self/root",
	"fds-of 1", "fds-of self",
	"command-socket", "abstract-socket",
	"release_agent",
}

// What a root that lacks CAP_SYS_ADMIN must not be able to undo either.
var remountAttempts = []string{"remount-rw /sys", "umount /proc/sys", "umount /proc/keys", "mount sysfs", "mount proc"}

// TestAttackEscapePrivileged runs the battery in a privileged container
// with common.conf's confinement. Its root keeps CAP_SYS_ADMIN there, and
// so could remount what is read-only or mount a fresh /proc (SECURITY.md,
// "What is not a boundary"); those attempts are run where CAP_SYS_ADMIN is
// dropped too, and must fail there.
func TestAttackEscapePrivileged(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	dev, _ := hostRootDisk(t)
	canReadDisk := hostCanReadDisk(t, l.aux, dev)
	marker := startMarker(t)
	hostBefore, _ := os.Hostname()

	n := l.startConfined("")
	l.installAttacker(n)
	got := l.escapeReport(n, marker, false)
	assertBlocked(t, got, escapeAttempts, canReadDisk)

	// A root that keeps CAP_SYS_ADMIN mounts the host's root disk despite
	// the device cgroup: the kernel hands out the superblock already
	// mounted without opening the device, so no device check runs
	// (SECURITY.md, "What is not a boundary"; dropping sys_admin closes
	// it, below). A block device nobody has mounted is opened, and the
	// device cgroup refuses it.
	t.Run("mount-disk", func(t *testing.T) {
		t.Logf("with CAP_SYS_ADMIN: %s (not a boundary: the host's mounted superblock is reused unchecked)", got["mount-disk"])
	})
	t.Run("mount unmounted block device", func(t *testing.T) {
		losetup, err := exec.LookPath("losetup")
		if err != nil {
			t.Skip("no losetup")
		}
		img := filepath.Join(l.aux, "disk.img")
		if err := os.WriteFile(img, make([]byte, 4<<20), 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("mkfs.ext4", "-q", img).CombinedOutput(); err != nil {
			t.Skipf("mkfs.ext4: %v %s", err, out)
		}
		out, err := exec.Command(losetup, "-f", "--show", img).Output()
		if err != nil {
			t.Skipf("losetup: %v", err)
		}
		loop := strings.TrimSpace(string(out))
		t.Cleanup(func() { exec.Command(losetup, "-d", loop).Run() })
		var st unix.Stat_t
		if err := unix.Stat(loop, &st); err != nil {
			t.Fatal(err)
		}
		script := "mknod /tmp/golxc-loop b " + strconv.Itoa(int(unix.Major(st.Rdev))) + " " + strconv.Itoa(int(unix.Minor(st.Rdev))) +
			" && mkdir -p /tmp/golxc-loop-mnt && mount -t ext4 /tmp/golxc-loop /tmp/golxc-loop-mnt && echo ESCAPED; umount /tmp/golxc-loop-mnt 2>/dev/null; rm -f /tmp/golxc-loop"
		out2, errs, _ := l.run("lxc-attach", "-n", n, "--", "/bin/sh", "-c", script)
		if strings.Contains(out2, "ESCAPED") {
			t.Errorf("root of the container mounted %s (a host block device nobody mounted) through a node of its own", loop)
		} else if !strings.Contains(errs, "denied") && !strings.Contains(errs, "not permitted") {
			t.Errorf("mount of %s inside: %q %q, want a permission refusal", loop, out2, errs)
		}
	})

	// The container's hostname is its own UTS namespace's.
	t.Run("hostname", func(t *testing.T) {
		if v := got["sethostname"]; !strings.HasPrefix(v, "done") {
			t.Fatalf("sethostname inside: %q, want it to work on the container's own name", v)
		}
		if h, _ := os.Hostname(); h != hostBefore {
			t.Errorf("the host's name is %q after sethostname in the container, was %q", h, hostBefore)
		}
		if out := l.attach(n, "hostname"); !strings.HasPrefix(out, marker+"-hostname") {
			t.Errorf("hostname inside after sethostname: %q, want %s-hostname", out, marker)
		}
	})

	// The container's own network settings stay writable (sys:mixed,
	// proc:mixed), or the battery would pass by breaking containers.
	t.Run("own network writable", func(t *testing.T) {
		out, errs, code := l.run("lxc-attach", "-n", n, "--", "/bin/sh", "-c",
			"cat /sys/devices/virtual/net/lo/mtu > /sys/devices/virtual/net/lo/mtu && cat /proc/sys/net/ipv4/ip_forward > /proc/sys/net/ipv4/ip_forward && echo ok")
		if code != 0 || out != "ok\n" {
			t.Errorf("rewriting lo's mtu and ip_forward inside: exit %d %q %s, want both writable", code, out, errs)
		}
	})

	// Another user of the host cannot reach the container's monitor.
	t.Run("command socket as another user", func(t *testing.T) {
		err := asUser(t, nobody, func() error {
			c, err := net.DialTimeout("unix", monitor.SocketPath(l.path, n), 2*time.Second)
			if err == nil {
				c.Close()
				return errors.New("connected")
			}
			return nil
		})
		if err != nil {
			t.Errorf("uid %d and the command socket of %s: %v", nobody, n, err)
		}
	})

	// Overwriting golxc through /proc/PID/exe of every new process while
	// lxc-attach runs: the watcher of attack_attach_test.go.
	t.Run("overwrite golxc through exe during attach", func(t *testing.T) {
		attackAttachWindow(l.with(t), n, 40)
	})

	// A root that keeps CAP_SYS_ADMIN may take the v2 device program off
	// its own cgroup (bpf(2) is not filtered, as under LXC); the v1 lines
	// of this hybrid host still hold then. Last: it changes the container.
	defer t.Run("bpf-detach with CAP_SYS_ADMIN", func(t *testing.T) {
		l := l.with(t)
		out, _, _ := l.run("lxc-attach", "-n", n, "--", "/attacker", "bpfdetach", "/tmp/golxc-cg2")
		t.Logf("with CAP_SYS_ADMIN: %s (not a boundary; dropping sys_admin closes it)", strings.TrimSpace(out))
		if v := l.escapeReport(n, marker, false)["mknod-read-disk"]; !strings.HasPrefix(v, "blocked") {
			t.Errorf("mknod-read-disk after the v2 program's detach: %s, want the v1 lines to refuse it", v)
		}
	})

	t.Run("without CAP_SYS_ADMIN", func(t *testing.T) {
		l := l.with(t)
		n := l.startConfined("sys_admin")
		l.installAttacker(n)
		if out, _, _ := l.run("lxc-attach", "-n", n, "--", "/attacker", "bpfdetach", "/tmp/golxc-cg2"); !strings.HasPrefix(out, "bpf-detach: blocked") {
			t.Errorf("detaching the device program without CAP_SYS_ADMIN: %q, want blocked", out)
		}
		got := l.escapeReport(n, marker, true)
		// Without CAP_SYS_ADMIN the disk cannot be mounted, even the
		// superblock the host has mounted.
		assertBlocked(t, got, append(append([]string{"mount-disk"}, escapeAttempts...), remountAttempts...), canReadDisk)
	})
}

// The masks themselves are no way in: a masked file is the container's
// /dev/null bound read-only (no chmod or chown of the null device under
// another name; writes reach the null device), a masked directory an empty
// tmpfs, read-only, with room for nothing, where nothing is a device,
// set-user-ID or executable.
func TestAttackMasks(t *testing.T) {
	l := newLab(t)
	n := l.createBusybox()
	for _, p := range []string{"/proc/keys", "/sys/firmware"} {
		if _, err := os.Stat(p); err != nil {
			t.Skipf("%s is not on this host", p)
		}
	}
	script := `for a in "chmod 0666 /proc/keys" "chown 1:1 /proc/keys" "touch /sys/firmware/f" "mkdir /sys/firmware/d"; do
	if sh -c "$a" 2>/dev/null; then echo "DONE $a"; fi
done
grep -E ' /(proc/keys|sys/firmware) ' /proc/self/mountinfo | cut -d' ' -f5,6,9-
ls -ln /dev/null | cut -c1-10`
	out, errs, code := l.run("lxc-execute", "-n", n, "--", "/bin/sh", "-c", script)
	if code != 0 {
		t.Fatalf("exit %d: %s%s", code, out, errs)
	}
	if strings.Contains(out, "DONE") {
		t.Errorf("a mask was written or changed:\n%s", out)
	}
	mounts := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) >= 2 && strings.HasPrefix(f[0], "/") {
			mounts[f[0]] = l
		}
	}
	if m := mounts["/proc/keys"]; !strings.Contains(m, " ro,") || !strings.Contains(m, "nosuid") || !strings.Contains(m, "noexec") {
		t.Errorf("/proc/keys mask: %q, want a read-only, nosuid, noexec bind", m)
	}
	if m := mounts["/sys/firmware"]; !strings.Contains(m, " ro,nosuid,nodev,noexec") || !strings.Contains(m, "tmpfs") || !strings.Contains(m, "size=4k,nr_inodes=1") {
		t.Errorf("/sys/firmware mask: %q, want tmpfs ro,nosuid,nodev,noexec with size=4k,nr_inodes=1", m)
	}
	if !strings.Contains(out, "crw-rw-rw-") {
		t.Errorf("/dev/null changed: %s", out)
	}
}
