package lxc

import (
	"math"
	"strings"
	"testing"
)

// TestProcessLimitsSpec: prlimits become OCI rlimits (unlimited is
// RLIM_INFINITY), a namespaced sysctl goes into the spec, and a host-wide
// one is refused naming the key.
func TestProcessLimitsSpec(t *testing.T) {
	cfg, _ := specConfig(t, kv("lxc.prlimit.nofile", "100:unlimited"), kv("lxc.prlimit.core", "0"),
		kv("lxc.sysctl.kernel.shmmax", "1000"), kv("lxc.sysctl.net.ipv4.ip_forward", "1"), kv("lxc.proc.oom_score_adj", "5"))
	s, _, err := buildSpec("c1", cfg, layoutOf(t, v2Mountinfo, v2Pid1), specOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rl := s.OCI.Process.Rlimits
	if len(rl) != 2 || rl[0].Type != "RLIMIT_NOFILE" || rl[0].Soft != 100 || rl[0].Hard != math.MaxUint64 || rl[1].Type != "RLIMIT_CORE" || rl[1].Hard != 0 {
		t.Errorf("rlimits = %+v", rl)
	}
	if s.OCI.Linux.Sysctl["kernel.shmmax"] != "1000" || s.OCI.Linux.Sysctl["net.ipv4.ip_forward"] != "1" {
		t.Errorf("sysctl = %v", s.OCI.Linux.Sysctl)
	}
	if len(s.ProcFiles) != 1 || s.ProcFiles[0].Name != "oom_score_adj" || s.ProcFiles[0].Value != "5" {
		t.Errorf("proc files = %+v", s.ProcFiles)
	}
	for _, k := range []string{"lxc.sysctl.kernel.core_pattern", "lxc.sysctl.vm.swappiness", "lxc.sysctl.kernel.modprobe", "lxc.sysctl.fs.file-max"} {
		cfg, _ := specConfig(t, kv(k, "1"))
		_, _, err := buildSpec("c1", cfg, layoutOf(t, v2Mountinfo, v2Pid1), specOptions{})
		if err == nil || !strings.HasPrefix(err.Error(), k+": a host-wide") {
			t.Errorf("%s: err = %v, want a refusal naming it", k, err)
		}
	}
	// A namespaced parameter of a namespace the container shares with
	// the host would set the host's.
	cfg, _ = specConfig(t, kv("lxc.namespace.keep", "net"), kv("lxc.sysctl.net.ipv4.ip_forward", "1"))
	if _, _, err := buildSpec("c1", cfg, layoutOf(t, v2Mountinfo, v2Pid1), specOptions{}); err == nil || !strings.Contains(err.Error(), "no network namespace of its own") {
		t.Errorf("net sysctl with the host's network namespace: err = %v", err)
	}
}
