package lxc

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/golxc/golxc/internal/config"
	"github.com/golxc/golxc/internal/monitor"
	"github.com/golxc/golxc/internal/namespace"
)

// IDMaps are a config's lxc.idmap lines as a user namespace's maps; empty
// when it has none (a privileged container).
func IDMaps(cfg *config.Config) namespace.IDMaps {
	var m namespace.IDMaps
	for _, e := range cfg.IDMap {
		x := specs.LinuxIDMapping{ContainerID: e.ContainerID, HostID: e.HostID, Size: e.Count}
		if e.Kind == "u" {
			m.UID = append(m.UID, x)
		} else {
			m.GID = append(m.GID, x)
		}
	}
	return m
}

// idMaps checks a config's lxc.idmap lines, naming the key. A user other
// than root runs only unprivileged containers, as with LXC: they need
// lxc.idmap, and ranges /etc/subuid and /etc/subgid grant the user, which
// the pre-flight names in one line when one is missing.
func idMaps(cfg *config.Config) (namespace.IDMaps, error) {
	m := IDMaps(cfg)
	user := os.Geteuid() != 0
	if len(cfg.IDMap) == 0 {
		if user {
			c := namespace.CurrentCaller()
			return m, fmt.Errorf("a user other than root runs only unprivileged containers: the config needs lxc.idmap = u 0 START COUNT and lxc.idmap = g 0 START COUNT with ranges /etc/subuid and /etc/subgid grant %s (uid %d) (LXC's ~/.config/lxc/default.conf is the place for them)", c.Name, c.UID)
		}
		return m, nil
	}
	if err := m.Validate(); err != nil {
		return m, fmt.Errorf("lxc.idmap: %w", err)
	}
	if user {
		if err := namespace.Preflight(namespace.CurrentCaller(), m); err != nil {
			return m, fmt.Errorf("lxc.idmap: %w", err)
		}
	}
	return m, nil
}

// rootIDMap decides how the mapped root gets a rootfs it can use
// (Spec.RootIDMap). lxc.rootfs.options = idmap=container or idmap=PATH
// asks for an idmapped mount (lxc.container.conf(5)); without it, a rootfs
// whose top directory belongs to a host uid the map does not reach (one
// made for a privileged container, owned by host root) is idmapped
// through the container's namespace, and one that already belongs to the
// mapped ids (lxc-create of a container with lxc.idmap makes such) is
// used as it is. golxc never chowns a rootfs, as LXC does not: a rootfs
// on a filesystem without idmapped mounts must be made for the mapped ids.
func rootIDMap(cfg *config.Config, root string, m namespace.IDMaps) (string, error) {
	idmap, err := rootIDMapOf(cfg, root, m)
	if err != nil || idmap == "" || root == "" {
		return idmap, err
	}
	// An idmapped mount gives the mapped root the tree as its own: only
	// the directory the config names, never one a link there leads to
	// (a link the container's ids could have planted).
	if fi, err := os.Lstat(root); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		return "", fmt.Errorf("lxc.rootfs.path %s is a symbolic link: an idmapped rootfs must be named by its own path", root)
	}
	return idmap, nil
}

