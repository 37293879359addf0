// Package seccomp owns system call filtering: it reads a policy in LXC's
// format (lxc.container.conf(5), "SECCOMP CONFIGURATION"), compiles it to
// a classic BPF program for the kernel's seccomp filter mode, in pure Go,
// and loads such a program.
package seccomp

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// ActionKind is what the kernel does with a filtered system call.
type ActionKind int

// The actions of a policy, from the most to the least restrictive: when
// several rules match one call, the most restrictive wins, as it does
// between stacked filters (seccomp(2), "Filter return values").
const (
	Kill   ActionKind = iota // kill the process (SIGSYS)
	Trap                     // send SIGSYS to the thread
	Errno                    // fail with errno Data
	Notify                   // ask a user-space supervisor
	Trace                    // notify a ptrace tracer, with Data
	Log                      // allow and log
	Allow                    // allow
)

var actionNames = [...]string{Kill: "kill", Trap: "trap", Errno: "errno", Notify: "notify", Trace: "trace", Log: "log", Allow: "allow"}

func (k ActionKind) String() string { return actionNames[k] }

// Action is an action with its datum (the errno, the tracer's message).
type Action struct {
	Kind ActionKind
	Data uint16
}

func (a Action) String() string {
	if a.Kind == Errno || a.Kind == Trace {
		return fmt.Sprintf("%s %d", a.Kind, a.Data)
	}
	return a.Kind.String()
}

// Op compares a system call argument with a value, as unsigned 64-bit
// numbers.
type Op int

// The comparisons of LXC's argument filters; MaskedEq is (arg & Mask) == Value.
const (
	Ne Op = iota
	Lt
	Le
	Eq
	Ge
	Gt
	MaskedEq
)

// opByName reads the spellings LXC's rule syntax accepts for each Op: the
// libseccomp constant name and a short form.
func opByName(name string) (Op, bool) {
	switch name {
	case "SCMP_CMP_NE", "!=":
		return Ne, true
	case "SCMP_CMP_LT", "<":
		return Lt, true
	case "SCMP_CMP_LE", "<=":
		return Le, true
	case "SCMP_CMP_EQ", "==":
		return Eq, true
	case "SCMP_CMP_GE", ">=":
		return Ge, true
	case "SCMP_CMP_GT", ">":
		return Gt, true
	case "SCMP_CMP_MASKED_EQ", "&=":
		return MaskedEq, true
	}
	return 0, false
}

// ArgCmp is one argument filter: [Index,Value,Op] or [Index,Value,Op,Mask].
type ArgCmp struct {
	Index int // 0..5
	Op    Op
	Value uint64
	Mask  uint64 // MaskedEq only
}

// Rule is one line of a policy: a system call (by name, or by number in
// version 1) and what happens when it is called with matching arguments.
type Rule struct {
	Name    string // empty when Number is set
	Number  int    // -1 when Name is set
	Action  Action
	Args    []ArgCmp // all must match
	Section string   // the architecture section: "all", "x86_64", "x86", "x32" ...
	Line    int
}

// Policy is a parsed policy file.
type Policy struct {
	File      string
	Version   int
	Allowlist bool
	// Default is what happens to a call no rule matches.
	Default Action
	Rules   []Rule
}

// knownSection reports whether name is an architecture section LXC's
// format knows. The x86 family is compiled; the others are another
// machine's, and their rules are skipped on this one, as LXC does.
func knownSection(name string) bool {
	switch name {
	case "all", "x86_64", "x86", "x32",
		"arm", "arm64", "ppc64", "ppc64le", "ppc",
		"mips", "mips64", "mips64n32", "mipsel", "mipsel64", "mipsel64n32",
		"s390x", "riscv64":
		return true
	}
	return false
}

// mntForce is MNT_FORCE, the umount2(2) flag reject_force_umount denies.
const mntForce = 1

// eacces is the errno a rejected forced unmount gets.
const eacces = 13

// ParseFile reads the policy file at path.
func ParseFile(path string) (*Policy, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open seccomp policy: %w", err)
	}
	defer f.Close()
	return Parse(f, path)
}

