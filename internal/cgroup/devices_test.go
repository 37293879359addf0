package cgroup

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cilium/ebpf/asm"
)

// commonConfDevices are the cgroup2 device lines of Debian's common.conf
// (lxc 5.0.2), in their order, as (allow, value).
var commonConfDevices = []struct {
	allow bool
	value string
}{
	{false, "a"},
	{true, "c *:* m"}, {true, "b *:* m"},
	{true, "c 1:3 rwm"}, {true, "c 1:5 rwm"}, {true, "c 1:7 rwm"},
	{true, "c 5:0 rwm"}, {true, "c 5:1 rwm"}, {true, "c 5:2 rwm"},
	{true, "c 1:8 rwm"}, {true, "c 1:9 rwm"},
	{true, "c 136:* rwm"}, {true, "c 10:229 rwm"},
}

func commonConfRules(t *testing.T) []DeviceRule {
	t.Helper()
	var rules []DeviceRule
	for _, l := range commonConfDevices {
		r, err := ParseDeviceRule(l.allow, l.value)
		if err != nil {
			t.Fatal(err)
		}
		rules = append(rules, r)
	}
	return rules
}

// runDeviceProgram interprets the program Program emits, as assembled
// for the kernel and decoded by an independent decoder (cilium/ebpf's,
// a test-only dependency: golxc's own binary does not link it), on one
// device access: 32-bit loads from the context, ALU with immediates and
// registers, conditional jumps by offset, exit. The kernel offers no
// test run for device programs, so this is how the compiled filter meets
// device tuples without a cgroup.
func runDeviceProgram(t *testing.T, prog bpfProgram, typ, major, minor, access uint32) uint64 {
	t.Helper()
	code, err := prog.assemble()
	if err != nil {
		t.Fatal(err)
	}
	var insns []asm.Instruction
	for r := bytes.NewReader(code); r.Len() > 0; {
		var ins asm.Instruction
		if err := ins.Unmarshal(r, binary.LittleEndian, "linux"); err != nil {
			t.Fatalf("decode the assembled program: %v", err)
		}
		insns = append(insns, ins)
	}
	if len(insns) != len(prog) {
		t.Fatalf("decoded %d instructions of %d", len(insns), len(prog))
	}
	ctx := []uint32{access<<16 | typ, major, minor}
	var reg [11]uint64
	for pc, steps := 0, 0; pc < len(insns); steps++ {
		if steps > 10000 {
			t.Fatal("program does not end")
		}
		ins := insns[pc]
		op := ins.OpCode
		pc++
		switch {
		case op == asm.Return().OpCode:
			return reg[asm.R0]
		case op.Class() == asm.LdXClass:
			if ins.Src != asm.R1 || ins.Offset%4 != 0 || op.Size() != asm.Word {
				t.Fatalf("unexpected load %v", ins)
			}
			reg[ins.Dst] = uint64(ctx[ins.Offset/4])
		case op.Class() == asm.ALU64Class:
			v := uint64(ins.Constant)
			if op.Source() == asm.RegSource {
				v = reg[ins.Src]
			}
			switch op.ALUOp() {
			case asm.Mov:
				reg[ins.Dst] = v
			case asm.And:
				reg[ins.Dst] &= v
			case asm.RSh:
				reg[ins.Dst] >>= v
			default:
				t.Fatalf("unexpected ALU op %v", ins)
			}
		case op.Class() == asm.JumpClass:
			v := uint64(ins.Constant)
			var take bool
			switch op.JumpOp() {
			case asm.JEq:
				take = reg[ins.Dst] == v
			case asm.JNE:
				take = reg[ins.Dst] != v
			default:
				t.Fatalf("unexpected jump %v", ins)
			}
			if take {
				if ins.Offset <= 0 {
					t.Fatalf("jump %v does not go forward", ins)
				}
				pc += int(ins.Offset)
			}
		default:
			t.Fatalf("unexpected instruction %v", ins)
		}
	}
	t.Fatal("program runs off its end")
	return 0
}

// A jump to a label that is not ahead is refused by the assembler (the
// verifier would refuse a loop, and a missing label is a bug).
func TestAssembleRefusesBadJumps(t *testing.T) {
	for _, p := range []bpfProgram{
		{{op: opJneImm, target: "nowhere"}, {op: opExit}},
		{{op: opExit, label: "back"}, {op: opJneImm, target: "back"}, {op: opExit}},
	} {
		if _, err := p.assemble(); err == nil {
			t.Errorf("assemble(%v) = nil error", p)
		}
	}
}

