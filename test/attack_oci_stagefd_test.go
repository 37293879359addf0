package test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// TestAttackOCIStageRootFD: a created container's PID 1 (the init stage
// at the gate) must hold no descriptor of the host's tree. With
// createContainer hooks it once kept the runtime's root open until the
// exec, and a process of the container given CAP_SYS_PTRACE read host
// files through /proc/1/fd/N/..., with and without a user namespace.
func TestAttackOCIStageRootFD(t *testing.T) {
	for _, userns := range []bool{false, true} {
		name := "privileged"
		if userns {
			name = "userns"
		}
		t.Run(name, func(t *testing.T) {
			r := newOCIRuntime(t)
			id := ociUnique(t, "stagefd")
			cg := ociCgroup(t, id)
			secretDir := t.TempDir()
			if err := os.Chmod(secretDir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(secretDir, "marker"), []byte("HOST-SECRET\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			bundle := ociBundle(t, func(s *specs.Spec) {
				s.Process.Args = []string{"sleep", "100"}
				s.Linux.CgroupsPath = "/" + cg
				c := s.Process.Capabilities
				c.Bounding = append(c.Bounding, "CAP_SYS_PTRACE")
				c.Effective = append(c.Effective, "CAP_SYS_PTRACE")
				c.Permitted = append(c.Permitted, "CAP_SYS_PTRACE")
				if userns {
					m := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 200000, Size: 65536}}
					s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
					s.Linux.UIDMappings, s.Linux.GIDMappings = m, m
				}
				s.Hooks = &specs.Hooks{CreateContainer: []specs.Hook{{Path: "/bin/true"}}}
			})
			r.track(id)
			pidFile := filepath.Join(t.TempDir(), "pid")
			r.mustRun(outFile(t), "create", "--bundle", bundle, "--pid-file", pidFile, id)
			pid := readTrim(t, pidFile)
			ents, err := os.ReadDir("/proc/" + pid + "/fd")
			if err != nil {
				t.Fatal(err)
			}
			var hostRoot unix.Stat_t
			if err := unix.Stat("/", &hostRoot); err != nil {
				t.Fatal(err)
			}
			for _, e := range ents {
				var st unix.Stat_t
				if unix.Stat("/proc/"+pid+"/fd/"+e.Name(), &st) == nil && st.Dev == hostRoot.Dev && st.Ino == hostRoot.Ino {
					t.Errorf("the gated stage holds fd %s on the host's root", e.Name())
				}
			}
			rel := strings.TrimPrefix(filepath.Join(secretDir, "marker"), "/")
			out, _ := r.run(nil, "exec", id, "sh", "-c", "for f in /proc/1/fd/*; do cat $f/"+rel+" 2>/dev/null && echo via $f; done; true")
			if strings.Contains(out, "HOST-SECRET") {
				t.Errorf("the container read a host file through PID 1's descriptors: %s", out)
			}
		})
	}
}
