package cgroup

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The few bpf(2) commands a device program needs, by hand: a BPF library
// links a dozen packages whose initialisers every golxc tool would run at
// start-up (its ELF, BTF and feature probes included), for a program of
// seven kinds of instruction and five commands.

// ProgramID is the kernel's ID of a loaded BPF program.
type ProgramID uint32

// BPF registers (R1 holds the context).
const (
	bpfR0 = 0
	bpfR1 = 1
	bpfR2 = 2
	bpfR3 = 3
	bpfR4 = 4
	bpfR5 = 5
	bpfR6 = 6
)

// Opcodes (<linux/bpf_common.h>, <linux/bpf.h>): class | op | source.
const (
	opLdxMemW   = 0x61 // BPF_LDX | BPF_MEM | BPF_W: dst = *(u32 *)(src + off)
	opMovReg    = 0xbf // BPF_ALU64 | BPF_MOV | BPF_X
	opMovImm    = 0xb7 // BPF_ALU64 | BPF_MOV | BPF_K
	opAndImm    = 0x57 // BPF_ALU64 | BPF_AND | BPF_K
	opRshImm    = 0x77 // BPF_ALU64 | BPF_RSH | BPF_K
	opJeqImm    = 0x15 // BPF_JMP | BPF_JEQ | BPF_K
	opJneImm    = 0x55 // BPF_JMP | BPF_JNE | BPF_K
	opExit      = 0x95 // BPF_JMP | BPF_EXIT
	bpfInsnSize = 8
)

// bpfInsn is one instruction (struct bpf_insn). A jump's target is a
// label until assemble resolves it into off.
type bpfInsn struct {
	op       uint8
	dst, src uint8
	off      int16
	imm      int32
	label    string // this instruction's label, if it is a jump target
	target   string // a jump's label
}

// bpfProgram is a list of instructions whose jumps name labels.
type bpfProgram []bpfInsn

// assemble resolves every jump's label into its offset (counted from the
// next instruction) and encodes the program as the kernel takes it.
func (p bpfProgram) assemble() ([]byte, error) {
	at := map[string]int{}
	for i, in := range p {
		if in.label != "" {
			at[in.label] = i
		}
	}
	out := make([]byte, 0, len(p)*bpfInsnSize)
	for i, in := range p {
		off := in.off
		if in.target != "" {
			t, ok := at[in.target]
			if !ok || t <= i {
				return nil, fmt.Errorf("bpf instruction %d: jump to %q, which is not ahead", i, in.target)
			}
			off = int16(t - i - 1)
		}
		out = append(out, in.op, in.dst&0xf|in.src<<4)
		out = binary.LittleEndian.AppendUint16(out, uint16(off))
		out = binary.LittleEndian.AppendUint32(out, uint32(in.imm))
	}
	return out, nil
}

func bpf(cmd int, attr unsafe.Pointer, size uintptr) (int, error) {
	r, _, errno := unix.Syscall(unix.SYS_BPF, uintptr(cmd), uintptr(attr), size)
	if errno != 0 {
		return -1, errno
	}
	return int(r), nil
}

// progLoadAttr is the BPF_PROG_LOAD part of union bpf_attr, up to
// expected_attach_type.
type progLoadAttr struct {
	progType           uint32
	insnCnt            uint32
	insns              uint64
	license            uint64
	logLevel           uint32
	logSize            uint32
	logBuf             uint64
	kernVersion        uint32
	progFlags          uint32
	progName           [unix.BPF_OBJ_NAME_LEN]byte
	progIfindex        uint32
	expectedAttachType uint32
}