func rootIDMapOf(cfg *config.Config, root string, m namespace.IDMaps) (string, error) {
	idmap := ""
	for _, opt := range strings.Split(cfg.Rootfs.Options, ",") {
		switch v, ok := strings.CutPrefix(opt, "idmap="); {
		case opt == "":
		case ok && v != "":
			idmap = v
		default:
			return "", fmt.Errorf("lxc.rootfs.options = %s: only idmap=container or idmap=PATH is supported yet", cfg.Rootfs.Options)
		}
	}
	if idmap != "" {
		if len(m.UID) == 0 && idmap == "container" {
			return "", errors.New("lxc.rootfs.options = idmap=container needs lxc.idmap: the container has no user namespace to idmap its rootfs through")
		}
		if idmap != "container" && !filepath.IsAbs(idmap) {
			return "", fmt.Errorf("lxc.rootfs.options = idmap=%s: want container or the absolute path of a user namespace file", idmap)
		}
		if len(m.UID) == 0 {
			return "", errors.New("lxc.rootfs.options = idmap=PATH is supported only with lxc.idmap yet")
		}
		if os.Geteuid() != 0 {
			return "", errors.New("lxc.rootfs.options = idmap= is not supported yet for a user other than root: an idmapped mount takes host root; make the rootfs for the mapped ids (lxc-create does)")
		}
		return idmap, nil
	}
	if len(m.UID) == 0 || root == "" {
		return "", nil
	}
	st, err := os.Stat(root)
	if err != nil {
		return "", fmt.Errorf("lxc.rootfs.path %s: %w", root, err)
	}
	owner := st.Sys().(*syscall.Stat_t).Uid
	if _, mapped := namespace.ContainerID(m.UID, owner); mapped {
		return "", nil
	}
	if os.Geteuid() != 0 {
		return "", fmt.Errorf("lxc.rootfs.path %s belongs to host uid %d, which lxc.idmap does not map: a user other than root cannot idmap it (not supported yet); make the rootfs for the mapped ids (lxc-create as this user does)", root, owner)
	}
	return "container", nil
}

// namespaceSet is the container's namespaces: the ones it gets by
// default, or lxc.namespace.clone's, less lxc.namespace.keep's, with
// lxc.namespace.share.*'s joined (shared, as ResolveShares made it). hostNet is lxc.net.N.type = none.
func namespaceSet(cfg *config.Config, userns, hostNet bool, shared map[string]SharedNamespace) ([]specs.LinuxNamespace, error) {
	var want []namespace.Kind
	switch {
	case len(cfg.Namespace.Clone) > 0:
		for _, n := range cfg.Namespace.Clone {
			k, err := namespace.ByName(n)
			if err != nil {
				return nil, fmt.Errorf("lxc.namespace.clone: %w", err)
			}
			if k.Name == "user" && !userns {
				return nil, errors.New("lxc.namespace.clone = user needs lxc.idmap: a user namespace without maps would run as nobody")
			}
			want = append(want, k)
		}
		if userns && !slices.ContainsFunc(want, func(k namespace.Kind) bool { return k.Name == "user" }) {
			return nil, errors.New("lxc.namespace.clone lacks user, but lxc.idmap asks for a user namespace")
		}
	default:
		for _, k := range namespace.ContainerKinds() {
			if k.Name == "net" && hostNet {
				continue
			}
			want = append(want, k)
		}
		if userns {
			u, _ := namespace.ByName("user")
			want = append(want, u)
		}
		for _, n := range cfg.Namespace.Keep {
			k, err := namespace.ByName(n)
			if err != nil {
				return nil, fmt.Errorf("lxc.namespace.keep: %w", err)
			}
			if k.Name == "user" && userns {
				return nil, errors.New("lxc.namespace.keep = user and lxc.idmap conflict: a kept user namespace cannot have the container's maps")
			}
			want = slices.DeleteFunc(want, func(w namespace.Kind) bool { return w.Name == k.Name })
		}
	}
	var out []specs.LinuxNamespace
	has := func(name string) bool {
		return slices.ContainsFunc(want, func(k namespace.Kind) bool { return k.Name == name })
	}
	if !has("mnt") {
		return nil, errors.New("the container needs a mount namespace of its own (lxc.namespace.clone or .keep leave it out): golxc builds the container's root filesystem in it")
	}
	for _, k := range namespace.Kinds() {
		ns, share := shared[k.Name]
		switch {
		case share:
			out = append(out, specs.LinuxNamespace{Type: k.OCI, Path: ns.Path})
		case has(k.Name):
			out = append(out, specs.LinuxNamespace{Type: k.OCI})
		}
	}
	return out, nil
}

