package test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestAttackOCIIDMapReadOnlyRemount: a read-only idmapped bind in a
// container with a user namespace of its own whose root keeps
// CAP_SYS_ADMIN: the kernel does not lock the mount's flags, so its root
// could remount it read-write and write the host's file as its owner.
// Refused at create, naming the mount; the host file is untouched.
func TestAttackOCIIDMapReadOnlyRemount(t *testing.T) {
	r := newOCIRuntime(t)
	userMaps := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 200000, Size: 65536}}
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "f"), []byte("orig"), 0o644); err != nil {
		t.Fatal(err)
	}
	id := ociUnique(t, "idro")
	cg := ociCgroup(t, id)
	bundle := ociBundle(t, func(s *specs.Spec) {
		s.Process.Args = []string{"sh", "-c", "mount -o remount,bind,rw /idm; echo pwn > /idm/f"}
		caps := []string{"CAP_SYS_ADMIN", "CAP_DAC_OVERRIDE"}
		s.Process.Capabilities = &specs.LinuxCapabilities{Bounding: caps, Effective: caps, Permitted: caps}
		s.Linux.CgroupsPath = "/" + cg
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
		s.Linux.UIDMappings, s.Linux.GIDMappings = userMaps, userMaps
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/idm", Type: "bind", Source: src, Options: []string{"bind", "ro", "idmap"}})
		s.Linux.Seccomp = nil
	})
	if err := os.Mkdir(filepath.Join(bundle, "rootfs", "idm"), 0o755); err != nil {
		t.Fatal(err)
	}
	r.track(id)
	out, code := r.run(nil, "run", "--bundle", bundle, id)
	if b, _ := os.ReadFile(filepath.Join(src, "f")); string(b) != "orig" {
		t.Errorf("the host file is now %q (run: exit %d %q)", b, code, out)
	}
	if code == 0 || !strings.Contains(out, "/idm") || strings.Count(strings.TrimSpace(out), "\n") != 0 {
		t.Errorf("run: exit %d %q, want a one-line refusal naming /idm", code, out)
	}
}