func TestDeviceProgramCommonConf(t *testing.T) {
	p := NewDevicePolicy(commonConfRules(t))
	if p.DefaultAllow {
		t.Fatal("deny a then allows: want an allowlist")
	}
	prog := p.Program()
	rw := DevRead | DevWrite
	cases := []struct {
		name               string
		typ, maj, min, acc uint32
		want               bool
	}{
		{"mknod /dev/sda", DevBlock, 8, 0, DevMknod, true}, // b *:* m
		{"read /dev/sda", DevBlock, 8, 0, DevRead, false},
		{"rw /dev/sda", DevBlock, 8, 0, rw, false},
		{"mknod /dev/mem", DevChar, 1, 1, DevMknod, true},
		{"read /dev/mem", DevChar, 1, 1, DevRead, false},
		{"rw /dev/null", DevChar, 1, 3, rw, true},
		{"mknod /dev/null", DevChar, 1, 3, DevMknod, true},
		{"rw /dev/zero", DevChar, 1, 5, rw, true},
		{"rw /dev/ptmx", DevChar, 5, 2, rw, true},
		{"rw pty 136:7", DevChar, 136, 7, rw, true},
		{"rw pty 136:4095", DevChar, 136, 4095, rw, true},
		{"rw 137:0", DevChar, 137, 0, rw, false},
		{"rw /dev/fuse", DevChar, 10, 229, rw, true},
		{"rw 10:228", DevChar, 10, 228, rw, false},
		{"rw block 1:3", DevBlock, 1, 3, rw, false}, // type matters
		{"rw /dev/kmsg", DevChar, 1, 11, rw, false},
	}
	for _, c := range cases {
		if got := p.Allows(c.typ, c.maj, c.min, c.acc); got != c.want {
			t.Errorf("%s: policy says %v, want %v", c.name, got, c.want)
		}
		if got := runDeviceProgram(t, prog, c.typ, c.maj, c.min, c.acc); got != b2u(c.want) {
			t.Errorf("%s: program returns %d, want %v", c.name, got, c.want)
		}
	}
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// TestDevicePolicyLXCSemantics checks lxc.container.conf(5)'s rules: a
// bare a resets the list, an allowlist ignores deny rules and a denylist
// allow rules; with no bare a everything not denied is allowed.
func TestDevicePolicyLXCSemantics(t *testing.T) {
	parse := func(lines ...string) []DeviceRule {
		var rs []DeviceRule
		for _, l := range lines {
			r, err := ParseDeviceRule(l[0] == '+', l[1:])
			if err != nil {
				t.Fatal(err)
			}
			rs = append(rs, r)
		}
		return rs
	}
	type q struct {
		typ, maj, min, acc uint32
		want               bool
	}
	for i, c := range []struct {
		rules []DeviceRule
		qs    []q
		added []DeviceRule // lxc-device add
	}{
		// The man page's denylist: no creating, /dev/null not even usable.
		{parse("+a", "-c *:* m", "-b *:* m", "-c 1:3 rwm"), []q{
			{DevChar, 1, 5, DevMknod, false}, {DevChar, 1, 5, DevRead, true},
			{DevChar, 1, 3, DevRead, false}, {DevBlock, 8, 0, DevRead, true},
		}, nil},
		// deny a resets what came before it; the deny after it is ignored.
		{parse("+c 1:1 rwm", "-a", "+c 1:3 rw", "-c 1:3 rwm"), []q{
			{DevChar, 1, 1, DevRead, false}, {DevChar, 1, 3, DevRead | DevWrite, true},
			{DevChar, 1, 3, DevMknod, false},
		}, nil},
		// No bare a: a denylist.
		{parse("-b 8:* rwm"), []q{
			{DevBlock, 8, 1, DevRead, false}, {DevBlock, 9, 1, DevRead, true}, {DevChar, 8, 1, DevRead, true},
		}, nil},
		// A partial access in a denylist: deny r refuses rw but not w.
		{parse("-c 1:5 r"), []q{
			{DevChar, 1, 5, DevRead | DevWrite, false}, {DevChar, 1, 5, DevWrite, true},
		}, nil},
		// "a" with numbers is both types.
		{parse("-a", "+a 4:* rw"), []q{
			{DevChar, 4, 1, DevRead, true}, {DevBlock, 4, 1, DevWrite, true}, {DevBlock, 4, 1, DevMknod, false},
		}, nil},
		// An added node in an allowlist: it alone is allowed more.
		{parse("-a", "+c 1:3 rwm"), []q{
			{DevChar, 1, 3, DevRead, true}, {DevChar, 1, 5, DevRead | DevWrite, true},
			{DevChar, 1, 7, DevRead, false}, {DevBlock, 1, 5, DevRead, false},
		}, parse("+c 1:5 rwm")},
		// An added node in a denylist overrides the deny of it, only it.
		{parse("-c 1:* rwm"), []q{
			{DevChar, 1, 5, DevRead | DevWrite | DevMknod, true}, {DevChar, 1, 3, DevRead, false},
			{DevChar, 2, 3, DevRead, true},
		}, parse("+c 1:5 rwm")},
	} {
		p := NewDevicePolicy(c.rules)
		p.Added = c.added
		prog := p.Program()
		for _, x := range c.qs {
			name := fmt.Sprintf("case %d: %d %d:%d access %d", i, x.typ, x.maj, x.min, x.acc)
			if got := p.Allows(x.typ, x.maj, x.min, x.acc); got != x.want {
				t.Errorf("%s: policy says %v, want %v", name, got, x.want)
			}
			if got := runDeviceProgram(t, prog, x.typ, x.maj, x.min, x.acc); got != b2u(x.want) {
				t.Errorf("%s: program returns %d, want %v", name, got, x.want)
			}
		}
	}
}

func TestParseDeviceRuleRefuses(t *testing.T) {
	for _, v := range []string{"", "x", "c", "c 1", "c 1:", "c 1-3:0 rwm", "c 1:3 rwx", "c a:b r", "b 1:2 r extra", "c -1:3 r"} {
		if _, err := ParseDeviceRule(true, v); err == nil {
			t.Errorf("ParseDeviceRule(%q) = nil error", v)
		}
	}
	r, err := ParseDeviceRule(false, "c 136:* rwm")
	if err != nil || r.Type != DevChar || r.Major != 136 || r.Minor != anyNum || r.Access != 7 {
		t.Errorf("c 136:* rwm = %+v, %v", r, err)
	}
}

// TestRealDevicesV2 attaches common.conf's program to a real cgroup2
// directory (this host's unified hierarchy has no controllers, but device
// programs attach to any cgroup2 directory) and runs busybox in it alone:
// the v1 device hierarchy leaves it at the root, where all is allowed, so
// only the program can refuse.
func TestRealDevicesV2(t *testing.T) {
	_, g := realGroup(t, "lxc.payload.")
	if g.v2 == nil {
		t.Skip("no cgroup2 hierarchy")
	}
	if err := g.SetDevicesV2(commonConfRules(t)); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	mem := filepath.Join(dir, "mem")
	if err := unix.Mknod(mem, unix.S_IFCHR|0o600, int(unix.Mkdev(1, 1))); err != nil {
		t.Fatal(err)
	}
	cg, err := g.OpenUnified()
	if err != nil {
		t.Fatal(err)
	}
	defer cg.Close()
	run := func(script string) (string, error) {
		cmd := exec.Command("/bin/busybox", "sh", "-c", script)
		cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: int(cg.Fd())}
		out, err := cmd.CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}
	if out, err := run("head -c 4 /dev/zero | wc -c; echo x > /dev/null && echo null-ok"); err != nil || out != "4\nnull-ok" {
		t.Errorf("/dev/zero and /dev/null in the group: %q, %v", out, err)
	}
	if out, err := run("head -c 1 " + mem); err == nil {
		t.Errorf("read of an existing 1:1 node in the group worked: %q", out)
	} else if !strings.Contains(out, "not permitted") {
		t.Errorf("read of 1:1: %q, want Operation not permitted", out)
	}
	// c *:* m: mknod works, opening what it made does not.
	if out, err := run("mknod " + dir + "/mem2 c 1 1 && echo made && head -c 1 " + dir + "/mem2"); err == nil || !strings.HasPrefix(out, "made") {
		t.Errorf("mknod then read of 1:1 in the group: %q, %v; want made, then a refusal", out, err)
	}
	var st unix.Stat_t
	if err := unix.Stat("/", &st); err == nil && unix.Major(st.Dev) != 0 {
		disk := fmt.Sprintf("mknod %s/disk b %d %d && head -c 1 %s/disk", dir, unix.Major(st.Dev), unix.Minor(st.Dev), dir)
		if out, err := run(disk); err == nil {
			t.Errorf("read of the host's disk in the group worked: %q", out)
		}
	}
}

