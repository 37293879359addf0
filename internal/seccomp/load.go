package seccomp

import (
	"encoding/binary"
	"fmt"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Load installs filter on every thread of the calling process
// (SECCOMP_FILTER_FLAG_TSYNC): a Go program's other threads would
// otherwise stay unfiltered, and golxc's own init forks its command from
// any of them. The caller needs CAP_SYS_ADMIN in its user namespace or
// no_new_privs set (seccomp(2)).
func Load(filter []unix.SockFilter) error {
	if len(filter) == 0 {
		return fmt.Errorf("load seccomp filter: empty program")
	}
	prog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	r, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_TSYNC, uintptr(unsafe.Pointer(&prog)))
	if errno != 0 {
		return fmt.Errorf("load seccomp filter: %w", errno)
	}
	if r != 0 {
		// TSYNC names the thread it could not synchronise.
		return fmt.Errorf("load seccomp filter: thread %d cannot take it", r)
	}
	return nil
}

// SetNoNewPrivs sets PR_SET_NO_NEW_PRIVS on every thread of the process,
// so whichever thread forks or execs next carries it.
func SetNoNewPrivs() error {
	if _, _, errno := syscall.AllThreadsSyscall(unix.SYS_PRCTL, unix.PR_SET_NO_NEW_PRIVS, 1, 0); errno != 0 {
		return fmt.Errorf("prctl PR_SET_NO_NEW_PRIVS: %w", errno)
	}
	return nil
}

// Confined reports whether the calling process already runs under a
// seccomp mode. It asks the kernel (prctl PR_GET_SECCOMP), never a file:
// the init stage calls it after pivot_root, where /proc is the container's
// to fake (a plain file at rootfs/proc/self/status, with no proc mounted,
// said "Seccomp: 2" and switched the profile off).
func Confined() (bool, error) {
	mode, err := unix.PrctlRetInt(unix.PR_GET_SECCOMP, 0, 0, 0, 0)
	if err == unix.EINVAL {
		return false, nil // a kernel without CONFIG_SECCOMP
	}
	if err != nil {
		return false, fmt.Errorf("prctl PR_GET_SECCOMP: %w", err)
	}
	return mode != 0, nil
}

// NeedsNoNewPrivs reports whether the calling thread must set no_new_privs
// before it may load a filter: it lacks CAP_SYS_ADMIN in its user
// namespace and has not set it yet (seccomp(2), EACCES).
func NeedsNoNewPrivs() (bool, error) {
	nnp, err := unix.PrctlRetInt(unix.PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0)
	if err != nil {
		return false, fmt.Errorf("prctl PR_GET_NO_NEW_PRIVS: %w", err)
	}
	if nnp == 1 {
		return false, nil
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return false, fmt.Errorf("capget: %w", err)
	}
	return data[unix.CAP_SYS_ADMIN/32].Effective&(1<<(unix.CAP_SYS_ADMIN%32)) == 0, nil
}

// insnSize is one instruction in Encode's form: code (2 bytes, little
// endian), jt, jf, k (4 bytes, little endian), as struct sock_filter.
const insnSize = 8

// Encode packs a program into bytes, to cross to the init stage.
func Encode(prog []unix.SockFilter) []byte {
	b := make([]byte, 0, len(prog)*insnSize)
	for _, f := range prog {
		b = binary.LittleEndian.AppendUint16(b, f.Code)
		b = append(b, f.Jt, f.Jf)
		b = binary.LittleEndian.AppendUint32(b, f.K)
	}
	return b
}

// Decode unpacks what Encode made.
func Decode(b []byte) ([]unix.SockFilter, error) {
	if len(b) == 0 || len(b)%insnSize != 0 || len(b)/insnSize > unix.BPF_MAXINSNS {
		return nil, fmt.Errorf("seccomp program of %d bytes: want 1 to %d instructions of %d bytes", len(b), unix.BPF_MAXINSNS, insnSize)
	}
	prog := make([]unix.SockFilter, len(b)/insnSize)
	for i := range prog {
		r := b[i*insnSize:]
		prog[i] = unix.SockFilter{Code: binary.LittleEndian.Uint16(r), Jt: r[2], Jf: r[3], K: binary.LittleEndian.Uint32(r[4:])}
	}
	return prog, nil
}

// Returns reports whether prog can return action (a SECCOMP_RET_* value,
// without data).
func Returns(prog []unix.SockFilter, action uint32) bool {
	for _, f := range prog {
		if f.Code == unix.BPF_RET|unix.BPF_K && f.K&unix.SECCOMP_RET_ACTION_FULL == action {
			return true
		}
	}
	return false
}