// sharable are the namespaces lxc.namespace.share.* and lxc-start
// --share-* can join: the init stage enters net, ipc, uts and cgroup with
// setns on the one thread it execs from (cgroup instead of making one of
// its own); a pid namespace is entered only by a process's children, so
// the monitor spawns the stage into it from a thread of its own; user and
// time are refused to a process with threads, so a raw fork of the
// monitor joins them and execs the stage (namespace.Spawn). A mount
// namespace is refused (shareMntRefused).
var sharable = []string{"net", "ipc", "uts", "pid", "cgroup", "user", "time"}

// shareMntRefused is why lxc.namespace.share.mnt is refused: LXC 5.0.2
// builds the container's root in the joined mount namespace, where its
// pivot_root moves the root of every process there. With another
// container it fails (that namespace lacks the rootfs path); with a host
// process it would mount over the host's tree.
const shareMntRefused = "lxc.namespace.share.mnt is refused: the container's root would be built in the joined mount namespace, over what runs there (LXC 5.0.2 builds it there too, and fails for another container, whose namespace lacks the rootfs path); attach to that container instead"

// SharedNamespace is a namespace to join: the /proc path the monitor
// opens, and the identity it must find there.
type SharedNamespace struct {
	Path string
	ID   namespace.NamespaceID
	// UIDMap and GIDMap are a user namespace's maps, as it has them.
	UIDMap, GIDMap []specs.LinuxIDMapping
}

