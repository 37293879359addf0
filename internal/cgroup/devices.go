package cgroup

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Device access bits, as the kernel passes them to a device program in the
// upper half of bpf_cgroup_dev_ctx.access_type (BPF_DEVCG_ACC_*).
const (
	DevMknod uint32 = 1
	DevRead  uint32 = 2
	DevWrite uint32 = 4
)

// Device types, the lower half of access_type (BPF_DEVCG_DEV_*); DevAny is
// the "a" of a rule, matching both.
const (
	DevAny   uint32 = 0
	DevBlock uint32 = 1
	DevChar  uint32 = 2
)

// anyNum is "*" as a major or minor number.
const anyNum = -1

// DeviceRule is one devices.allow or devices.deny line.
type DeviceRule struct {
	Allow  bool
	All    bool   // the bare "a": every device, every access; resets the list
	Type   uint32 // DevAny, DevBlock or DevChar
	Major  int64  // anyNum for "*"
	Minor  int64  // anyNum for "*"
	Access uint32 // DevMknod|DevRead|DevWrite
}

// ParseDeviceRule parses the value of a devices.allow (allow) or
// devices.deny line as LXC takes it (lxc.container.conf(5)): "a", or
// "TYPE MAJOR:MINOR ACCESS" with TYPE a, b or c, MAJOR and MINOR a number
// or "*", ACCESS letters of rwm. LXC takes no ranges other than "*"; an
// "a" with numbers or access matches both types.
func ParseDeviceRule(allow bool, value string) (DeviceRule, error) {
	r := DeviceRule{Allow: allow, Major: anyNum, Minor: anyNum, Access: DevMknod | DevRead | DevWrite}
	f := strings.Fields(value)
	if len(f) == 0 || len(f) > 3 {
		return r, fmt.Errorf("device rule %q: want \"a\" or \"TYPE MAJOR:MINOR ACCESS\"", value)
	}
	switch f[0] {
	case "a":
		r.Type = DevAny
	case "b":
		r.Type = DevBlock
	case "c":
		r.Type = DevChar
	default:
		return r, fmt.Errorf("device rule %q: type %q is not a, b or c", value, f[0])
	}
	if len(f) == 1 {
		if r.Type != DevAny {
			return r, fmt.Errorf("device rule %q: no MAJOR:MINOR", value)
		}
		r.All = true
		return r, nil
	}
	maj, min, ok := strings.Cut(f[1], ":")
	if !ok {
		return r, fmt.Errorf("device rule %q: %q is not MAJOR:MINOR", value, f[1])
	}
	var err error
	if r.Major, err = parseDevNum(maj); err != nil {
		return r, fmt.Errorf("device rule %q: major: %w", value, err)
	}
	if r.Minor, err = parseDevNum(min); err != nil {
		return r, fmt.Errorf("device rule %q: minor: %w", value, err)
	}
	if len(f) == 3 {
		r.Access = 0
		for _, c := range f[2] {
			switch c {
			case 'm':
				r.Access |= DevMknod
			case 'r':
				r.Access |= DevRead
			case 'w':
				r.Access |= DevWrite
			default:
				return r, fmt.Errorf("device rule %q: access %q is not letters of rwm", value, f[2])
			}
		}
	}
	return r, nil
}

