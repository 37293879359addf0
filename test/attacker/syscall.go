package main

import (
	"fmt"
	"os"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// int80 is in int80_amd64.s.
func int80(nr, a1, a2, a3 uintptr) uintptr

// i386 and x32 numbers of the calls below (the kernel's syscall_32.tbl;
// x32 numbers are x86_64's with __X32_SYSCALL_BIT).
var i386Numbers = map[string]uintptr{"ioctl": 54, "socket": 359, "mkdir": 39, "umount2": 52, "kexec_load": 283, "init_module": 128, "delete_module": 129, "finit_module": 350, "open_by_handle_at": 342}

const x32Bit = 0x40000000

// x32Numbers are the x32 calls whose number is not x86_64's (the x32 ABI
// has its own entry, 512 and up, where pointer sizes differ).
var x32Numbers = map[string]uintptr{"kexec_load": 528}

// syscalls makes each call named, "[ABI:]NAME" with ABI 64 (the default),
// x32 or i386, with arguments the kernel refuses harmlessly when no filter
// stops the call first (a module of length 0, a kexec of 1000 segments, a
// bad descriptor ...), and prints "ABI:NAME errno N" or "ABI:NAME ok".
// mkdir makes DIR-ABI (then removes it); umount2 force-unmounts DIR.
// socket asks for a family that does not exist (EAFNOSUPPORT); the
// i386-only socketcall and socketpaircall make the same request through
// socketcall(2) (SYS_SOCKET, SYS_SOCKETPAIR), ipc a System V shared memory
// segment of size 0 through ipc(2) (SHMGET: EINVAL), and ipcv the same
// with a version in the call's high 16 bits, which the kernel drops.
// ioctl is TCGETS on fd -1 (EBADF); ioctlhi the same with the command's
// high 32 bits set, which the kernel drops (its cmd is an unsigned int).
func syscalls(dir string, calls []string) {
	// i386 calls take 32-bit pointers: strings in memory below 2 GiB.
	low, err := unix.Mmap(-1, 0, 4096, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_32BIT)
	if err != nil {
		fmt.Println("mmap:", err)
		os.Exit(1)
	}
	lowString := func(s string) uintptr {
		copy(low, s+"\x00")
		return uintptr(unsafe.Pointer(&low[0]))
	}
	// socketcall's arguments, in memory below 4 GiB too, after the string.
	sockArgs := (*[4]uint32)(unsafe.Pointer(&low[2048]))
	const noFamily = 9999
	for _, c := range calls {
		abi, name, ok := strings.Cut(c, ":")
		if !ok {
			abi, name = "64", c
		}
		if mux, ok := map[string][2]uintptr{"socketcall": {102, 1}, "socketpaircall": {102, 8}, "ipc": {117, 23}, "ipcv": {117, 1<<16 | 23}}[name]; ok {
			if abi != "i386" {
				fmt.Println(c, "unknown ABI")
				continue
			}
			// socketcall(call, args): family, type, protocol, sv.
			*sockArgs = [4]uint32{noFamily, unix.SOCK_DGRAM, 0, uint32(uintptr(unsafe.Pointer(&low[3072])))}
			// ipc(SHMGET, key IPC_PRIVATE, size 0, ...).
			a1 := uintptr(unsafe.Pointer(&sockArgs[0]))
			if mux[0] == 117 {
				a1 = 0
			}
			if r := int32(int80(mux[0], mux[1], a1, 0)); r < 0 {
				fmt.Println(c, "errno", -r)
			} else {
				fmt.Println(c, "ok")
			}
			continue
		}
		path := dir + "-" + abi
		var args [4]uintptr
		switch name {
		case "socket":
			args = [4]uintptr{noFamily, unix.SOCK_DGRAM, 0}
		case "ioctl":
			args = [4]uintptr{^uintptr(0), unix.TCGETS}
		case "ioctlhi":
			args = [4]uintptr{^uintptr(0), 1<<32 | unix.TCGETS}
		case "mkdir":
			args = [4]uintptr{lowString(path), 0o755}
		case "umount2":
			args = [4]uintptr{lowString(dir), unix.MNT_FORCE}
		case "kexec_load":
			args = [4]uintptr{0, 1000, 0, 0} // more segments than KEXEC_SEGMENT_MAX: EINVAL
		case "init_module":
			args = [4]uintptr{0, 0, lowString("")} // an empty image: ENOEXEC
		case "finit_module", "open_by_handle_at":
			args = [4]uintptr{^uintptr(0), 0, 0} // fd -1: EBADF
		case "delete_module":
			args = [4]uintptr{lowString("golxc_no_such_module"), unix.O_NONBLOCK} // ENOENT
		default:
			fmt.Println(c, "unknown call")
			continue
		}
		nr, known := map[string]uintptr{"ioctl": unix.SYS_IOCTL, "ioctlhi": unix.SYS_IOCTL, "socket": unix.SYS_SOCKET, "mkdir": unix.SYS_MKDIR, "umount2": unix.SYS_UMOUNT2, "kexec_load": unix.SYS_KEXEC_LOAD,
			"init_module": unix.SYS_INIT_MODULE, "delete_module": unix.SYS_DELETE_MODULE, "finit_module": unix.SYS_FINIT_MODULE,
			"open_by_handle_at": unix.SYS_OPEN_BY_HANDLE_AT}[name]
		if !known {
			continue
		}
		var errno unix.Errno
		switch abi {
		case "64":
			_, _, errno = unix.Syscall6(nr, args[0], args[1], args[2], args[3], 0, 0)
		case "x32":
			if n, ok := x32Numbers[name]; ok {
				nr = n
			}
			_, _, errno = unix.Syscall6(nr|x32Bit, args[0], args[1], args[2], args[3], 0, 0)
		case "i386":
			r := int32(int80(i386Numbers[name], args[0], args[1], args[2]))
			if r < 0 {
				errno = unix.Errno(-r)
			}
		default:
			fmt.Println(c, "unknown ABI")
			continue
		}
		if errno == 0 {
			fmt.Println(c, "ok")
			if name == "mkdir" {
				os.Remove(path)
			}
			continue
		}
		fmt.Println(c, "errno", int(errno))
	}
}

// confine runs argv under a seccomp filter that allows everything: it
// stands for a golxc that itself runs under a filter (nested in a
// container), which must not stack its profile unless
// lxc.seccomp.allow_nesting says so.
func confine(argv []string) {
	prog := []unix.SockFilter{{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ALLOW}}
	fprog := unix.SockFprog{Len: 1, Filter: &prog[0]}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		fmt.Println("no_new_privs:", err)
		os.Exit(1)
	}
	if _, _, e := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_TSYNC, uintptr(unsafe.Pointer(&fprog))); e != 0 {
		fmt.Println("seccomp:", e)
		os.Exit(1)
	}
	err := unix.Exec(argv[0], argv, os.Environ())
	fmt.Println("exec:", err)
	os.Exit(1)
}
