// Package security confines a container's processes: the capability
// bounding set, and the AppArmor/SELinux label of their exec.
package security

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// capNames is the one table of capability names, indexed by number and
// spelled as capabilities(7) does, lowercased and without "CAP_" (the form
// lxc.cap.drop takes). The unix constants make the compiler check each
// number against <linux/capability.h>.
var capNames = [...]string{
	unix.CAP_CHOWN:              "chown",
	unix.CAP_DAC_OVERRIDE:       "dac_override",
	unix.CAP_DAC_READ_SEARCH:    "dac_read_search",
	unix.CAP_FOWNER:             "fowner",
	unix.CAP_FSETID:             "fsetid",
	unix.CAP_KILL:               "kill",
	unix.CAP_SETGID:             "setgid",
	unix.CAP_SETUID:             "setuid",
	unix.CAP_SETPCAP:            "setpcap",
	unix.CAP_LINUX_IMMUTABLE:    "linux_immutable",
	unix.CAP_NET_BIND_SERVICE:   "net_bind_service",
	unix.CAP_NET_BROADCAST:      "net_broadcast",
	unix.CAP_NET_ADMIN:          "net_admin",
	unix.CAP_NET_RAW:            "net_raw",
	unix.CAP_IPC_LOCK:           "ipc_lock",
	unix.CAP_IPC_OWNER:          "ipc_owner",
	unix.CAP_SYS_MODULE:         "sys_module",
	unix.CAP_SYS_RAWIO:          "sys_rawio",
	unix.CAP_SYS_CHROOT:         "sys_chroot",
	unix.CAP_SYS_PTRACE:         "sys_ptrace",
	unix.CAP_SYS_PACCT:          "sys_pacct",
	unix.CAP_SYS_ADMIN:          "sys_admin",
	unix.CAP_SYS_BOOT:           "sys_boot",
	unix.CAP_SYS_NICE:           "sys_nice",
	unix.CAP_SYS_RESOURCE:       "sys_resource",
	unix.CAP_SYS_TIME:           "sys_time",
	unix.CAP_SYS_TTY_CONFIG:     "sys_tty_config",
	unix.CAP_MKNOD:              "mknod",
	unix.CAP_LEASE:              "lease",
	unix.CAP_AUDIT_WRITE:        "audit_write",
	unix.CAP_AUDIT_CONTROL:      "audit_control",
	unix.CAP_SETFCAP:            "setfcap",
	unix.CAP_MAC_OVERRIDE:       "mac_override",
	unix.CAP_MAC_ADMIN:          "mac_admin",
	unix.CAP_SYSLOG:             "syslog",
	unix.CAP_WAKE_ALARM:         "wake_alarm",
	unix.CAP_BLOCK_SUSPEND:      "block_suspend",
	unix.CAP_AUDIT_READ:         "audit_read",
	unix.CAP_PERFMON:            "perfmon",
	unix.CAP_BPF:                "bpf",
	unix.CAP_CHECKPOINT_RESTORE: "checkpoint_restore",
}

// CapNumber returns the number of a capability named "sys_admin",
// "CAP_SYS_ADMIN", "cap_sys_admin" or by its number.
func CapNumber(name string) (int, error) {
	n := strings.TrimPrefix(strings.ToLower(name), "cap_")
	for i, c := range capNames {
		if c == n {
			return i, nil
		}
	}
	if i, err := strconv.Atoi(n); err == nil {
		if i >= 0 && i < len(capNames) {
			return i, nil
		}
		return -1, fmt.Errorf("unknown capability %q: the last one is %d", name, len(capNames)-1)
	}
	return -1, fmt.Errorf("unknown capability %q: see capabilities(7), written without cap_", name)
}

// CapShortName returns capability n as lxc.cap.drop spells it
// ("sys_admin").
func CapShortName(n int) string {
	if n >= 0 && n < len(capNames) {
		return capNames[n]
	}
	return strconv.Itoa(n)
}

// CapCount is how many capabilities the table knows.
func CapCount() int { return len(capNames) }

// CapName returns the OCI name (CAP_SYS_ADMIN) of capability number n.
func CapName(n int) string {
	if n >= 0 && n < len(capNames) {
		return "CAP_" + strings.ToUpper(capNames[n])
	}
	return strconv.Itoa(n)
}