// Parse reads a policy from r; file names it in errors, which say
// "FILE:LINE: what".
func Parse(r io.Reader, file string) (*Policy, error) {
	p := &Policy{File: file}
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 4096), 1<<20)
	line := 0
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%s:%d: %s", file, line, fmt.Sprintf(format, a...))
	}
	next := func() (string, bool) {
		for s.Scan() {
			line++
			t := strings.TrimSpace(stripComment(s.Text()))
			if t != "" {
				return t, true
			}
		}
		return "", false
	}
	t, ok := next()
	if !ok {
		if err := s.Err(); err != nil {
			return nil, fmt.Errorf("read %s: %w", file, err)
		}
		line++
		return nil, bad("empty policy: the first line must be the version, 1 or 2")
	}
	switch t {
	case "1", "2":
		p.Version = int(t[0] - '0')
	default:
		return nil, bad("version %q: want 1 or 2", t)
	}
	t, ok = next()
	if !ok {
		line++
		return nil, bad("missing policy type: want allowlist or denylist")
	}
	fields := strings.Fields(t)
	switch fields[0] {
	case "allowlist", "whitelist":
		p.Allowlist = true
	case "denylist", "blacklist":
		if p.Version == 1 {
			return nil, bad("version 1 policies are allowlists only")
		}
	default:
		return nil, bad("policy type %q: want allowlist or denylist", fields[0])
	}
	ruleDefault := Action{Kind: Allow}
	p.Default = Action{Kind: Kill}
	if !p.Allowlist {
		ruleDefault, p.Default = Action{Kind: Kill}, Action{Kind: Allow}
	}
	if len(fields) > 1 {
		if p.Version == 1 {
			return nil, bad("version 1 policies take no default action")
		}
		a, rest, err := parseAction(fields[1:])
		if err != nil {
			return nil, bad("default action: %v", err)
		}
		if len(rest) > 0 {
			return nil, bad("unexpected %q after the default action", strings.Join(rest, " "))
		}
		p.Default = a
	}

	section := "all"
	for {
		t, ok := next()
		if !ok {
			break
		}
		if p.Version == 1 {
			n, err := strconv.ParseUint(t, 10, 31)
			if err != nil {
				return nil, bad("version 1 takes one system call number a line, not %q", t)
			}
			p.Rules = append(p.Rules, Rule{Number: int(n), Action: Action{Kind: Allow}, Section: "native", Line: line})
			continue
		}
		if strings.HasPrefix(t, "[") && strings.HasSuffix(t, "]") && !strings.Contains(t, ",") {
			name := strings.ToLower(strings.TrimSpace(t[1 : len(t)-1]))
			if !knownSection(name) {
				return nil, bad("unsupported architecture %s", t)
			}
			section = name
			continue
		}
		if w := strings.Fields(t); w[0] == "reject_force_umount" {
			// umount2(2) with MNT_FORCE fails with EACCES: a forced
			// unmount inside would cut the host's mounts from under it.
			p.Rules = append(p.Rules, Rule{Name: "umount2", Number: -1, Action: Action{Kind: Errno, Data: eacces},
				Args: []ArgCmp{{Index: 1, Op: MaskedEq, Value: mntForce, Mask: mntForce}}, Section: "all", Line: line})
			continue
		}
		r, err := parseRule(t, ruleDefault)
		if err != nil {
			return nil, bad("%v", err)
		}
		r.Section, r.Line = section, line
		p.Rules = append(p.Rules, r)
	}
	if err := s.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", file, err)
	}
	return p, nil
}

// stripComment drops a "#" comment: a whole line, or the rest of one after
// blank space.
func stripComment(l string) string {
	for i := 0; i < len(l); i++ {
		if l[i] == '#' && (i == 0 || l[i-1] == ' ' || l[i-1] == '\t') {
			return l[:i]
		}
	}
	return l
}

// parseRule reads "NAME [ACTION] [ARG]...", where ARG is
// [INDEX,VALUE,OP] or [INDEX,VALUE,OP,MASK].
func parseRule(t string, def Action) (Rule, error) {
	r := Rule{Number: -1, Action: def}
	head, args, hasArgs := strings.Cut(t, "[")
	fields := strings.Fields(head)
	r.Name = fields[0]
	if !validName(r.Name) {
		return r, fmt.Errorf("bad system call name %q", r.Name)
	}
	if _, err := strconv.ParseUint(r.Name, 10, 64); err == nil {
		// One number is a different call on each ABI (165 is mount on
		// x86_64, getresuid on i386), and a rule applies to all of them.
		// LXC (libseccomp resolves names only) warns and skips such a
		// rule: a denial that silently does nothing, so it is refused.
		return r, fmt.Errorf("system call %s by number: version 2 names system calls (a number means another call on each ABI)", r.Name)
	}
	if len(fields) > 1 {
		a, rest, err := parseAction(fields[1:])
		if err != nil {
			return r, fmt.Errorf("%s: %w", r.Name, err)
		}
		if len(rest) > 0 {
			return r, fmt.Errorf("%s: unexpected %q after the action", r.Name, strings.Join(rest, " "))
		}
		r.Action = a
	}
	if !hasArgs {
		return r, nil
	}
	rest := "[" + args
	for rest != "" {
		rest = strings.TrimSpace(rest)
		if rest == "" {
			break
		}
		if rest[0] != '[' {
			return r, fmt.Errorf("%s: argument filter %q: want [INDEX,VALUE,OP] or [INDEX,VALUE,OP,MASK]", r.Name, rest)
		}
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return r, fmt.Errorf("%s: argument filter %q has no closing ]", r.Name, rest)
		}
		c, err := parseArg(rest[1:end])
		if err != nil {
			return r, fmt.Errorf("%s: argument filter [%s]: %w", r.Name, rest[1:end], err)
		}
		r.Args = append(r.Args, c)
		rest = rest[end+1:]
	}
	if len(r.Args) > 6 {
		return r, fmt.Errorf("%s: %d argument filters: a system call has 6 arguments", r.Name, len(r.Args))
	}
	return r, nil
}

