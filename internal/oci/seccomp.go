package oci

import (
	"fmt"
	"runtime"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/golxc/golxc/internal/seccomp"
)

// eperm is the errno SCMP_ACT_ERRNO returns when the spec gives none
// (runtime-spec config-linux.md, "Seccomp": defaultErrnoRet and errnoRet
// default to EPERM).
const eperm = 1

// seccompAction maps a runtime-spec action to the policy's.
func seccompAction(a specs.LinuxSeccompAction, errno *uint) (seccomp.Action, error) {
	ret := uint16(eperm)
	if errno != nil {
		if *errno > 4095 {
			return seccomp.Action{}, fmt.Errorf("errnoRet %d: not an errno", *errno)
		}
		ret = uint16(*errno)
	}
	switch a {
	case specs.ActKill, specs.ActKillThread, specs.ActKillProcess:
		return seccomp.Action{Kind: seccomp.Kill}, nil
	case specs.ActTrap:
		return seccomp.Action{Kind: seccomp.Trap}, nil
	case specs.ActErrno:
		return seccomp.Action{Kind: seccomp.Errno, Data: ret}, nil
	case specs.ActTrace:
		return seccomp.Action{Kind: seccomp.Trace, Data: ret}, nil
	case specs.ActAllow:
		return seccomp.Action{Kind: seccomp.Allow}, nil
	case specs.ActLog:
		return seccomp.Action{Kind: seccomp.Log}, nil
	case specs.ActNotify:
		return seccomp.Action{}, fmt.Errorf("action %s (a seccomp agent) is not built in golxc-runc", a)
	}
	return seccomp.Action{}, fmt.Errorf("unknown action %q", a)
}

var seccompOps = map[specs.LinuxSeccompOperator]seccomp.Op{
	specs.OpNotEqual: seccomp.Ne, specs.OpLessThan: seccomp.Lt, specs.OpLessEqual: seccomp.Le,
	specs.OpEqualTo: seccomp.Eq, specs.OpGreaterEqual: seccomp.Ge, specs.OpGreaterThan: seccomp.Gt,
	specs.OpMaskedEqual: seccomp.MaskedEq,
}

// compileSeccomp turns linux.seccomp into the program the init stage
// loads, through the same compiler as lxc.seccomp.profile.
func compileSeccomp(s *specs.LinuxSeccomp) ([]byte, error) {
	if s.ListenerPath != "" || s.ListenerMetadata != "" {
		return nil, fmt.Errorf("linux.seccomp.listenerPath: a seccomp agent is not built in golxc-runc")
	}
	for _, f := range s.Flags {
		// The filter is loaded with no flags; a flag that changes what
		// the filter does is refused rather than dropped.
		if f != specs.LinuxSeccompFlagSpecAllow {
			return nil, fmt.Errorf("linux.seccomp.flags %s: not built in golxc-runc", f)
		}
	}
	def, err := seccompAction(s.DefaultAction, s.DefaultErrnoRet)
	if err != nil {
		return nil, fmt.Errorf("linux.seccomp.defaultAction: %w", err)
	}
	p := &seccomp.Policy{File: "config.json", Version: 2, Allowlist: def.Kind != seccomp.Allow, Default: def}
	for i, sc := range s.Syscalls {
		act, err := seccompAction(sc.Action, sc.ErrnoRet)
		if err != nil {
			return nil, fmt.Errorf("linux.seccomp.syscalls[%d]: %w", i, err)
		}
		var args []seccomp.ArgCmp
		for _, a := range sc.Args {
			op, ok := seccompOps[a.Op]
			if !ok {
				return nil, fmt.Errorf("linux.seccomp.syscalls[%d]: unknown operator %q", i, a.Op)
			}
			if a.Index > 5 {
				return nil, fmt.Errorf("linux.seccomp.syscalls[%d]: argument index %d (0 to 5)", i, a.Index)
			}
			c := seccomp.ArgCmp{Index: int(a.Index), Op: op, Value: a.Value}
			if op == seccomp.MaskedEq {
				// runtime-spec's masked form: value is the mask,
				// valueTwo the datum.
				c.Mask, c.Value = a.Value, a.ValueTwo
			}
			args = append(args, c)
		}
		for _, name := range sc.Names {
			p.Rules = append(p.Rules, seccomp.Rule{Name: name, Number: -1, Action: act, Args: args, Section: "all", Line: i + 1})
		}
	}
	prog, err := seccomp.Compile(p, runtime.GOARCH)
	if err != nil {
		return nil, fmt.Errorf("linux.seccomp: %w", err)
	}
	return seccomp.Encode(prog), nil
}
