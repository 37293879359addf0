package seccomp

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// The layout of struct seccomp_data (<linux/seccomp.h>) as a filter loads
// it, in 32-bit words of the machine's order: x86 is little-endian, so an
// argument's low word comes first.
const (
	offNr   = 0
	offArch = 4
	offArgs = 16
)

//go:generate go run gen_syscalls.go

// x32Bit marks an x32 system call on an x86_64 kernel (__X32_SYSCALL_BIT);
// such calls arrive with AUDIT_ARCH_X86_64.
const x32Bit = 0x40000000

// sysEntry is one system call of a sysTable.
type sysEntry struct {
	name string
	nr   uint32
}

// sysTable is an ABI's system calls sorted by name (zsyscalls_x86.go).
type sysTable []sysEntry

// lookup returns name's number and whether the table has it.
func (t sysTable) lookup(name string) (uint32, bool) {
	i, ok := slices.BinarySearchFunc(t, name, func(e sysEntry, n string) int { return strings.Compare(e.name, n) })
	if !ok {
		return 0, false
	}
	return t[i].nr, true
}

// abi is one system call table a filter may face.
type abi struct {
	name     string
	audit    uint32 // seccomp_data.arch
	table    sysTable
	bit      uint32 // or'ed into every number (x32)
	sections []string
	args32   bool // arguments are 32 bits wide, zero-extended
	// muxed: the socket and System V IPC calls are also reached through
	// the multiplexers socketcall(2) and ipc(2) (i386).
	muxed bool
}

// abisFor lists the ABIs a process on a machine of arch can call, the
// native one first; the sections of a policy that apply to each follow
// LXC: rules outside any section (or in [all]) apply to every ABI, [x86]
// to i386 (the compat ABI of x86_64), [x32] to x32.
func abisFor(arch string) ([]abi, error) {
	switch arch {
	case "x86_64", "amd64":
		return []abi{
			{name: "x86_64", audit: unix.AUDIT_ARCH_X86_64, table: syscallsX86_64, sections: []string{"all", "x86_64", "native"}},
			{name: "x32", audit: unix.AUDIT_ARCH_X86_64, table: syscallsX32, bit: x32Bit, sections: []string{"all", "x32"}},
			{name: "i386", audit: unix.AUDIT_ARCH_I386, table: syscallsI386, sections: []string{"all", "x86"}, args32: true, muxed: true},
		}, nil
	case "i386", "386", "x86":
		return []abi{
			{name: "i386", audit: unix.AUDIT_ARCH_I386, table: syscallsI386, sections: []string{"all", "x86", "native"}, args32: true, muxed: true},
		}, nil
	}
	return nil, fmt.Errorf("seccomp filters for %s are not supported yet (x86_64 and i386 are)", arch)
}

func (a *abi) applies(section string) bool {
	for _, s := range a.sections {
		if s == section {
			return true
		}
	}
	return false
}

// number resolves r's system call on a; false when a has no such call.
// Only version 1 names calls by number (Parse refuses numbers in version
// 2: a number is a different call on each ABI).
func (a *abi) number(r *Rule) (uint32, bool) {
	if r.Number >= 0 {
		return uint32(r.Number) | a.bit, true
	}
	n, ok := a.table.lookup(r.Name)
	return n | a.bit, ok
}

// The i386 ABI reaches the socket calls through socketcall(2) and the
// System V IPC calls through ipc(2) as well as (since Linux 4.3, and for
// some never) through calls of their own: a rule naming one must cover
// its multiplexed form, or `int 0x80` socketcall(SYS_SOCKET, ...) walks
// past a rule on socket. The first argument picks the call: the SYS_*
// numbers of <linux/net.h> and the IPC numbers of <linux/ipc.h>.
const (
	nrSocketcallI386 = 102
	nrIPCI386        = 117
	// ipc(2) reads only the low 16 bits of its first argument as the
	// call; the high ones are a version (IPCCALL), so a rule must mask
	// them off or ipc(1<<16|SHMGET) slips by.
	ipcCallMask = 0xffff
)

