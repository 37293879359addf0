package lxc

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/golxc/golxc/internal/config"
	"github.com/golxc/golxc/internal/containerinit"
)

// processLimits puts lxc.prlimit.*, lxc.sysctl.* and lxc.proc.* into the
// spec, for the init stage to set before its exec. A sysctl that is not
// a parameter of a namespace the container has of its own (net.* without
// a network namespace, kernel.* that the whole host shares) is refused
// by name: written from the container it would change the host.
func processLimits(s *containerinit.Spec, cfg *config.Config) error {
	for _, p := range cfg.Prlimit {
		soft, hard, both := strings.Cut(p.Value, ":")
		if !both {
			hard = soft
		}
		ns, err := rlimitValue(soft)
		if err == nil {
			var nh uint64
			if nh, err = rlimitValue(hard); err == nil {
				s.OCI.Process.Rlimits = append(s.OCI.Process.Rlimits, specs.POSIXRlimit{
					Type: "RLIMIT_" + strings.ToUpper(p.Name), Soft: ns, Hard: nh,
				})
			}
		}
		if err != nil {
			return fmt.Errorf("lxc.prlimit.%s = %s: %w", p.Name, p.Value, err)
		}
	}
	for _, sc := range cfg.Sysctl {
		ns, ok := containerinit.SysctlNamespace(sc.Name)
		if !ok {
			return fmt.Errorf("lxc.sysctl.%s: a host-wide kernel parameter, not one of a namespace: refused (only net.*, kernel.hostname, kernel.domainname, kernel.shm*, kernel.msg*, kernel.sem and fs.mqueue.* are a container's own)", sc.Name)
		}
		if !s.HasNamespace(ns) {
			return fmt.Errorf("lxc.sysctl.%s: the container has no %s namespace of its own, so this would set the host's", sc.Name, ns)
		}
		if s.OCI.Linux.Sysctl == nil {
			s.OCI.Linux.Sysctl = map[string]string{}
		}
		s.OCI.Linux.Sysctl[sc.Name] = sc.Value
	}
	for _, p := range cfg.Proc {
		s.ProcFiles = append(s.ProcFiles, containerinit.ProcFile{Name: p.Name, Value: p.Value})
	}
	return nil
}

func rlimitValue(v string) (uint64, error) {
	if v == "unlimited" {
		return math.MaxUint64, nil
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is neither a number nor unlimited", v)
	}
	return n, nil
}