// TestDeviceLinesPerHost: a config with both sets (common.conf) is
// confined by the set the host can apply; a lone set the host cannot
// apply is kept, for the start to fail naming it.
func TestDeviceLinesPerHost(t *testing.T) {
	both := []Setting{
		{1, "devices.deny", "a"}, {1, "memory.limit_in_bytes", "1G"}, {1, "devices.allow", "c 1:3 rwm"},
		{2, "devices.deny", "a"}, {2, "devices.allow", "c 1:3 rwm"},
	}
	onlyV1 := both[:3]
	for _, c := range []struct {
		name         string
		set          []Setting
		hasV1, hasV2 bool
		n1, n2       int
	}{
		{"hybrid", both, true, true, 2, 2},
		{"pure v1", both, true, false, 2, 0},
		{"pure v2", both, false, true, 0, 2},
		{"v1 lines on pure v2", onlyV1, false, true, 2, 0},
		{"neither", both, false, false, 2, 2},
	} {
		v1, v2 := deviceLines(c.set, c.hasV1, c.hasV2)
		if len(v1) != c.n1 || len(v2) != c.n2 {
			t.Errorf("%s: %d v1 and %d v2 lines, want %d and %d", c.name, len(v1), len(v2), c.n1, c.n2)
		}
		for _, s := range append(v1, v2...) {
			if !isDeviceKey(s.Key) {
				t.Errorf("%s: %s picked as a device line", c.name, s.Key)
			}
		}
	}
	if v1, _ := deviceLines(both, true, true); v1[0].Value != "a" || v1[1].Value != "c 1:3 rwm" {
		t.Errorf("v1 lines out of file order: %v", v1)
	}
}