// socketcalls and ipcCalls are the calls i386 multiplexes through
// socketcall(2) and ipc(2), at the number each takes as its first
// argument: arrays the compiler lays out, where maps would be built by an
// init in every golxc process.
var (
	socketcalls = [...]string{1: "socket", 2: "bind", 3: "connect", 4: "listen", 5: "accept", 6: "getsockname",
		7: "getpeername", 8: "socketpair", 9: "send", 10: "recv", 11: "sendto", 12: "recvfrom", 13: "shutdown",
		14: "setsockopt", 15: "getsockopt", 16: "sendmsg", 17: "recvmsg", 18: "accept4", 19: "recvmmsg", 20: "sendmmsg"}
	ipcCalls = [...]string{1: "semop", 2: "semget", 3: "semctl", 4: "semtimedop", 11: "msgsnd", 12: "msgrcv",
		13: "msgget", 14: "msgctl", 21: "shmat", 22: "shmdt", 23: "shmget", 24: "shmctl"}
)

// callNumber is call's index in calls (socketcalls, ipcCalls), if it has one.
func callNumber(calls []string, call string) (uint64, bool) {
	if call == "" {
		return 0, false
	}
	i := slices.Index(calls, call)
	return uint64(i), i > 0
}

// multiplexed returns the rule r makes on a's multiplexer, matching the
// multiplexed form of r's call, and whether there is one. It has none of
// r's argument filters: see muxApplies.
func (a *abi) multiplexed(r *Rule) (Rule, bool) {
	if !a.muxed || r.Number >= 0 {
		return Rule{}, false
	}
	m := Rule{Number: -1, Action: r.Action, Section: r.Section, Line: r.Line}
	if c, ok := callNumber(socketcalls[:], r.Name); ok {
		m.Name = "socketcall"
		m.Args = []ArgCmp{{Index: 0, Op: Eq, Value: c}}
	} else if c, ok := callNumber(ipcCalls[:], r.Name); ok {
		m.Name = "ipc"
		m.Args = []ArgCmp{{Index: 0, Op: MaskedEq, Value: c, Mask: ipcCallMask}}
	} else {
		return Rule{}, false
	}
	return m, true
}

// muxApplies says whether r's multiplexed rule goes into the filter. The
// multiplexed call's arguments are in memory the filter cannot read, so
// r's own argument filters cannot be checked there: a rule with argument
// filters that is more restrictive than the default (a denial in a
// denylist) applies to every multiplexed form of its call, failing
// closed; one that is not (an exception allowed in an allowlist) is not
// extended, and the default applies. libseccomp, which LXC uses, refuses
// such a rule in its exact mode, and in the other checks the remaining
// comparisons against the multiplexer's own arguments.
func muxApplies(r *Rule, def Action) bool {
	return len(r.Args) == 0 || r.Action.Kind < def.Kind
}

// retValue is the filter's return value for an action. LXC's kill is
// SECCOMP_RET_KILL_PROCESS: the whole process dies, never one thread of a
// program that then goes on half alive.
func retValue(a Action) uint32 {
	switch a.Kind {
	case Kill:
		return unix.SECCOMP_RET_KILL_PROCESS
	case Trap:
		return unix.SECCOMP_RET_TRAP
	case Errno:
		return unix.SECCOMP_RET_ERRNO | uint32(a.Data)
	case Notify:
		return unix.SECCOMP_RET_USER_NOTIF
	case Trace:
		return unix.SECCOMP_RET_TRACE | uint32(a.Data)
	case Log:
		return unix.SECCOMP_RET_LOG
	}
	return unix.SECCOMP_RET_ALLOW
}

// Warnings lists what Compile does with p on arch that its author may not
// expect: rules for system call names no ABI of arch has (LXC skips such
// rules with a warning, and so does Compile), and rules with argument
// filters on a call that i386 also reaches through socketcall(2) or
// ipc(2), where the arguments cannot be checked (see multiplexed).
func (p *Policy) Warnings(arch string) ([]string, error) {
	abis, err := abisFor(arch)
	if err != nil {
		return nil, err
	}
	var out []string
	for i := range p.Rules {
		r := &p.Rules[i]
		applies, known := false, false
		var mux *Rule
		for j := range abis {
			if !abis[j].applies(r.Section) {
				continue
			}
			applies = true
			if _, ok := abis[j].number(r); ok {
				known = true
			}
			if m, ok := abis[j].multiplexed(r); ok {
				known = true // send, recv: socketcall only
				mux = &m
			}
		}
		if applies && !known {
			out = append(out, fmt.Sprintf("%s:%d: system call %s is unknown on %s: the rule is skipped", p.File, r.Line, r.Name, abis[0].name))
		}
		if mux == nil || len(r.Args) == 0 {
			continue
		}
		what := fmt.Sprintf("%s(%d)", mux.Name, mux.Args[0].Value)
		if muxApplies(r, p.Default) {
			out = append(out, fmt.Sprintf("%s:%d: %s's argument filters cannot be checked through i386 %s: %s applies to every such call", p.File, r.Line, r.Name, what, r.Action))
		} else {
			out = append(out, fmt.Sprintf("%s:%d: %s's argument filters cannot be checked through i386 %s: such calls get the default action, %s", p.File, r.Line, r.Name, what, p.Default))
		}
	}
	return out, nil
}

