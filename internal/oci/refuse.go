package oci

import (
	"fmt"
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/golxc/golxc/internal/containerinit"
	"github.com/golxc/golxc/internal/rootfs"
)

// refuseUnsafe refuses what the container could turn against the host
// once made: refuseUnlockedReadOnly, refuseHooksInJoinedPid.
func refuseUnsafe(s *containerinit.Spec) error {
	if err := refuseUnlockedReadOnly(s); err != nil {
		return err
	}
	return refuseHooksInJoinedPid(s)
}

// refuseHooksInJoinedPid refuses createContainer hooks in a container
// that joins a pid namespace by path: a hook runs with every capability
// and the host's filesystem, and its exec makes it dumpable, in sight of
// that namespace's processes (whose root, with CAP_SYS_PTRACE, could
// ptrace it); the stage itself is kept non-dumpable.
func refuseHooksInJoinedPid(s *containerinit.Spec) error {
	if s.OCI.Hooks == nil || len(s.OCI.Hooks.CreateContainer) == 0 || s.OCI.Linux == nil {
		return nil
	}
	for _, n := range s.OCI.Linux.Namespaces {
		if n.Type == specs.PIDNamespace && n.Path != "" {
			return fmt.Errorf("config.json: createContainer hooks with a pid namespace joined by path (%s) are not built: the hook, which runs with every capability, would be open to ptrace by that namespace's processes", n.Path)
		}
	}
	return nil
}

// refuseUnlockedReadOnly refuses a read-only idmapped mount that the
// container's root could make writable again. The kernel locks a mount's
// flags only where a mount namespace is copied into a less privileged
// user namespace; the init stage makes its mounts inside the container's
// own user namespace, where root with CAP_SYS_ADMIN may remount a bind
// read-write. For a plain bind that gives nothing the host's permissions
// do not already give the container's mapped ids; through an idmapped
// mount the container's root owns what it sees, so "ro" would be the
// only thing between it and the host's files.
func refuseUnlockedReadOnly(s *containerinit.Spec) error {
	if !s.HasNamespace(specs.UserNamespace) || s.OCI.Process == nil || s.OCI.Process.Capabilities == nil ||
		!slices.Contains(s.OCI.Process.Capabilities.Bounding, "CAP_SYS_ADMIN") {
		return nil
	}
	for _, m := range s.IDMapMounts {
		if rootfs.ParseOptions(m.Options).Flags&unix.MS_RDONLY != 0 {
			return fmt.Errorf("config.json: mount of %s on %s: a read-only idmapped mount in a container with its own user namespace and CAP_SYS_ADMIN is not built (its root could remount it read-write: the kernel does not lock it)",
				m.Source, s.OCI.Mounts[m.Index].Destination)
		}
	}
	return nil
}
