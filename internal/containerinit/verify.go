package containerinit

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The container's seccomp filter may be loaded before some of the init
// stage's own steps (the switch of user, capset, PR_SET_DUMPABLE), and a
// policy may answer any call with "errno 0": success, with nothing done.
// Each such step is therefore read back, through calls whose outputs
// start as values a skipped call would leave in place and that the step
// could never produce.

// unset is what getres[ug]id leaves in a slot it did not write: -1, which
// no process has as an id.
const unset = ^uint32(0)

// checkIDs verifies that the real, effective and saved ids are uid and gid.
func checkIDs(uid, gid uint32) error {
	for _, c := range []struct {
		nr   uintptr
		what string
		want uint32
	}{{unix.SYS_GETRESGID, "gid", gid}, {unix.SYS_GETRESUID, "uid", uid}} {
		ids := [3]uint32{unset, unset, unset}
		if _, _, errno := unix.RawSyscall(c.nr, uintptr(unsafe.Pointer(&ids[0])), uintptr(unsafe.Pointer(&ids[1])), uintptr(unsafe.Pointer(&ids[2]))); errno != 0 {
			return fmt.Errorf("read back the %s: %w", c.what, errno)
		}
		if ids != [3]uint32{c.want, c.want, c.want} {
			return fmt.Errorf("set%s %d did not take (real, effective, saved: %d, %d, %d): does lxc.seccomp.profile answer setres%s or getres%s with errno 0?",
				c.what, c.want, int32(ids[0]), int32(ids[1]), int32(ids[2]), c.what, c.what)
		}
	}
	return nil
}

// nonDumpable makes the process not dumpable (nothing of the container
// may ptrace or read the memory of golxc's init) and verifies it: the
// read back must be 0, and an invalid PR_SET_DUMPABLE must fail, which a
// filter that fakes prctl's success does not.
func nonDumpable() error {
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("prctl PR_SET_DUMPABLE: %w", err)
	}
	d, err := unix.PrctlRetInt(unix.PR_GET_DUMPABLE, 0, 0, 0, 0)
	if err != nil {
		return fmt.Errorf("prctl PR_GET_DUMPABLE: %w", err)
	}
	// 2 (SUID_DUMP_ROOT) is refused by PR_SET_DUMPABLE.
	if probe := unix.Prctl(unix.PR_SET_DUMPABLE, 2, 0, 0, 0); d != 0 || probe != unix.EINVAL {
		return fmt.Errorf("prctl PR_SET_DUMPABLE 0 did not take (dumpable %d; an invalid value: %v): does lxc.seccomp.profile answer prctl with errno 0?", d, probe)
	}
	return nil
}