// Compile translates p into a seccomp filter for a process on a machine of
// arch ("x86_64" or "i386"). The program checks seccomp_data.arch first: a
// call of an ABI the policy does not cover (every compat ABI in version 1,
// whose numbers are the native table's) and of any other architecture is
// killed, as a filter built by LXC does. Within an ABI, the rules of each
// system call are tried from the most restrictive action to the least, so
// the outcome does not hang on the order of the lines; a call no rule
// matches gets the policy's default.
func Compile(p *Policy, arch string) ([]unix.SockFilter, error) {
	abis, err := abisFor(arch)
	if err != nil {
		return nil, err
	}
	covered := func(a *abi) bool { return p.Version == 2 || a.applies("native") }

	var as assembler
	start := make(map[string]label, len(abis))
	for _, a := range abis {
		start[a.name] = as.newLabel()
	}
	// Dispatch on the architecture. x86_64 and x32 share AUDIT_ARCH_X86_64
	// and part by the number, below.
	as.load(offArch)
	seen := map[uint32]bool{}
	for i := range abis {
		a := &abis[i]
		if seen[a.audit] {
			continue
		}
		seen[a.audit] = true
		skip := as.newLabel()
		as.jump(unix.BPF_JEQ, a.audit, next, skip)
		as.ja(start[a.name])
		as.mark(skip)
	}
	as.ret(noLabel, retValue(Action{Kind: Kill}))

	for i := range abis {
		a := &abis[i]
		as.mark(start[a.name])
		if !covered(a) {
			as.ret(noLabel, retValue(Action{Kind: Kill}))
			continue
		}
		as.load(offNr)
		if a.name == "x86_64" {
			// An x32 call on this ABI's arch value: its own table.
			x32 := &abis[1]
			notX32 := as.newLabel()
			as.jump(unix.BPF_JGE, x32Bit, next, notX32)
			as.ja(start[x32.name])
			as.mark(notX32)
		}
		if err := as.rules(p, a); err != nil {
			return nil, err
		}
		as.ret(noLabel, retValue(p.Default))
	}
	prog, err := as.assemble()
	if err != nil {
		return nil, err
	}
	if len(prog) > unix.BPF_MAXINSNS {
		return nil, fmt.Errorf("%s: the compiled filter has %d instructions, more than the kernel's %d", p.File, len(prog), unix.BPF_MAXINSNS)
	}
	return prog, nil
}

// rules emits the rules of p that apply to a, grouped by system call
// number; the accumulator holds the number on entry.
func (as *assembler) rules(p *Policy, a *abi) error {
	byNr := map[uint32][]*Rule{}
	for i := range p.Rules {
		r := &p.Rules[i]
		if !a.applies(r.Section) {
			continue
		}
		if m, ok := a.multiplexed(r); ok && muxApplies(r, p.Default) {
			nr, _ := a.number(&m)
			byNr[nr] = append(byNr[nr], &m)
		}
		nr, ok := a.number(r)
		if !ok {
			continue
		}
		byNr[nr] = append(byNr[nr], r)
	}
	nrs := make([]uint32, 0, len(byNr))
	for nr, rs := range byNr {
		nrs = append(nrs, nr)
		sort.SliceStable(rs, func(i, j int) bool { return rs[i].Action.Kind < rs[j].Action.Kind })
	}
	sort.Slice(nrs, func(i, j int) bool { return nrs[i] < nrs[j] })
	loaded := true
	for _, nr := range nrs {
		for _, r := range byNr[nr] {
			if !loaded {
				as.load(offNr)
			}
			fail := as.newLabel()
			as.jump(unix.BPF_JEQ, nr, next, fail)
			for _, c := range r.Args {
				pass := as.newLabel()
				as.compare(c, a.args32, intArg(r.Name, c.Index), pass, fail)
				as.mark(pass)
			}
			as.ret(noLabel, retValue(r.Action))
			as.mark(fail)
			loaded = len(r.Args) == 0
		}
	}
	return nil
}

