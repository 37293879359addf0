package seccomp

import (
	"encoding/binary"
	"fmt"
	"os"
	"strings"
	"testing"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// call is one system call as a filter sees it.
type call struct {
	arch uint32
	nr   uint32
	args [6]uint64
}

func x86_64(name string, args ...uint64) call {
	return mk(unix.AUDIT_ARCH_X86_64, syscallsX86_64, 0, name, args)
}
func x32(name string, args ...uint64) call {
	return mk(unix.AUDIT_ARCH_X86_64, syscallsX32, x32Bit, name, args)
}
func i386(name string, args ...uint64) call {
	return mk(unix.AUDIT_ARCH_I386, syscallsI386, 0, name, args)
}

func mk(arch uint32, table sysTable, bit uint32, name string, args []uint64) call {
	n, ok := table.lookup(name)
	if !ok {
		panic("no system call " + name)
	}
	c := call{arch: arch, nr: n | bit}
	copy(c.args[:], args)
	return c
}

// data lays c out as struct seccomp_data. x/net/bpf's machine loads words
// big-endian where the kernel loads them in the host's order, so each
// 32-bit word is written big-endian here: the program sees the values the
// kernel would give it.
func (c call) data() []byte {
	b := make([]byte, 64)
	binary.BigEndian.PutUint32(b[0:], c.nr)
	binary.BigEndian.PutUint32(b[4:], c.arch)
	for i, a := range c.args {
		binary.BigEndian.PutUint32(b[16+8*i:], uint32(a))
		binary.BigEndian.PutUint32(b[16+8*i+4:], uint32(a>>32))
	}
	return b
}

// vm loads prog into x/net/bpf's interpreter, an implementation of
// classic BPF other than the kernel's and this package's.
func vm(t *testing.T, prog []unix.SockFilter) *bpf.VM {
	t.Helper()
	raw := make([]bpf.RawInstruction, len(prog))
	for i, f := range prog {
		raw[i] = bpf.RawInstruction{Op: f.Code, Jt: f.Jt, Jf: f.Jf, K: f.K}
	}
	ins, ok := bpf.Disassemble(raw)
	if !ok {
		t.Fatalf("program has instructions the interpreter does not know")
	}
	m, err := bpf.NewVM(ins)
	if err != nil {
		t.Fatalf("interpreter refuses the program: %v", err)
	}
	return m
}

func runVM(t *testing.T, m *bpf.VM, c call) uint32 {
	t.Helper()
	r, err := m.Run(c.data())
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return uint32(r)
}

func compileText(t *testing.T, text string) []unix.SockFilter {
	t.Helper()
	p, err := Parse(strings.NewReader(text), "test.seccomp")
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	prog, err := Compile(p, "x86_64")
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	return prog
}

const (
	allow = unix.SECCOMP_RET_ALLOW
	kill  = unix.SECCOMP_RET_KILL_PROCESS
)

func errno(n uint32) uint32 { return unix.SECCOMP_RET_ERRNO | n }

type expect struct {
	c    call
	want uint32
}

func check(t *testing.T, prog []unix.SockFilter, cases []expect) {
	t.Helper()
	m := vm(t, prog)
	for _, e := range cases {
		if got := runVM(t, m, e.c); got != e.want {
			t.Errorf("arch %#x nr %d args %v: got %#x, want %#x", e.c.arch, e.c.nr, e.c.args, got, e.want)
		}
	}
}

func TestActions(t *testing.T) {
	prog := compileText(t, `2
denylist
mkdir errno 1
rmdir errno 4095
kexec_load kill
reboot
ptrace trap
acct trace 7
swapon trace
syslog log
mount notify
chdir allow
`)
	check(t, prog, []expect{
		{x86_64("mkdir"), errno(1)},
		{x86_64("rmdir"), errno(4095)},
		{x86_64("kexec_load"), kill},
		{x86_64("reboot"), kill}, // a denylist rule's default action
		{x86_64("ptrace"), unix.SECCOMP_RET_TRAP},
		{x86_64("acct"), unix.SECCOMP_RET_TRACE | 7},
		{x86_64("swapon"), unix.SECCOMP_RET_TRACE},
		{x86_64("syslog"), unix.SECCOMP_RET_LOG},
		{x86_64("mount"), unix.SECCOMP_RET_USER_NOTIF},
		{x86_64("chdir"), allow},
		{x86_64("getpid"), allow},
		{call{arch: 0xdead, nr: 1}, kill}, // another machine's calls never pass
	})
}

func TestDefaults(t *testing.T) {
	check(t, compileText(t, "2\nallowlist\nread\nwrite\nexit_group\n"), []expect{
		{x86_64("read"), allow}, {x86_64("write"), allow}, {i386("write"), allow}, {x32("write"), allow},
		{x86_64("mkdir"), kill}, {i386("mkdir"), kill},
	})
	check(t, compileText(t, "2\nallowlist errno 38\nread\nmkdir kill\n"), []expect{
		{x86_64("read"), allow}, {x86_64("mkdir"), kill}, {x86_64("rmdir"), errno(38)},
	})
	check(t, compileText(t, "2\ndenylist errno 1\nmkdir allow\nrmdir\n"), []expect{
		{x86_64("mkdir"), allow}, {x86_64("rmdir"), kill}, {x86_64("getpid"), errno(1)},
	})
	check(t, compileText(t, "2\nblacklist\nmkdir errno 2\n"), []expect{{x86_64("mkdir"), errno(2)}, {x86_64("rmdir"), allow}})
	check(t, compileText(t, "2\nwhitelist trap\nread\n"), []expect{{x86_64("read"), allow}, {x86_64("rmdir"), unix.SECCOMP_RET_TRAP}})
}

// Version 1 numbers are the native table's: a compat call whose number
// means another system call must not pass, so every compat ABI is killed.
func TestVersion1(t *testing.T) {
	check(t, compileText(t, "1\nallowlist\n0\n1\n83\n"), []expect{
		{x86_64("read"), allow}, {x86_64("write"), allow}, {x86_64("mkdir"), allow},
		{x86_64("rmdir"), kill}, {i386("read"), kill}, {x32("read"), kill},
	})
}

func TestSections(t *testing.T) {
	prog := compileText(t, `2
denylist
mkdir errno 1
[x86_64]
rmdir errno 2
[x86]
rmdir errno 3
[X32]
rmdir errno 4
[arm64]
chdir errno 5
[ALL]
chmod errno 6
[x86_64]
socketcall errno 7
mmap2 errno 7
`)
	check(t, prog, []expect{
		{x86_64("mkdir"), errno(1)}, {i386("mkdir"), errno(1)}, {x32("mkdir"), errno(1)},
		{x86_64("rmdir"), errno(2)}, {i386("rmdir"), errno(3)}, {x32("rmdir"), errno(4)},
		{x86_64("chdir"), allow}, {i386("chdir"), allow}, {x32("chdir"), allow},
		{x86_64("chmod"), errno(6)}, {i386("chmod"), errno(6)}, {x32("chmod"), errno(6)},
		{i386("socketcall"), allow}, {i386("mmap2"), allow},
		// x32 numbers of calls whose x32 entry differs from x86_64's.
		{x32("execve"), allow}, {x86_64("execve"), allow},
	})
	p, err := Parse(strings.NewReader("2\ndenylist\nnot_a_call errno 1\n[x86_64]\nmmap2\n[x86]\nmmap2\n"), "u.seccomp")
	if err != nil {
		t.Fatal(err)
	}
	unknown, err := p.Warnings("x86_64")
	if err != nil {
		t.Fatal(err)
	}
	if len(unknown) != 2 || !strings.Contains(unknown[0], "u.seccomp:3: system call not_a_call") || !strings.Contains(unknown[1], "u.seccomp:5: system call mmap2") {
		t.Errorf("unknown = %q", unknown)
	}
}

// The x32 block is reached through the number's x32 bit, and a rule for
// x32 alone must not touch the x86_64 call of the same number.
func TestX32Numbers(t *testing.T) {
	prog := compileText(t, "2\ndenylist\n[x32]\nexecve errno 9\nmkdir errno 8\n")
	check(t, prog, []expect{
		{x32("execve"), errno(9)}, {x32("mkdir"), errno(8)},
		{x86_64("execve"), allow}, {x86_64("mkdir"), allow},
		{call{arch: unix.AUDIT_ARCH_X86_64, nr: 59 | x32Bit}, allow}, // x86_64's execve number, an x32 "64"-only slot
	})
}

// The most restrictive matching rule wins, whatever the order of lines.
func TestPrecedence(t *testing.T) {
	for _, text := range []string{
		"2\ndenylist\nmkdir errno 1\nmkdir kill [1,0700,SCMP_CMP_EQ]\nmkdir log [1,0755,SCMP_CMP_EQ]\n",
		"2\ndenylist\nmkdir log [1,0755,SCMP_CMP_EQ]\nmkdir kill [1,0700,SCMP_CMP_EQ]\nmkdir errno 1\n",
	} {
		check(t, compileText(t, text), []expect{
			{x86_64("mkdir", 0, 0o700), kill},
			{x86_64("mkdir", 0, 0o755), errno(1)}, // errno outranks log
			{x86_64("mkdir", 0, 0o644), errno(1)},
		})
	}
	check(t, compileText(t, "2\nallowlist\nmkdir errno 3 [1,5,SCMP_CMP_EQ]\nmkdir\n"), []expect{
		{x86_64("mkdir", 0, 5), errno(3)}, {x86_64("mkdir", 0, 6), allow},
	})
}

// Every comparison against values on both sides of the boundary, in the
// low and the high word, on a 64-bit and a 32-bit ABI.
func TestArgumentComparisons(t *testing.T) {
	const hi = 1 << 32
	values := []uint64{0, 1, 4, 5, 6, 0xffffffff, hi, hi + 5, 5*hi + 4, 5*hi + 5, 5*hi + 6, 6 * hi, ^uint64(0)}
	ops := map[string]func(a, v, m uint64) bool{
		"SCMP_CMP_EQ": func(a, v, _ uint64) bool { return a == v },
		"==":          func(a, v, _ uint64) bool { return a == v },
		"SCMP_CMP_NE": func(a, v, _ uint64) bool { return a != v },
		"!=":          func(a, v, _ uint64) bool { return a != v },
		"SCMP_CMP_LT": func(a, v, _ uint64) bool { return a < v },
		"<":           func(a, v, _ uint64) bool { return a < v },
		"SCMP_CMP_LE": func(a, v, _ uint64) bool { return a <= v },
		"<=":          func(a, v, _ uint64) bool { return a <= v },
		"SCMP_CMP_GE": func(a, v, _ uint64) bool { return a >= v },
		">=":          func(a, v, _ uint64) bool { return a >= v },
		"SCMP_CMP_GT": func(a, v, _ uint64) bool { return a > v },
		">":           func(a, v, _ uint64) bool { return a > v },
	}
	for name, op := range ops {
		for _, v := range []uint64{5, 5*hi + 5, 0, ^uint64(0)} {
			for idx := 0; idx < 6; idx++ {
				text := fmt.Sprintf("2\ndenylist\nmkdir errno 1 [%d,%#x,%s]\n", idx, v, name)
				m := vm(t, compileText(t, text))
				for _, a := range values {
					var args [6]uint64
					for i := range args {
						args[i] = ^a // the other arguments must not matter
					}
					args[idx] = a
					c := x86_64("mkdir")
					c.args = args
					want := uint32(allow)
					if op(a, v, 0) {
						want = errno(1)
					}
					if got := runVM(t, m, c); got != want {
						t.Errorf("x86_64 %s: arg%d=%#x against %#x: got %#x, want %#x", name, idx, a, v, got, want)
					}
					// i386 passes 32-bit arguments, zero-extended.
					c = i386("mkdir")
					for i := range args {
						c.args[i] = uint64(uint32(args[i]))
					}
					want = allow
					if op(uint64(uint32(a)), v, 0) {
						want = errno(1)
					}
					if got := runVM(t, m, c); got != want {
						t.Errorf("i386 %s: arg%d=%#x against %#x: got %#x, want %#x", name, idx, uint32(a), v, got, want)
					}
				}
			}
		}
	}
}

func TestMaskedEq(t *testing.T) {
	const hi = 1 << 32
	for _, spell := range []string{"SCMP_CMP_MASKED_EQ", "&="} {
		for _, mv := range [][2]uint64{{1, 1}, {0x3, 0x2}, {0xf0 * hi, 0x10 * hi}, {0xff00ff * hi, 0}, {0xffff0000ffff0000, 0x1234000056780000}} {
			mask, val := mv[0], mv[1]
			m := vm(t, compileText(t, fmt.Sprintf("2\ndenylist\numount2 errno 16 [1,%#x,%s,%#x]\n", val, spell, mask)))
			for _, a := range []uint64{0, 1, 2, 3, 7, val, val | ^mask, val ^ mask, 0x10 * hi, 0x11*hi + 2, 0x1234000056780000, ^uint64(0)} {
				want := uint32(allow)
				if a&mask == val {
					want = errno(16)
				}
				if got := runVM(t, m, x86_64("umount2", 0, a)); got != want {
					t.Errorf("%s mask %#x value %#x: arg %#x: got %#x, want %#x", spell, mask, val, a, got, want)
				}
			}
		}
	}
}

func TestSeveralArguments(t *testing.T) {
	// socket(AF_NETLINK, *, NETLINK_AUDIT) only.
	m := vm(t, compileText(t, "2\ndenylist\nsocket errno 97 [0,16,SCMP_CMP_EQ][2,9,SCMP_CMP_EQ]\nsocketpair errno 1 [0,1,SCMP_CMP_EQ] [1,2,SCMP_CMP_GE]\n"))
	for _, e := range []expect{
		{x86_64("socket", 16, 3, 9), errno(97)},
		{x86_64("socket", 16, 3, 0), allow},
		{x86_64("socket", 2, 3, 9), allow},
		{x86_64("socketpair", 1, 2), errno(1)},
		{x86_64("socketpair", 1, 1), allow},
		{x86_64("socketpair", 2, 5), allow},
	} {
		if got := runVM(t, m, e.c); got != e.want {
			t.Errorf("%v: got %#x, want %#x", e.c, got, e.want)
		}
	}
}

// LXC's common.seccomp (rewritten in testdata, and the installed one when
// the lxc package is there) compiles and denies what it names on every
// x86 ABI.
func TestCommonSeccomp(t *testing.T) {
	files := []string{"testdata/common.seccomp"}
	if _, err := os.Stat("/usr/share/lxc/config/common.seccomp"); err == nil {
		files = append(files, "/usr/share/lxc/config/common.seccomp")
	}
	for _, f := range files {
		p, err := ParseFile(f)
		if err != nil {
			t.Fatal(err)
		}
		prog, err := Compile(p, "x86_64")
		if err != nil {
			t.Fatal(err)
		}
		var cases []expect
		for _, abi := range []func(string, ...uint64) call{x86_64, i386, x32} {
			for _, name := range []string{"kexec_load", "open_by_handle_at", "init_module", "finit_module", "delete_module"} {
				cases = append(cases, expect{abi(name), errno(1)})
			}
			cases = append(cases,
				expect{abi("umount2", 0, unix.MNT_FORCE), errno(13)},
				expect{abi("umount2", 0, unix.MNT_FORCE|unix.MNT_DETACH), errno(13)},
				expect{abi("umount2", 0, unix.MNT_DETACH), allow},
				expect{abi("mkdir"), allow}, expect{abi("execve"), allow})
		}
		check(t, prog, cases)
		if u, _ := p.Warnings("x86_64"); len(u) != 0 {
			t.Errorf("%s: unknown calls %q", f, u)
		}
	}
}

// An allowlist of every system call stays within the kernel's 4096
// instructions and allows each of them.
func TestLargeAllowlist(t *testing.T) {
	var b strings.Builder
	b.WriteString("2\nallowlist errno 38\n")
	for _, e := range syscallsX86_64 {
		b.WriteString(e.name + "\n")
	}
	prog := compileText(t, b.String())
	if len(prog) > unix.BPF_MAXINSNS {
		t.Fatalf("%d instructions", len(prog))
	}
	var cases []expect
	for _, e := range syscallsX86_64 {
		cases = append(cases, expect{x86_64(e.name), allow})
	}
	cases = append(cases, expect{call{arch: unix.AUDIT_ARCH_X86_64, nr: 1000}, errno(38)})
	check(t, prog, cases)
}

func TestCompileArch(t *testing.T) {
	p, err := Parse(strings.NewReader("2\ndenylist\nmkdir errno 1\n[x86_64]\nrmdir errno 2\n[x86]\nrmdir errno 3\n"), "a")
	if err != nil {
		t.Fatal(err)
	}
	prog, err := Compile(p, "i386")
	if err != nil {
		t.Fatal(err)
	}
	check(t, prog, []expect{{i386("mkdir"), errno(1)}, {i386("rmdir"), errno(3)}, {x86_64("mkdir"), kill}})
	if _, err := Compile(p, "riscv64"); err == nil || !strings.Contains(err.Error(), "not supported yet") {
		t.Errorf("riscv64: %v", err)
	}
}

// The i386 ABI multiplexes the socket calls through socketcall(2) and the
// System V IPC calls through ipc(2): a rule on a call covers its
// multiplexed form too, picked by the first argument (ipc's low 16 bits:
// the high ones are a version the kernel drops).
func TestMultiplexedCalls(t *testing.T) {
	deny := compileText(t, `2
denylist
socket errno 1
shmget errno 2
accept kill
semop errno 3
# The arguments of socketcall's calls are in memory: a denial with
# argument filters covers every socketcall(SYS_SOCKETPAIR).
socketpair errno 4 [0,1,SCMP_CMP_EQ]
# An exception that allows is not extended to the multiplexer.
connect allow [0,3,SCMP_CMP_EQ]
`)
	check(t, deny, []expect{
		{x86_64("socket", 2), errno(1)}, {i386("socket", 2), errno(1)}, {x32("socket", 2), errno(1)},
		{i386("socketcall", 1), errno(1)}, {i386("socketcall", 2), allow}, {i386("socketcall", 1|1<<32), errno(1)},
		{i386("socketcall", 5), kill}, {x86_64("accept"), kill},
		{i386("socketcall", 8), errno(4)}, {i386("socketpair", 2), allow}, {i386("socketpair", 1), errno(4)},
		{i386("socketcall", 3), allow},
		{x86_64("shmget"), errno(2)}, {i386("shmget"), errno(2)}, {i386("ipc", 23), errno(2)},
		{i386("ipc", 1<<16|23), errno(2)}, {i386("ipc", 7<<16|23), errno(2)},
		{i386("ipc", 24), allow}, {i386("ipc", 1), errno(3)}, {x86_64("semop"), errno(3)},
	})

	// In an allowlist, allowing a call allows its multiplexed form, and
	// only that one.
	allowed := compileText(t, "2\nallowlist errno 38\nsocket\nrecv\nmsgget\nbind allow [0,3,SCMP_CMP_EQ]\n")
	check(t, allowed, []expect{
		{i386("socket"), allow}, {i386("socketcall", 1), allow}, {i386("socketcall", 10), allow},
		{i386("socketcall", 3), errno(38)}, {i386("socketcall", 2), errno(38)}, {i386("bind", 3), allow},
		{i386("ipc", 13), allow}, {i386("ipc", 2<<16|13), allow}, {i386("ipc", 23), errno(38)},
		{x86_64("socket"), allow}, {x86_64("connect"), errno(38)},
	})

	p, err := Parse(strings.NewReader("2\ndenylist\nsocketpair errno 4 [0,1,SCMP_CMP_EQ]\nconnect allow [0,3,SCMP_CMP_EQ]\nsocket errno 1\n"), "w.seccomp")
	if err != nil {
		t.Fatal(err)
	}
	w, err := p.Warnings("x86_64")
	if err != nil || len(w) != 2 ||
		w[0] != "w.seccomp:3: socketpair's argument filters cannot be checked through i386 socketcall(8): errno 4 applies to every such call" ||
		w[1] != "w.seccomp:4: connect's argument filters cannot be checked through i386 socketcall(3): such calls get the default action, allow" {
		t.Errorf("warnings %q, %v", w, err)
	}

	// send and recv exist only as socketcall's: not unknown on x86_64's
	// i386 ABI.
	p, err = Parse(strings.NewReader("2\ndenylist\nsend errno 1\nrecv errno 1\n"), "m.seccomp")
	if err != nil {
		t.Fatal(err)
	}
	if u, err := p.Warnings("x86_64"); err != nil || len(u) != 0 {
		t.Errorf("send, recv: unknown %q, %v", u, err)
	}
}

// Arguments the kernel reads as an int: equality compares the low word,
// so setting the high word does not dodge a rule; a 64-bit negative
// value stands for the int; ordered comparisons stay 64-bit.
func TestIntArguments(t *testing.T) {
	prog := compileText(t, `2
denylist
ioctl errno 1 [1,0x5412,SCMP_CMP_EQ]
fcntl errno 2 [1,0x400,SCMP_CMP_MASKED_EQ,0xffffffffffffffff]
socket errno 3 [0,0xffffffffffffffff,SCMP_CMP_EQ]
socket errno 4 [1,0x100000001,SCMP_CMP_EQ]
prctl errno 5 [0,22,SCMP_CMP_EQ]
personality errno 7 [0,8,SCMP_CMP_NE]
mkdir errno 6 [1,0x5412,SCMP_CMP_EQ]
`)
	check(t, prog, []expect{
		{x86_64("ioctl", 0, 0x5412), errno(1)}, {x86_64("ioctl", 0, 1<<32|0x5412), errno(1)},
		{x32("ioctl", 0, 0xffffffff00005412), errno(1)}, {i386("ioctl", 0, 0x5412), errno(1)},
		{x86_64("ioctl", 0, 0x5413), allow},
		{x86_64("fcntl", 0, 0x400), errno(2)}, {x86_64("fcntl", 0, 5<<32|0x400), errno(2)},
		{x86_64("socket", 0xffffffff), errno(3)}, {x86_64("socket", 0xffffffffffffffff), errno(3)},
		{x86_64("socket", 1<<32|0xffffffff), errno(3)}, {i386("socket", 0xffffffff), errno(3)},
		{x86_64("socket", 1, 1), allow}, {x86_64("socket", 1, 0x100000001), allow},
		{x86_64("prctl", 22), errno(5)}, {x86_64("prctl", 1<<32|22), errno(5)}, {x86_64("prctl", 23), allow},
		{x86_64("personality", 8), allow}, {x86_64("personality", 1<<32|8), allow}, {x86_64("personality", 0), errno(7)},
		// mkdir's mode is a umode_t but not in the table: 64-bit, as libseccomp.
		{x86_64("mkdir", 0, 0x5412), errno(6)}, {x86_64("mkdir", 0, 1<<32|0x5412), allow},
	})
}

// lookup's binary search needs each table sorted by name, without
// duplicates; a hand edit of zsyscalls_x86.go could break that silently.
func TestSysTablesSorted(t *testing.T) {
	for name, tab := range map[string]sysTable{"x86_64": syscallsX86_64, "i386": syscallsI386, "x32": syscallsX32} {
		if len(tab) < 300 {
			t.Errorf("%s: only %d calls", name, len(tab))
		}
		for i := 1; i < len(tab); i++ {
			if tab[i-1].name >= tab[i].name {
				t.Errorf("%s: %q before %q", name, tab[i-1].name, tab[i].name)
			}
		}
	}
	// read is 0 on x86_64 and x32, 3 on i386.
	if n, ok := syscallsX86_64.lookup("read"); !ok || n != 0 {
		t.Errorf("x86_64 read = %d, %v", n, ok)
	}
	if n, ok := syscallsI386.lookup("read"); !ok || n != 3 {
		t.Errorf("i386 read = %d, %v", n, ok)
	}
	if _, ok := syscallsX86_64.lookup("no_such_call"); ok {
		t.Error("lookup of an unknown call succeeded")
	}
}
