package namespace

import (
	"fmt"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Kind is one kind of namespace, with every name it goes by.
type Kind struct {
	// Name is how lxc.namespace.clone, .keep and .share.NAME spell it
	// (lxc.container.conf(5)), which is also its /proc/PID/ns file but
	// for "time" (ns/time, and ns/time_for_children).
	Name string
	// Attach is lxc-attach -s's name (lxc-attach(1)).
	Attach string
	// Flag is its clone(2) flag.
	Flag int
	// OCI is the runtime spec's namespace type.
	OCI specs.LinuxNamespaceType
	// Share is lxc-start's --share-NAME option, "" where there is none.
	Share string
}

// ProcFile is the kind's file under /proc/PID/ns.
func (k Kind) ProcFile() string { return k.Name }

// Kinds is every namespace kind golxc knows, in the order a process joins
// them: user first (the others are owned by it, so joining them needs the
// capabilities it gives), mnt last (after it, /proc paths are the
// container's).
var kinds = [...]Kind{
	{Name: "user", Attach: "USER", Flag: unix.CLONE_NEWUSER, OCI: specs.UserNamespace},
	{Name: "cgroup", Attach: "CGROUP", Flag: unix.CLONE_NEWCGROUP, OCI: specs.CgroupNamespace},
	{Name: "ipc", Attach: "IPC", Flag: unix.CLONE_NEWIPC, OCI: specs.IPCNamespace, Share: "ipc"},
	{Name: "uts", Attach: "UTSNAME", Flag: unix.CLONE_NEWUTS, OCI: specs.UTSNamespace, Share: "uts"},
	{Name: "net", Attach: "NETWORK", Flag: unix.CLONE_NEWNET, OCI: specs.NetworkNamespace, Share: "net"},
	{Name: "pid", Attach: "PID", Flag: unix.CLONE_NEWPID, OCI: specs.PIDNamespace, Share: "pid"},
	{Name: "time", Flag: unix.CLONE_NEWTIME, OCI: specs.TimeNamespace},
	{Name: "mnt", Attach: "MOUNT", Flag: unix.CLONE_NEWNS, OCI: specs.MountNamespace},
}

// Kinds returns every namespace kind, in join order.
func Kinds() []Kind { return kinds[:] }

// ContainerKinds is what a container gets by default: every kind but
// time (lxc.container.conf(5): lxc.namespace.clone's default is every
// namespace the kernel supports but time), user only with lxc.idmap.
func ContainerKinds() []Kind {
	var ks []Kind
	for _, k := range kinds {
		if k.Name != "time" && k.Name != "user" {
			ks = append(ks, k)
		}
	}
	return ks
}

// AttachFlags are the namespaces lxc-attach joins by default: every one a
// container has (the user namespace when it has one).
const AttachFlags = unix.CLONE_NEWNS | unix.CLONE_NEWPID | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC | unix.CLONE_NEWNET | unix.CLONE_NEWCGROUP

// ByName finds a kind by its lxc.namespace.* name; "mount" is taken for
// "mnt", as LXC does.
func ByName(name string) (Kind, error) {
	if name == "mount" {
		name = "mnt"
	}
	for _, k := range kinds {
		if k.Name == name {
			return k, nil
		}
	}
	names := make([]string, len(kinds))
	for i, k := range kinds {
		names[i] = k.Name
	}
	return Kind{}, fmt.Errorf("unknown namespace %q (one of %s)", name, strings.Join(names, " "))
}

// ByOCI finds a kind by its runtime spec type.
func ByOCI(t specs.LinuxNamespaceType) (Kind, bool) {
	for _, k := range kinds {
		if k.OCI == t {
			return k, true
		}
	}
	return Kind{}, false
}

// AttachNames maps lxc-attach -s's names to clone flags.
func AttachNames() map[string]int {
	m := map[string]int{}
	for _, k := range kinds {
		if k.Attach != "" {
			m[k.Attach] = k.Flag
		}
	}
	return m
}