// intArg reports whether argument index of call name is one the kernel
// declares int or unsigned int (its SYSCALL_DEFINE), for common calls: the
// kernel reads the low 32 bits of the register and drops the high ones,
// which the filter still sees. A 64-bit equality on such an argument is
// dodged by setting the high word (ioctl(fd, 1<<32|TIOCSTI) is TIOCSTI to
// the kernel), so Eq, Ne and MaskedEq compare the low word only, as the
// kernel reads it.
func intArg(name string, index int) bool {
	switch name {
	case "ioctl", "fcntl", "fcntl64":
		return index == 0 || index == 1
	case "prctl", "personality":
		return index == 0
	case "socket", "socketpair", "setsockopt", "getsockopt":
		return index >= 0 && index <= 2
	}
	return false
}

// compare emits a jump to pass when argument c.Index compares as c says,
// to fail otherwise, as unsigned 64-bit numbers: the high words decide
// unless they are equal, then the low words. A 32-bit ABI's high word is
// zero, so its comparison is settled here, not in the filter. So is the
// high word of an argument the kernel reads as an int (intArg) for an
// equality: a value of 0 there, or the 64-bit spelling of a negative int
// (0xffffffff with the low word's sign bit), is compared in the low word
// alone; any other value cannot be an int, and equals nothing.
func (as *assembler) compare(c ArgCmp, args32, intArg bool, pass, fail label) {
	off := uint32(offArgs + 8*c.Index)
	vlo, vhi := uint32(c.Value), uint32(c.Value>>32)
	mlo, mhi := uint32(c.Mask), uint32(c.Mask>>32)
	loOnly := as.newLabel()
	equality := c.Op == Eq || c.Op == Ne || c.Op == MaskedEq
	if intArg && equality {
		args32 = true
		if vhi == 0xffffffff && vlo&0x80000000 != 0 {
			vhi = 0
		}
	}
	if args32 {
		switch {
		case vhi == 0:
			as.ja(loOnly)
		case c.Op == Ne || c.Op == Lt || c.Op == Le:
			as.ja(pass)
		default:
			as.ja(fail)
		}
	} else {
		as.load(off + 4)
		if c.Op == MaskedEq {
			as.and(mhi)
		}
		switch c.Op {
		case Eq, MaskedEq:
			as.jump(unix.BPF_JEQ, vhi, loOnly, fail)
		case Ne:
			as.jump(unix.BPF_JEQ, vhi, loOnly, pass)
		case Gt, Ge:
			as.jump(unix.BPF_JGT, vhi, pass, next)
			as.jump(unix.BPF_JEQ, vhi, loOnly, fail)
		case Lt, Le:
			as.jump(unix.BPF_JGT, vhi, fail, next)
			as.jump(unix.BPF_JEQ, vhi, loOnly, pass)
		}
	}
	as.mark(loOnly)
	as.load(off)
	if c.Op == MaskedEq {
		as.and(mlo)
	}
	switch c.Op {
	case Eq, MaskedEq:
		as.jump(unix.BPF_JEQ, vlo, pass, fail)
	case Ne:
		as.jump(unix.BPF_JEQ, vlo, fail, pass)
	case Gt:
		as.jump(unix.BPF_JGT, vlo, pass, fail)
	case Ge:
		as.jump(unix.BPF_JGE, vlo, pass, fail)
	case Lt:
		as.jump(unix.BPF_JGE, vlo, fail, pass)
	case Le:
		as.jump(unix.BPF_JGT, vlo, fail, pass)
	}
}

// label names an instruction position before it is known.
type label int

const (
	next    label = -1 // the following instruction
	noLabel label = -2
)

type insn struct {
	f      unix.SockFilter
	jt, jf label // conditional jumps
	ja     label // BPF_JA
}

// assembler lays out classic BPF with symbolic jumps and resolves them.
type assembler struct {
	code   []insn
	labels []int // position of each label, -1 until marked
}

func (as *assembler) newLabel() label {
	as.labels = append(as.labels, -1)
	return label(len(as.labels) - 1)
}

func (as *assembler) mark(l label) { as.labels[l] = len(as.code) }

func (as *assembler) emit(i insn) { as.code = append(as.code, i) }

func (as *assembler) load(off uint32) {
	as.emit(insn{f: unix.SockFilter{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: off}, jt: noLabel, jf: noLabel, ja: noLabel})
}

func (as *assembler) and(k uint32) {
	as.emit(insn{f: unix.SockFilter{Code: unix.BPF_ALU | unix.BPF_AND | unix.BPF_K, K: k}, jt: noLabel, jf: noLabel, ja: noLabel})
}

func (as *assembler) jump(op uint16, k uint32, jt, jf label) {
	as.emit(insn{f: unix.SockFilter{Code: unix.BPF_JMP | op | unix.BPF_K, K: k}, jt: jt, jf: jf, ja: noLabel})
}