func TestOrderLimits(t *testing.T) {
	in := []Setting{
		{1, "memory.memsw.limit_in_bytes", "64M"}, {1, "pids.max", "10"},
		{1, "memory.limit_in_bytes", "32M"}, {1, "cpu.shares", "512"},
	}
	var got []string
	for _, s := range orderLimits(in) {
		got = append(got, s.Key)
	}
	want := "pids.max memory.limit_in_bytes memory.memsw.limit_in_bytes cpu.shares"
	if strings.Join(got, " ") != want {
		t.Errorf("order %v, want %s", got, want)
	}
	if out := orderLimits(in[1:]); len(out) != 3 || out[1].Key != "memory.limit_in_bytes" {
		t.Errorf("without memsw: %v", out)
	}
}

// TestEnableFor: the controllers lxc.cgroup2 keys name are enabled in the
// base's cgroup.subtree_control (core files and device lines need none);
// one the base does not offer fails naming the key.
func TestEnableFor(t *testing.T) {
	l := v2Fixture(t)
	sc := filepath.Join(l.Unified, "cgroup.subtree_control")
	mustWrite(t, sc, "cpu\n")
	err := l.EnableFor([]Setting{
		{2, "cgroup.max.depth", "3"}, {2, "devices.allow", "a"}, {1, "memory.limit_in_bytes", "1G"},
		{2, "memory.max", "1G"}, {2, "cpu.max", "max"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := mustRead(t, sc); got != "+memory" {
		t.Errorf("cgroup.subtree_control written %q, want +memory (cpu is on already)", got)
	}
	err = l.EnableFor([]Setting{{2, "rdma.max", "mlx4_0 hca_handle=2"}})
	if err == nil || !strings.HasPrefix(err.Error(), "set lxc.cgroup2.rdma.max: ") || !strings.Contains(err.Error(), "does not offer") {
		t.Errorf("rdma on a base without it: %v", err)
	}
}

// String gives back what ParseDeviceRule takes: lxc-device's record of
// added rules is read with it.
func TestDeviceRuleStringRoundTrip(t *testing.T) {
	for _, v := range []string{"c 1:5 rwm", "b 8:* r", "a *:* wm", "c 136:4095 m"} {
		r, err := ParseDeviceRule(true, v)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.String(); got != v {
			t.Errorf("%q: String() = %q", v, got)
		}
		if back, err := ParseDeviceRule(true, r.String()); err != nil || back != r {
			t.Errorf("%q: parsed back %+v, %v; want %+v", v, back, err, r)
		}
	}
}