// ResolveShares turns lxc.namespace.share.* of cfg, with extra (lxc-start
// --share-NAME, which wins) over it, into the namespaces to join: a value
// is a pid, the name of a running container of lxcpath, or the path of
// one (lxcpath/name). Each is read through a pidfd of the process, and its
// identity goes with its path: a pid that is reused before the monitor
// opens the path names another namespace, and the start fails.
func ResolveShares(lxcpath string, cfg *config.Config, extra map[string]string) (map[string]SharedNamespace, error) {
	want := map[string]string{}
	for _, s := range cfg.Namespace.Share {
		want[s.Name] = s.Value
	}
	for k, v := range extra {
		want[k] = v
	}
	if len(want) == 0 {
		return nil, nil
	}
	names := make([]string, 0, len(want))
	for name := range want {
		names = append(names, name)
	}
	// The user namespace first: the others' checks need to know it.
	slices.SortFunc(names, func(a, b string) int {
		if (a == "user") != (b == "user") {
			if a == "user" {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	out := map[string]SharedNamespace{}
	for _, name := range names {
		value := want[name]
		k, err := namespace.ByName(name)
		if err != nil {
			return nil, fmt.Errorf("lxc.namespace.share.%s: %w", name, err)
		}
		if k.Name == "mnt" {
			return nil, errors.New(shareMntRefused)
		}
		if !slices.Contains(sharable, k.Name) {
			return nil, fmt.Errorf("lxc.namespace.share.%s is not supported yet (only %s)", k.Name, strings.Join(sharable, ", "))
		}
		if (k.Name == "user" || k.Name == "time") && os.Geteuid() != 0 {
			return nil, fmt.Errorf("lxc.namespace.share.%s is not supported yet for a user other than root", k.Name)
		}
		if _, user := out["user"]; len(cfg.IDMap) > 0 && k.Name != "user" && !user {
			return nil, fmt.Errorf("lxc.namespace.share.%s with lxc.idmap needs lxc.namespace.share.user too: a new user namespace may not join a namespace it does not own", k.Name)
		}
		if slices.Contains(cfg.Namespace.Keep, k.Name) {
			return nil, fmt.Errorf("lxc.namespace.share.%s and lxc.namespace.keep = %s conflict", k.Name, k.Name)
		}
		ns, err := shareNamespace(lxcpath, value, k)
		if err != nil {
			return nil, fmt.Errorf("lxc.namespace.share.%s = %s: %w", k.Name, value, err)
		}
		if k.Name == "user" {
			if err := sameIDMaps(cfg, value, ns); err != nil {
				return nil, err
			}
		}
		out[k.Name] = ns
	}
	return out, nil
}

// sameIDMaps checks that a container joining the user namespace ns
// declares its maps: ns's maps are what apply to it (its rootfs, its
// devices, its cgroups' owner), and lxc.idmap is where golxc reads them.
func sameIDMaps(cfg *config.Config, value string, ns SharedNamespace) error {
	if len(ns.UIDMap) == 1 && ns.UIDMap[0] == (specs.LinuxIDMapping{ContainerID: 0, HostID: 0, Size: 4294967295}) {
		return fmt.Errorf("lxc.namespace.share.user = %s: that is the host's user namespace, which the container is in already (LXC fails to join it: EINVAL)", value)
	}
	m := IDMaps(cfg)
	if !namespace.SameMaps(m.UID, ns.UIDMap) || !namespace.SameMaps(m.GID, ns.GIDMap) {
		return fmt.Errorf("lxc.namespace.share.user = %s: lxc.idmap must be the maps of the user namespace joined, which apply to the container: %s, %s", value,
			namespace.MapsText("u", ns.UIDMap), namespace.MapsText("g", ns.GIDMap))
	}
	return nil
}

// shareNamespace finds namespace k of what a share value names: a pid,
// or a container (a name in lxcpath, or a path lxcpath/name) by its
// init, whose pidfd its monitor passes.
func shareNamespace(lxcpath, value string, k namespace.Kind) (SharedNamespace, error) {
	var pidfd int
	if pid, err := strconv.Atoi(value); err == nil {
		if pid <= 0 {
			return SharedNamespace{}, errors.New("not a pid")
		}
		if pidfd, err = unix.PidfdOpen(pid, 0); err != nil {
			return SharedNamespace{}, fmt.Errorf("process %d: %w", pid, err)
		}
	} else {
		name := value
		if strings.Contains(value, "/") {
			lxcpath, name = filepath.Dir(value), filepath.Base(value)
		}
		c, err := New(lxcpath, name)
		if err != nil {
			return SharedNamespace{}, err
		}
		conn, err := c.dial()
		if err != nil {
			if errors.Is(err, monitor.ErrNotRunning) {
				return SharedNamespace{}, &ErrNotRunning{Name: c.Name}
			}
			return SharedNamespace{}, err
		}
		pidfd, _, err = conn.PidFD()
		conn.Close()
		if err != nil {
			return SharedNamespace{}, fmt.Errorf("container %s: %w", c.Name, err)
		}
	}
	defer unix.Close(pidfd)
	proc, err := namespace.OpenProc(pidfd)
	if err != nil {
		return SharedNamespace{}, err
	}
	defer proc.Close()
	id, err := proc.Namespace(k)
	if err != nil {
		return SharedNamespace{}, err
	}
	ns := SharedNamespace{Path: "/proc/" + strconv.Itoa(proc.Pid) + "/ns/" + k.ProcFile(), ID: id}
	if k.Name == "user" {
		for _, f := range []struct {
			name string
			to   *[]specs.LinuxIDMapping
		}{{"uid_map", &ns.UIDMap}, {"gid_map", &ns.GIDMap}} {
			b, err := proc.ReadFile(f.name, 64<<10)
			if err != nil {
				return SharedNamespace{}, err
			}
			if *f.to, err = namespace.ParseMapFile(string(b)); err != nil {
				return SharedNamespace{}, fmt.Errorf("%s: %w", f.name, err)
			}
		}
		// The maps are read after the identity, through the same pidfd:
		// the process is checked to be alive still, so they are that
		// namespace's.
		if err := unix.PidfdSendSignal(pidfd, 0, nil, 0); err != nil {
			return SharedNamespace{}, fmt.Errorf("process %d: %w", proc.Pid, err)
		}
	}
	return ns, nil
}

// mappedRoot is the host uid and gid of the namespace's root.
func mappedRoot(maps namespace.IDMaps) (int, int, error) {
	uid, uok := namespace.HostID(maps.UID, 0)
	gid, gok := namespace.HostID(maps.GID, 0)
	if !uok || !gok {
		return 0, 0, errors.New("lxc.idmap maps no root (uid and gid 0)")
	}
	return int(uid), int(gid), nil
}

// searchableBy checks that the container's root, as the host sees it,
// may walk through dir and its parents to the container's directory: the
// template runs as that user. LXC needs the same of an lxcpath.
func searchableBy(dir string, maps namespace.IDMaps) error {
	uid, gid, err := mappedRoot(maps)
	if err != nil {
		return err
	}
	for d := dir; ; d = filepath.Dir(d) {
		st, err := os.Stat(d)
		if err != nil {
			return fmt.Errorf("lxcpath %s: %w", dir, err)
		}
		sys := st.Sys().(*syscall.Stat_t)
		m := st.Mode().Perm()
		ok := m&0o001 != 0 || int(sys.Uid) == uid && m&0o100 != 0 || int(sys.Gid) == gid && m&0o010 != 0
		if !ok {
			return fmt.Errorf("%s is not searchable by the container's root (host uid %d), as whom the template runs: chmod o+x %s (LXC needs the same of an lxcpath)", d, uid, d)
		}
		if d == "/" {
			return nil
		}
	}
}

// lendToMappedRoot gives the container directory under construction, its
// config and its rootfs to the mapped root for the template to fill, and
// returns what takes the directory and the config back to host root once
// it is done (the rootfs stays the mapped root's). A config the
// container's ids own could be rewritten by any process of theirs: a
// container's root that got out of its rootfs could drop lxc.idmap.
func lendToMappedRoot(dir string, maps namespace.IDMaps) (func() error, error) {
	uid, gid, err := mappedRoot(maps)
	if err != nil {
		return nil, err
	}
	for _, p := range []string{dir, filepath.Join(dir, "config"), filepath.Join(dir, "rootfs")} {
		if err := os.Lchown(p, uid, gid); err != nil {
			return nil, fmt.Errorf("give %s to the container's root: %w", p, err)
		}
	}
	return func() error {
		// The directory first: then no process of the mapped ids can
		// add, rename or replace anything in it. (The template ran in a
		// pid namespace of its own, so none is left anyway.)
		if err := os.Lchown(dir, 0, 0); err != nil {
			return fmt.Errorf("take %s back from the container's root: %w", dir, err)
		}
		// The config is read through a descriptor that cannot follow a
		// link, only if it is a regular file with one name, and written
		// anew as host root's: the template's file, and any descriptor
		// of it the mapped ids kept, are left behind.
		cfg := filepath.Join(dir, "config")
		fd, err := unix.Open(cfg, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("config after template: %w", err)
		}
		f := os.NewFile(uintptr(fd), cfg)
		defer f.Close()
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			return fmt.Errorf("config after template: %w", err)
		}
		if st.Mode&unix.S_IFMT != unix.S_IFREG || st.Nlink != 1 {
			return fmt.Errorf("config after template: %s is not a regular file with one name", cfg)
		}
		b, err := io.ReadAll(io.LimitReader(f, 1<<20))
		if err != nil {
			return fmt.Errorf("config after template: %w", err)
		}
		tmp, err := os.CreateTemp(dir, ".config.*")
		if err != nil {
			return fmt.Errorf("rewrite config after template: %w", err)
		}
		_, werr := tmp.Write(b)
		if cerr := tmp.Close(); werr == nil {
			werr = cerr
		}
		if werr == nil {
			werr = os.Chmod(tmp.Name(), 0o640)
		}
		if werr == nil {
			werr = os.Rename(tmp.Name(), cfg)
		}
		if werr != nil {
			os.Remove(tmp.Name())
			return fmt.Errorf("rewrite config after template: %w", werr)
		}
		return nil
	}, nil
}