func (as *assembler) ja(l label) {
	as.emit(insn{f: unix.SockFilter{Code: unix.BPF_JMP | unix.BPF_JA}, jt: noLabel, jf: noLabel, ja: l})
}

// ret emits a return of v, marking it l first unless l is noLabel.
func (as *assembler) ret(l label, v uint32) {
	if l != noLabel {
		as.mark(l)
	}
	as.emit(insn{f: unix.SockFilter{Code: unix.BPF_RET | unix.BPF_K, K: v}, jt: noLabel, jf: noLabel, ja: noLabel})
}

// assemble resolves every jump. Conditional jumps reach at most 255
// instructions ahead; the layout keeps them within a rule.
func (as *assembler) assemble() ([]unix.SockFilter, error) {
	out := make([]unix.SockFilter, len(as.code))
	offset := func(pc int, l label) (int, error) {
		if l == next || l == noLabel {
			return 0, nil
		}
		at := as.labels[l]
		if at < 0 {
			return 0, fmt.Errorf("seccomp compiler: label %d never placed", l)
		}
		d := at - pc - 1
		if d < 0 {
			return 0, fmt.Errorf("seccomp compiler: backward jump at %d", pc)
		}
		return d, nil
	}
	for pc, i := range as.code {
		f := i.f
		if i.ja != noLabel {
			d, err := offset(pc, i.ja)
			if err != nil {
				return nil, err
			}
			f.K = uint32(d)
		} else if f.Code&0x07 == unix.BPF_JMP {
			t, err := offset(pc, i.jt)
			if err != nil {
				return nil, err
			}
			e, err := offset(pc, i.jf)
			if err != nil {
				return nil, err
			}
			if t > 255 || e > 255 {
				return nil, fmt.Errorf("seccomp compiler: conditional jump at %d too far (%d, %d)", pc, t, e)
			}
			f.Jt, f.Jf = uint8(t), uint8(e)
		}
		out[pc] = f
	}
	return out, nil
}

// stageCalls are the system calls golxc's init stage may make between
// loading a filter with a notify listener and handing the listener to
// the monitor: its own (sendmsg, close) and whatever the Go runtime's
// threads, which the filter covers too (TSYNC), make meanwhile. Caught
// by a notify action, such a call waits on a listener no one answers
// yet, and the start hangs.
var stageCalls = []string{
	"arch_prctl", "clock_gettime", "clock_nanosleep", "clone", "clone3", "close",
	"epoll_create1", "epoll_ctl", "epoll_pwait", "epoll_pwait2", "epoll_wait",
	"exit", "exit_group", "fcntl", "futex", "getpid", "gettid", "gettimeofday",
	"madvise", "mmap", "mprotect", "munmap", "nanosleep", "read",
	"rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sched_getaffinity", "sched_yield",
	"sendmsg", "sigaltstack", "tgkill", "tkill", "write",
}

// NotifyStalls returns an error naming the file, the line and the call
// when a notify action of p would catch, on arch's native ABI, a call of
// the init stage's before the listener is handed over (stageCalls): a
// notify rule on one, or a default of notify that no rule without
// arguments overrides for one.
func (p *Policy) NotifyStalls(arch string) error {
	abis, err := abisFor(arch)
	if err != nil {
		return err
	}
	a := &abis[0]
	stage := map[uint32]string{}
	for _, name := range stageCalls {
		if n, ok := a.table.lookup(name); ok {
			stage[n|a.bit] = name
		}
	}
	covered := map[uint32]bool{}
	for i := range p.Rules {
		r := &p.Rules[i]
		if !a.applies(r.Section) {
			continue
		}
		n, ok := a.number(r)
		if !ok {
			continue
		}
		name, ok := stage[n]
		if !ok {
			continue
		}
		if r.Action.Kind == Notify {
			return fmt.Errorf("%s:%d: notify on %s would hang the start: golxc's init stage makes that call before it can hand the listener over", p.File, r.Line, name)
		}
		if len(r.Args) == 0 {
			covered[n] = true
		}
	}
	if p.Default.Kind == Notify {
		for _, name := range stageCalls {
			if n, ok := a.table.lookup(name); ok && !covered[n|a.bit] {
				return fmt.Errorf("%s:2: default action notify catches %s, which golxc's init stage makes before it can hand the listener over: the start would hang (give %s a rule of its own)", p.File, name, name)
			}
		}
	}
	return nil
}