func validName(n string) bool {
	for _, c := range n {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return n != ""
}

// parseArg reads INDEX,VALUE,OP[,MASK]; numbers are decimal, 0x hex or 0
// octal. For SCMP_CMP_MASKED_EQ the fourth field is the mask, as in LXC.
func parseArg(s string) (ArgCmp, error) {
	f := strings.Split(s, ",")
	if len(f) != 3 && len(f) != 4 {
		return ArgCmp{}, fmt.Errorf("want INDEX,VALUE,OP or INDEX,VALUE,OP,MASK")
	}
	for i := range f {
		f[i] = strings.TrimSpace(f[i])
	}
	idx, err := strconv.ParseUint(f[0], 0, 8)
	if err != nil || idx > 5 {
		return ArgCmp{}, fmt.Errorf("argument index %q: want 0 to 5", f[0])
	}
	v, err := strconv.ParseUint(f[1], 0, 64)
	if err != nil {
		return ArgCmp{}, fmt.Errorf("value %q: want an unsigned 64-bit number", f[1])
	}
	op, ok := opByName(f[2])
	if !ok {
		return ArgCmp{}, fmt.Errorf("unknown comparison %q (SCMP_CMP_EQ, _NE, _LT, _LE, _GE, _GT, _MASKED_EQ)", f[2])
	}
	c := ArgCmp{Index: int(idx), Op: op, Value: v}
	if len(f) == 4 {
		m, err := strconv.ParseUint(f[3], 0, 64)
		if err != nil {
			return ArgCmp{}, fmt.Errorf("mask %q: want an unsigned 64-bit number", f[3])
		}
		c.Mask = m
	}
	if op == MaskedEq {
		if len(f) != 4 {
			return ArgCmp{}, fmt.Errorf("SCMP_CMP_MASKED_EQ needs a mask: INDEX,VALUE,SCMP_CMP_MASKED_EQ,MASK")
		}
		// The kernel sees arg & mask: a value bit outside the mask
		// would make the rule match nothing, surely a mistake.
		if c.Value&^c.Mask != 0 {
			return ArgCmp{}, fmt.Errorf("value %#x has bits outside mask %#x: the rule could never match", c.Value, c.Mask)
		}
	}
	return c, nil
}

// parseAction reads an action and its datum from the front of w and
// returns the words left.
func parseAction(w []string) (Action, []string, error) {
	switch w[0] {
	case "kill":
		return Action{Kind: Kill}, w[1:], nil
	case "trap":
		return Action{Kind: Trap}, w[1:], nil
	case "allow":
		return Action{Kind: Allow}, w[1:], nil
	case "log":
		return Action{Kind: Log}, w[1:], nil
	case "notify":
		return Action{Kind: Notify}, w[1:], nil
	case "errno", "trace":
		kind := Errno
		if w[0] == "trace" {
			kind = Trace
		}
		if len(w) < 2 {
			if kind == Trace {
				return Action{Kind: Trace}, nil, nil
			}
			return Action{}, nil, fmt.Errorf("errno needs a number: errno N")
		}
		limit := uint64(4095) // MAX_ERRNO: the kernel returns no larger errno
		if kind == Trace {
			limit = 0xffff
		}
		n, err := strconv.ParseUint(w[1], 10, 16)
		if err != nil || n > limit {
			return Action{}, nil, fmt.Errorf("%s %q: want a number from 0 to %d", w[0], w[1], limit)
		}
		return Action{Kind: kind, Data: uint16(n)}, w[2:], nil
	}
	return Action{}, nil, fmt.Errorf("unknown action %q (errno N, kill, trap, trace, notify, log, allow)", w[0])
}

// UsesNotify reports whether a rule or the default (on the policy type's
// line, 2) asks for a user-space supervisor, and the first such line.
func (p *Policy) UsesNotify() (bool, int) {
	if p.Default.Kind == Notify {
		return true, 2
	}
	for _, r := range p.Rules {
		if r.Action.Kind == Notify {
			return true, r.Line
		}
	}
	return false, 0
}
