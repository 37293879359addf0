// Package security confines a container's processes: the capability
// bounding set now; seccomp, no_new_privs and LSM labels later.
package security

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// capNames are the kernel's capability names in number order
// (capabilities(7)), without the CAP_ prefix.
var capNames = [...]string{
	"chown", "dac_override", "dac_read_search", "fowner", "fsetid", "kill",
	"setgid", "setuid", "setpcap", "linux_immutable", "net_bind_service",
	"net_broadcast", "net_admin", "net_raw", "ipc_lock", "ipc_owner",
	"sys_module", "sys_rawio", "sys_chroot", "sys_ptrace", "sys_pacct",
	"sys_admin", "sys_boot", "sys_nice", "sys_resource", "sys_time",
	"sys_tty_config", "mknod", "lease", "audit_write", "audit_control",
	"setfcap", "mac_override", "mac_admin", "syslog", "wake_alarm",
	"block_suspend", "audit_read", "perfmon", "bpf", "checkpoint_restore",
}

// CapNumber returns the number of a capability named "sys_admin",
// "CAP_SYS_ADMIN" or by its number.
func CapNumber(name string) (int, error) {
	n := strings.TrimPrefix(strings.ToLower(name), "cap_")
	for i, c := range capNames {
		if c == n {
			return i, nil
		}
	}
	if i, err := strconv.Atoi(n); err == nil && i >= 0 && i <= 63 {
		return i, nil
	}
	return -1, fmt.Errorf("unknown capability %q", name)
}

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
	want := make(map[int]bool, len(keep))
	for _, k := range keep {
		n, err := CapNumber(k)
		if err != nil {
			return err
		}
		want[n] = true
	}
	for i := 0; i <= LastCap(); i++ {
		if want[i] {
			continue
		}
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(i), 0, 0, 0); err != nil && err != unix.EINVAL {
			return fmt.Errorf("drop capability %s: %w", CapName(i), err)
		}
	}
	return nil
}
