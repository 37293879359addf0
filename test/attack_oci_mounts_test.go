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

// TestAttackOCIBindSourceSymlink: a bind source under the rootfs is the
// container's: a symlink the rootfs holds there to a host directory is
// followed inside the rootfs (where it leads nowhere), not on the host,
// for a plain bind and for an idmapped one. A source outside the rootfs
// (the bundle's, the orchestrator's) is still taken as given.
func TestAttackOCIBindSourceSymlink(t *testing.T) {
	r := newOCIRuntime(t)
	maps := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 0, Size: 65536}}
	secret := t.TempDir()
	if err := os.WriteFile(filepath.Join(secret, "secret"), []byte("hostsecret"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, idm := range []bool{false, true} {
		id := ociUnique(t, "bss")
		cg := ociCgroup(t, id)
		bundle := ociBundle(t, func(s *specs.Spec) {
			s.Process.Args = []string{"sh", "-c", "cat /data/secret; cat /given/ok"}
			s.Linux.CgroupsPath = "/" + cg
			m := specs.Mount{Destination: "/data", Type: "bind", Source: "rootfs/vol", Options: []string{"bind"}}
			if idm {
				m.UIDMappings, m.GIDMappings = maps, maps
			}
			s.Mounts = append(s.Mounts, m, specs.Mount{Destination: "/given", Type: "bind", Source: "given", Options: []string{"bind"}})
		})
		if err := os.Symlink(secret, filepath.Join(bundle, "rootfs", "vol")); err != nil {
			t.Fatal(err)
		}
		// Inside the rootfs the link's target is this directory, empty.
		if err := os.MkdirAll(filepath.Join(bundle, "rootfs", secret), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(filepath.Join(bundle, "given"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(bundle, "given", "ok"), []byte("bundle-ok"), 0o644); err != nil {
			t.Fatal(err)
		}
		r.track(id)
		out, code := r.run(nil, "run", "--bundle", bundle, id)
		if strings.Contains(out, "hostsecret") {
			t.Errorf("idmap=%v: the host directory was bound through the rootfs's symlink: exit %d %q", idm, code, out)
		}
		if !strings.Contains(out, "bundle-ok") {
			t.Errorf("idmap=%v: the bundle's own source was not bound: exit %d %q", idm, code, out)
		}
	}
}