// LastCap is the highest capability this kernel knows.
func LastCap() int {
	b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		return len(capNames) - 1
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return len(capNames) - 1
	}
	return n
}

// AllCaps returns the OCI names of every capability of this kernel.
func AllCaps() []string {
	last := LastCap()
	caps := make([]string, 0, last+1)
	for i := 0; i <= last; i++ {
		caps = append(caps, CapName(i))
	}
	return caps
}

// LimitBounding drops from the calling thread's bounding set every
// capability not in keep (OCI names). The bounding set is per thread and is
// what the next execve from this thread inherits: call it on a locked
// thread that then execs or forks.
func LimitBounding(keep []string) error {
	return dropBounding(keep, func(c int) error {
		return unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0)
	})
}

// LimitBoundingAllThreads is LimitBounding for every thread of the
// process: for a process that stays (golxc's own init as PID 1), whose
// threads the Go runtime may use for anything, including a fork.
func LimitBoundingAllThreads(keep []string) error {
	return dropBounding(keep, func(c int) error {
		if _, _, errno := syscall.AllThreadsSyscall(syscall.SYS_PRCTL, unix.PR_CAPBSET_DROP, uintptr(c), 0); errno != 0 {
			return errno
		}
		return nil
	})
}

// CapMask is the bit set of the capabilities named (OCI names): bit n
// for capability n.
func CapMask(names []string) (uint64, error) { return capMask(names) }

// DropFromBounding drops the capabilities named (OCI names) from the
// calling thread's bounding set, which what it execs inherits: call it on
// a locked thread that is never handed back to the runtime.
func DropFromBounding(names []string) error {
	for _, n := range names {
		c, err := CapNumber(n)
		if err != nil {
			return err
		}
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil && err != unix.EINVAL {
			return fmt.Errorf("drop capability %s: %w", n, err)
		}
	}
	return nil
}

// dropBounding calls drop for every capability of this kernel not in keep
// that the calling thread's bounding set still has. One it lacks, no
// thread of the process has: threads start with their creator's, and
// none can get one back.
func dropBounding(keep []string, drop func(int) error) error {
	want := make(map[int]bool, len(keep))
	for _, k := range keep {
		n, err := CapNumber(k)
		if err != nil {
			return err
		}
		want[n] = true
	}
	last := LastCap()
	for i := 0; i <= last; i++ {
		if want[i] {
			continue
		}
		if has, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, uintptr(i), 0, 0, 0); err == nil && has == 0 {
			continue
		}
		if err := drop(i); err != nil && err != unix.EINVAL {
			return fmt.Errorf("drop capability %s: %w", CapName(i), err)
		}
	}
	return nil
}

// capMask is the bit set of the capabilities named (OCI names).
func capMask(names []string) (uint64, error) {
	var m uint64
	for _, k := range names {
		n, err := CapNumber(k)
		if err != nil {
			return 0, err
		}
		m |= 1 << uint(n)
	}
	return m, nil
}

// LimitProcess cuts the permitted, effective and inheritable sets of every
// thread of this process down to keep (OCI names). A process that stays
// (golxc's own init as PID 1) and never execs is not confined by the
// bounding set alone, which only limits what an execve gains.
func LimitProcess(keep []string) error {
	return LimitProcessSwitching(keep, nil)
}

// LimitProcessSwitching is LimitProcess that also keeps the capabilities
// of also (CAP_SETUID, CAP_SETGID for a switch of user still to come) in
// the effective and permitted sets only: not inheritable, so that no
// exec can carry them beyond the bounding set.
func LimitProcessSwitching(keep, also []string) error {
	return limitSwitching(keep, also, func(hdr *unix.CapUserHeader, data *unix.CapUserData) syscall.Errno {
		_, _, errno := syscall.AllThreadsSyscall(unix.SYS_CAPSET, uintptr(unsafe.Pointer(hdr)), uintptr(unsafe.Pointer(data)), 0)
		return errno
	})
}