func parseDevNum(s string) (int64, error) {
	if s == "*" {
		return anyNum, nil
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil || n > math.MaxInt32 {
		return 0, fmt.Errorf("%q is not a number or *", s)
	}
	return int64(n), nil
}

// DevicePolicy is a list of rules reduced as LXC reduces cgroup2's
// (lxc.container.conf(5)): a bare "a" resets the list and sets the
// default (deny a: an allowlist, allow a: a denylist); in an allowlist
// the deny rules are ignored, in a denylist the allow rules. With no bare
// "a" the default is to allow, as a new v1 device cgroup under the root
// does.
type DevicePolicy struct {
	DefaultAllow bool
	Rules        []DeviceRule // all Allow == !DefaultAllow
	// Added are allow rules checked before Rules, whatever the default:
	// the nodes lxc-device added to a running container, which its
	// config's deny rules must not refuse.
	Added []DeviceRule
}

// NewDevicePolicy reduces rules, in file order.
func NewDevicePolicy(rules []DeviceRule) DevicePolicy {
	p := DevicePolicy{DefaultAllow: true}
	for _, r := range rules {
		if r.All {
			p = DevicePolicy{DefaultAllow: r.Allow}
			continue
		}
		if r.Allow != p.DefaultAllow {
			p.Rules = append(p.Rules, r)
		}
	}
	return p
}

// Allows reports what the policy decides for one access; the compiled
// program must decide the same (a test checks both on device tuples).
func (p DevicePolicy) Allows(typ uint32, major, minor uint32, access uint32) bool {
	for _, r := range p.Added {
		if r.matches(typ, major, minor) && access&^r.Access == 0 {
			return true
		}
	}
	for _, r := range p.Rules {
		if !r.matches(typ, major, minor) {
			continue
		}
		if p.DefaultAllow {
			if access&r.Access != 0 {
				return false // a deny rule that covers any part of the access
			}
		} else if access&^r.Access == 0 {
			return true // an allow rule that covers all of it
		}
	}
	return p.DefaultAllow
}

func (r DeviceRule) matches(typ, major, minor uint32) bool {
	return (r.Type == DevAny || r.Type == typ) &&
		(r.Major == anyNum || r.Major == int64(major)) &&
		(r.Minor == anyNum || r.Minor == int64(minor))
}

// Program compiles the policy to a BPF_PROG_TYPE_CGROUP_DEVICE program:
// it returns 1 to allow the access described by its context
// (struct bpf_cgroup_dev_ctx: access_type = access<<16 | type, major,
// minor, three u32s) and 0 to refuse it.
func (p DevicePolicy) Program() bpfProgram {
	const (
		rType   = bpfR2
		rAccess = bpfR3
		rMajor  = bpfR4
		rMinor  = bpfR5
		rTmp    = bpfR6
	)
	insns := bpfProgram{
		{op: opLdxMemW, dst: rType, src: bpfR1, off: 0},
		{op: opMovReg, dst: rAccess, src: rType},
		{op: opAndImm, dst: rType, imm: 0xffff},
		{op: opRshImm, dst: rAccess, imm: 16},
		{op: opLdxMemW, dst: rMajor, src: bpfR1, off: 4},
		{op: opLdxMemW, dst: rMinor, src: bpfR1, off: 8},
	}
	verdict := int32(0)
	if p.DefaultAllow {
		verdict = 1
	}
	// The added allow rules go first, compiled as allow rules of an
	// allowlist; the policy's own follow.
	all := make([]DeviceRule, 0, len(p.Added)+len(p.Rules))
	all = append(append(all, p.Added...), p.Rules...)
	for i, r := range all {
		allow := i < len(p.Added) || !p.DefaultAllow
		next := "rule" + strconv.Itoa(i+1)
		var block bpfProgram
		if r.Type != DevAny {
			block = append(block, bpfInsn{op: opJneImm, dst: rType, imm: int32(r.Type), target: next})
		}
		if r.Major != anyNum {
			block = append(block, bpfInsn{op: opJneImm, dst: rMajor, imm: int32(r.Major), target: next})
		}
		if r.Minor != anyNum {
			block = append(block, bpfInsn{op: opJneImm, dst: rMinor, imm: int32(r.Minor), target: next})
		}
		block = append(block, bpfInsn{op: opMovReg, dst: rTmp, src: rAccess})
		if !allow {
			// A deny rule: refuse when any requested bit is in it.
			block = append(block,
				bpfInsn{op: opAndImm, dst: rTmp, imm: int32(r.Access)},
				bpfInsn{op: opJeqImm, dst: rTmp, imm: 0, target: next},
				bpfInsn{op: opMovImm, dst: bpfR0, imm: 0})
		} else {
			// An allow rule: allow when every requested bit is in it.
			block = append(block,
				bpfInsn{op: opAndImm, dst: rTmp, imm: int32(^r.Access & 0xffff)},
				bpfInsn{op: opJneImm, dst: rTmp, imm: 0, target: next},
				bpfInsn{op: opMovImm, dst: bpfR0, imm: 1})
		}
		block = append(block, bpfInsn{op: opExit})
		if i > 0 {
			block[0].label = "rule" + strconv.Itoa(i)
		}
		insns = append(insns, block...)
	}
	last := bpfInsn{op: opMovImm, dst: bpfR0, imm: verdict}
	if len(all) > 0 {
		last.label = "rule" + strconv.Itoa(len(all))
	}
	return append(insns, last, bpfInsn{op: opExit})
}

// deviceProgramName names the programs golxc attaches, so that
// ReplaceDevicesV2 can tell its own from one a process inside attached.
const deviceProgramName = "golxc_devices"

// SetDevicesV2 compiles the lxc.cgroup2.devices.* rules (in file order)
// and attaches the program to the group's cgroup2 directory, where it
// stays until the directory is removed (a BPF_PROG_ATTACH attachment
// needs no open descriptor). The kernel runs every program attached on
// the way from the root, so a process inside cannot widen it by adding
// one of its own below.
func (g *Group) SetDevicesV2(rules []DeviceRule) error {
	if _, err := g.attachDevices(NewDevicePolicy(rules), 0); err != nil {
		return fmt.Errorf("set lxc.cgroup2.devices: %w", err)
	}
	return nil
}

// ReplaceDevicesV2 compiles p and puts it in the place of the device
// program old (its ID) in the group's cgroup2 directory in one
// BPF_PROG_ATTACH with BPF_F_REPLACE: no access is ever decided by
// neither or both. It returns the new program's ID.
func (g *Group) ReplaceDevicesV2(p DevicePolicy, old ProgramID) (ProgramID, error) {
	if old == 0 {
		return 0, errors.New("replace device program: no program to replace")
	}
	return g.attachDevices(p, old)
}

// Tag is the kernel's tag of p's program (a hash of its instructions),
// to compare with an attached program's. The program is loaded to get
// it: the kernel's tag is over the instructions as it rewrites them.
func (p DevicePolicy) Tag() (string, error) {
	fd, err := loadDeviceProgram(p.Program(), deviceProgramName)
	if err != nil {
		return "", fmt.Errorf("load device program: %w", err)
	}
	defer unix.Close(fd)
	_, tag, _, err := programInfo(fd)
	if err != nil {
		return "", fmt.Errorf("device program: %w", err)
	}
	return tag, nil
}

// DeviceProgram is the ID and tag of the device program golxc attached
// to the group's cgroup2 directory; an error when there is none or more
// than one of that name.
func (g *Group) DeviceProgram() (ProgramID, string, error) {
	id, tag, err := g.deviceProgram()
	if err != nil {
		return 0, "", fmt.Errorf("device program of the container: %w", err)
	}
	return id, tag, nil
}

// AttachedDevicePrograms lists the device programs attached to the
// cgroup2 directory open as dirfd.
func AttachedDevicePrograms(dirfd int) ([]ProgramID, error) {
	return deviceProgramIDs(dirfd)
}

func (g *Group) deviceProgram() (ProgramID, string, error) {
	if g.err != nil {
		return 0, "", g.err
	}
	if g.v2 == nil {
		return 0, "", errors.New("no cgroup2 hierarchy is mounted")
	}
	dir, err := unix.Open(g.v2.path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, "", err
	}
	defer unix.Close(dir)
	ids, err := deviceProgramIDs(dir)
	if err != nil {
		return 0, "", fmt.Errorf("device programs of %s: %w", g.v2.path, err)
	}
	var found []ProgramID
	var tag string
	for _, id := range ids {
		fd, err := programByID(id)
		if err != nil {
			return 0, "", fmt.Errorf("device program %d of %s: %w", id, g.v2.path, err)
		}
		_, t, name, err := programInfo(fd)
		unix.Close(fd)
		if err != nil {
			return 0, "", fmt.Errorf("device program %d of %s: %w", id, g.v2.path, err)
		}
		if name == deviceProgramName {
			found, tag = append(found, id), t
		}
	}
	if len(found) != 1 {
		return 0, "", fmt.Errorf("%s has %d device programs named %s, want one", g.v2.path, len(found), deviceProgramName)
	}
	return found[0], tag, nil
}

func (g *Group) attachDevices(p DevicePolicy, old ProgramID) (ProgramID, error) {
	if g.err != nil {
		return 0, g.err
	}
	if g.v2 == nil {
		return 0, errors.New("no cgroup2 hierarchy is mounted")
	}
	prog, err := loadDeviceProgram(p.Program(), deviceProgramName)
	if err != nil {
		return 0, fmt.Errorf("load device program: %w", err)
	}
	defer unix.Close(prog)
	id, _, _, err := programInfo(prog)
	if err != nil {
		return 0, fmt.Errorf("load device program: %w", err)
	}
	dir, err := unix.Open(g.v2.path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, fmt.Errorf("open %s: %w", g.v2.path, err)
	}
	defer unix.Close(dir)
	replace := -1
	if old != 0 {
		// The cgroup attach takes the program to replace by descriptor
		// (replace_bpf_fd), not by ID.
		if replace, err = programByID(old); err != nil {
			return 0, fmt.Errorf("device program %d to replace: %w", old, err)
		}
		defer unix.Close(replace)
	}
	if err := attachDeviceProgram(dir, prog, replace); err != nil {
		return 0, fmt.Errorf("attach device program to %s: %w", g.v2.path, err)
	}
	return id, nil
}

// String is r as a devices.allow or devices.deny value, as
// ParseDeviceRule takes it back.
func (r DeviceRule) String() string {
	if r.All {
		return "a"
	}
	typ := map[uint32]string{DevAny: "a", DevBlock: "b", DevChar: "c"}[r.Type]
	num := func(n int64) string {
		if n == anyNum {
			return "*"
		}
		return strconv.FormatInt(n, 10)
	}
	var acc string
	for _, a := range []struct {
		bit uint32
		c   string
	}{{DevRead, "r"}, {DevWrite, "w"}, {DevMknod, "m"}} {
		if r.Access&a.bit != 0 {
			acc += a.c
		}
	}
	return typ + " " + num(r.Major) + ":" + num(r.Minor) + " " + acc
}
