package config

import (
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// capNames is the one table of capability names, indexed by number, spelled
// as capabilities(7) spells them, lowercased and without "CAP_", which is the
// form lxc.cap.drop and lxc.cap.keep take. The unix constants make the
// compiler check every number against <linux/capability.h>.
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

// CapabilityNumber returns the kernel's number for a capability name in
// capNames' spelling, for the code that drops capabilities.
func CapabilityNumber(name string) (int, bool) {
	for i, n := range capNames {
		if n == name {
			return i, true
		}
	}
	return 0, false
}

// parseCapName accepts a capability as "sys_admin", "SYS_ADMIN",
// "cap_sys_admin" or its number, and returns capNames' spelling, so that
// everything downstream compares one form.
func parseCapName(s string) (string, error) {
	name := strings.ToLower(s)
	name = strings.TrimPrefix(name, "cap_")
	if n, err := strconv.ParseUint(name, 10, 8); err == nil {
		if n < uint64(len(capNames)) {
			return capNames[n], nil
		}
		return "", fmt.Errorf("unknown capability %q: the last one is %d", s, len(capNames)-1)
	}
	if _, ok := CapabilityNumber(name); ok {
		return name, nil
	}
	return "", fmt.Errorf("unknown capability %q: see capabilities(7), written without cap_", s)
}