// LimitThreadSwitching is LimitProcessSwitching for the calling thread
// alone, which the caller has locked (runtime.LockOSThread): for a
// process that forks from that thread and never runs anything else with
// what the others keep (lxc-attach's helper). It spares a stop of every
// thread of the process, a fifth of the helper's time.
func LimitThreadSwitching(keep, also []string) error {
	return limitSwitching(keep, also, func(hdr *unix.CapUserHeader, data *unix.CapUserData) syscall.Errno {
		_, _, errno := syscall.RawSyscall(unix.SYS_CAPSET, uintptr(unsafe.Pointer(hdr)), uintptr(unsafe.Pointer(data)), 0)
		return errno
	})
}

// limitSwitching does LimitProcessSwitching's work with capset doing the
// call on the threads it is for.
func limitSwitching(keep, also []string, capset func(*unix.CapUserHeader, *unix.CapUserData) syscall.Errno) error {
	mi, err := capMask(keep)
	if err != nil {
		return err
	}
	ma, err := capMask(also)
	if err != nil {
		return err
	}
	m := mi | ma
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capget: %w", err)
	}
	for i := range data {
		word := uint32(m >> (32 * uint(i)))
		data[i].Effective &= word
		data[i].Permitted &= word
		data[i].Inheritable &= uint32(mi >> (32 * uint(i)))
	}
	// Capabilities are per thread: capset sets those of every thread it
	// is for.
	if errno := capset(&hdr, &data[0]); errno != 0 {
		return fmt.Errorf("capset: %w", errno)
	}
	// Read back, from sets that start full: a seccomp filter loaded
	// before this step may answer capset (and capget) with errno 0,
	// success with nothing done, and the capabilities would stay.
	got := [2]unix.CapUserData{}
	for i := range got {
		got[i] = unix.CapUserData{Effective: ^uint32(0), Permitted: ^uint32(0), Inheritable: ^uint32(0)}
	}
	if err := unix.Capget(&hdr, &got[0]); err != nil {
		return fmt.Errorf("capget: %w", err)
	}
	for i := range got {
		word := uint32(m >> (32 * uint(i)))
		if (got[i].Effective|got[i].Permitted)&^word != 0 || got[i].Inheritable&^uint32(mi>>(32*uint(i))) != 0 {
			return fmt.Errorf("capset did not take: capabilities beyond the container's remain (does lxc.seccomp.profile answer capset or capget with errno 0?)")
		}
	}
	return nil
}

// BoundingOf returns the capability bounding set of process pid (OCI
// names), as /proc shows it: what a running container was started with.
func BoundingOf(pid int) ([]string, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return nil, fmt.Errorf("read capabilities of pid %d: %w", pid, err)
	}
	caps, err := BoundingFromStatus(b)
	if err != nil {
		return nil, fmt.Errorf("pid %d: %w", pid, err)
	}
	return caps, nil
}

// BoundingFromStatus returns the bounding set (OCI names) that a
// /proc/PID/status file's CapBnd line holds.
func BoundingFromStatus(status []byte) ([]string, error) {
	for _, line := range strings.Split(string(status), "\n") {
		v, ok := strings.CutPrefix(line, "CapBnd:")
		if !ok {
			continue
		}
		m, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		if err != nil {
			return nil, fmt.Errorf("parse CapBnd: %w", err)
		}
		var caps []string
		for i := 0; i < 64; i++ {
			if m&(1<<uint(i)) != 0 && i < CapCount() {
				caps = append(caps, CapName(i))
			}
		}
		return caps, nil
	}
	return nil, fmt.Errorf("no CapBnd in status")
}

// SetInheritableAmbient sets the calling thread's inheritable set to inh
// and raises each of amb in its ambient set (which needs them permitted
// and inheritable), for the program it execs next: an OCI process's
// inheritable and ambient sets.
func SetInheritableAmbient(inh, amb []string) error {
	m, err := capMask(inh)
	if err != nil {
		return err
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capget: %w", err)
	}
	for i := range data {
		data[i].Inheritable = uint32(m >> (32 * uint(i)))
	}
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capset inheritable %v: %w", inh, err)
	}
	for _, name := range amb {
		n, err := CapNumber(name)
		if err != nil {
			return err
		}
		if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_RAISE, uintptr(n), 0, 0); err != nil {
			return fmt.Errorf("raise ambient capability %s: %w", name, err)
		}
	}
	return nil
}