// loadDeviceProgram loads p as a BPF_PROG_TYPE_CGROUP_DEVICE program named
// name and returns its descriptor (close-on-exec, as every bpf fd). A
// program the verifier refuses is loaded again with its log, whose last
// line the error carries.
func loadDeviceProgram(p bpfProgram, name string) (int, error) {
	code, err := p.assemble()
	if err != nil {
		return -1, err
	}
	license := []byte("GPL\x00")
	attr := progLoadAttr{
		progType: unix.BPF_PROG_TYPE_CGROUP_DEVICE,
		insnCnt:  uint32(len(code) / bpfInsnSize),
		insns:    uint64(uintptr(unsafe.Pointer(&code[0]))),
		license:  uint64(uintptr(unsafe.Pointer(&license[0]))),
	}
	copy(attr.progName[:unix.BPF_OBJ_NAME_LEN-1], name)
	fd, err := bpf(unix.BPF_PROG_LOAD, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	if err == nil || !errors.Is(err, unix.EACCES) && !errors.Is(err, unix.EINVAL) {
		runtime.KeepAlive(code)
		runtime.KeepAlive(license)
		return fd, err
	}
	log := make([]byte, 64<<10)
	attr.logLevel, attr.logSize = 1, uint32(len(log))
	attr.logBuf = uint64(uintptr(unsafe.Pointer(&log[0])))
	fd, lerr := bpf(unix.BPF_PROG_LOAD, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	runtime.KeepAlive(code)
	runtime.KeepAlive(license)
	if lerr == nil {
		return fd, nil // loaded the second time: take it
	}
	if i := bytes.IndexByte(log, 0); i >= 0 {
		log = log[:i]
	}
	lines := strings.Split(strings.TrimSpace(string(log)), "\n")
	if last := lines[len(lines)-1]; last != "" {
		return -1, fmt.Errorf("%w (verifier: %s)", err, last)
	}
	return -1, err
}

// progInfo is the head of struct bpf_prog_info, up to name.
type progInfo struct {
	typ             uint32
	id              uint32
	tag             [unix.BPF_TAG_SIZE]byte
	jitedProgLen    uint32
	xlatedProgLen   uint32
	jitedProgInsns  uint64
	xlatedProgInsns uint64
	loadTime        uint64
	createdByUID    uint32
	nrMapIDs        uint32
	mapIDs          uint64
	name            [unix.BPF_OBJ_NAME_LEN]byte
}

// programInfo returns the ID, tag (hex, as bpftool prints it) and name
// of the program open as fd.
func programInfo(fd int) (ProgramID, string, string, error) {
	var info progInfo
	attr := struct {
		fd, infoLen uint32
		info        uint64
	}{uint32(fd), uint32(unsafe.Sizeof(info)), uint64(uintptr(unsafe.Pointer(&info)))}
	if _, err := bpf(unix.BPF_OBJ_GET_INFO_BY_FD, unsafe.Pointer(&attr), unsafe.Sizeof(attr)); err != nil {
		return 0, "", "", fmt.Errorf("bpf program info: %w", err)
	}
	name := info.name[:]
	if i := bytes.IndexByte(name, 0); i >= 0 {
		name = name[:i]
	}
	return ProgramID(info.id), hex.EncodeToString(info.tag[:]), string(name), nil
}

// programByID opens the loaded program id.
func programByID(id ProgramID) (int, error) {
	attr := struct{ id, nextID, openFlags uint32 }{id: uint32(id)}
	fd, err := bpf(unix.BPF_PROG_GET_FD_BY_ID, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	if err != nil {
		return -1, fmt.Errorf("bpf program %d: %w", id, err)
	}
	return fd, nil
}

// deviceProgramIDs lists the device programs attached to the cgroup2
// directory open as dirfd.
func deviceProgramIDs(dirfd int) ([]ProgramID, error) {
	ids := make([]uint32, 16)
	for {
		attr := struct {
			targetFD, attachType, queryFlags, attachFlags uint32
			progIDs                                       uint64
			progCnt                                       uint32
			_                                             uint32
		}{targetFD: uint32(dirfd), attachType: unix.BPF_CGROUP_DEVICE,
			progIDs: uint64(uintptr(unsafe.Pointer(&ids[0]))), progCnt: uint32(len(ids))}
		_, err := bpf(unix.BPF_PROG_QUERY, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
		runtime.KeepAlive(ids)
		if errors.Is(err, unix.ENOSPC) && int(attr.progCnt) > len(ids) {
			ids = make([]uint32, attr.progCnt)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("query device programs: %w", err)
		}
		out := make([]ProgramID, attr.progCnt)
		for i := range out {
			out[i] = ProgramID(ids[i])
		}
		return out, nil
	}
}

// attachDeviceProgram attaches the program prog to the cgroup2 directory
// dirfd beside the others (BPF_F_ALLOW_MULTI), in the place of the
// program open as replace when that is not -1 (BPF_F_REPLACE: one step,
// no moment with neither or both).
func attachDeviceProgram(dirfd, prog, replace int) error {
	attr := struct {
		targetFD, attachBPFFD, attachType, attachFlags, replaceBPFFD uint32
	}{targetFD: uint32(dirfd), attachBPFFD: uint32(prog), attachType: unix.BPF_CGROUP_DEVICE, attachFlags: unix.BPF_F_ALLOW_MULTI}
	if replace >= 0 {
		attr.attachFlags |= unix.BPF_F_REPLACE
		attr.replaceBPFFD = uint32(replace)
	}
	if _, err := bpf(unix.BPF_PROG_ATTACH, unsafe.Pointer(&attr), unsafe.Sizeof(attr)); err != nil {
		return err
	}
	return nil
}
