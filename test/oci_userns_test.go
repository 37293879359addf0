package test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// pinnedNS starts sleep under argv (unshare(1) making new namespaces:
// --user, --net ..., perhaps under setpriv or nsenter), writes the user
// namespace's maps itself when maps are given (root writes a child's
// maps: no newuidmap), pins each of kinds ("user", "net" ...) by a bind
// mount of its /proc/PID/ns file, and ends sleep: the namespaces live on
// in the bind mounts alone. It returns the pinned files and the
// namespaces' links (user:[N]) by kind.
func pinnedNS(t *testing.T, argv []string, maps []specs.LinuxIDMapping, kinds ...string) (map[string]string, map[string]string) {
	t.Helper()
	requireTool(t, "unshare", "util-linux")
	argv = append(slices.Clone(argv), "sleep", "1000")
	cmd := exec.Command(argv[0], argv[1:]...)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %v: %v", argv, err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	pid := strconv.Itoa(cmd.Process.Pid)
	first := kinds[0]
	own, _ := os.Readlink("/proc/self/ns/" + first)
	if !waitFor(5*time.Second, func() bool {
		l, _ := os.Readlink("/proc/" + pid + "/ns/" + first)
		comm, _ := os.ReadFile("/proc/" + pid + "/comm")
		return l != "" && l != own && strings.TrimSpace(string(comm)) == "sleep"
	}) {
		t.Fatalf("%v made no %s namespace", argv, first)
	}
	if len(maps) > 0 {
		var text string
		for _, m := range maps {
			text += fmt.Sprintf("%d %d %d\n", m.ContainerID, m.HostID, m.Size)
		}
		for _, f := range []string{"uid_map", "gid_map"} {
			if err := os.WriteFile("/proc/"+pid+"/"+f, []byte(text), 0); err != nil {
				t.Fatalf("write %s of %s: %v", f, pid, err)
			}
		}
	}
	dir := t.TempDir()
	files, links := map[string]string{}, map[string]string{}
	for _, k := range kinds {
		f := filepath.Join(dir, k)
		if err := os.WriteFile(f, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Mount("/proc/"+pid+"/ns/"+k, f, "", syscall.MS_BIND, ""); err != nil {
			t.Fatalf("pin %s namespace: %v", k, err)
		}
		t.Cleanup(func() { _ = syscall.Unmount(f, syscall.MNT_DETACH) })
		files[k] = f
		links[k], _ = os.Readlink("/proc/" + pid + "/ns/" + k)
	}
	return files, links
}

// nobodyUnshare is unshare --user run as uid and gid 65534: the user
// namespace it makes is that user's.
func nobodyUnshare(t *testing.T) []string {
	requireTool(t, "setpriv", "util-linux")
	return []string{"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "unshare", "--user"}
}

// nsOwner is the link (user:[N]) of the user namespace that owns the
// namespace file path (NS_GET_USERNS).
func nsOwner(t *testing.T, path string) string {
	t.Helper()
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	u, err := unix.IoctlRetInt(fd, 0xb701)
	if err != nil {
		t.Fatalf("NS_GET_USERNS of %s: %v", path, err)
	}
	defer unix.Close(u)
	var st unix.Stat_t
	if err := unix.Fstat(u, &st); err != nil {
		t.Fatal(err)
	}
	return "user:[" + strconv.FormatUint(st.Ino, 10) + "]"
}

// TestOCIJoinUserNamespace: a user namespace given by path (a bind mount
// of its nsfs file, no process left in it) is joined by the container's
// init, its maps read from it (none in config.json), the container's new
// namespaces made under it; with a network namespace of its own joined
// too; the same maps in config.json are accepted.
func TestOCIJoinUserNamespace(t *testing.T) {
	requireRoot(t)
	maps := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	files, links := pinnedNS(t, []string{"unshare", "--user", "--net"}, maps, "user", "net")
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		name     string
		joinNet  bool
		withMaps bool
	}{{"user", false, false}, {"user+net", true, true}} {
		t.Run(c.name, func(t *testing.T) {
			r := newOCIRuntime(t)
			id := ociUnique(t, "joinuser")
			cg := ociCgroup(t, id)
			bundle := ociBundle(t, func(s *specs.Spec) {
				s.Process.Args = []string{"sh", "-c", "echo uid=$(id -u); cat /proc/self/uid_map; stat -c %u:%g /idm/f; exec sleep 1000"}
				// idmap without maps of its own: the joined namespace's.
				s.Mounts = append(s.Mounts, specs.Mount{Destination: "/idm", Type: "bind", Source: src, Options: []string{"bind", "idmap"}})
				s.Linux.CgroupsPath = "/" + cg
				s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace, Path: files["user"]})
				if c.joinNet {
					for i, n := range s.Linux.Namespaces {
						if n.Type == specs.NetworkNamespace {
							s.Linux.Namespaces[i].Path = files["net"]
						}
					}
				}
				if c.withMaps {
					s.Linux.UIDMappings, s.Linux.GIDMappings = maps, maps
				}
			})
			// The mapped root may not make it in a rootfs host root owns.
			if err := os.Mkdir(filepath.Join(bundle, "rootfs/idm"), 0o755); err != nil {
				t.Fatal(err)
			}
			out := outFile(t)
			pidFile := filepath.Join(t.TempDir(), "pid")
			r.track(id)
			if _, code := r.run(out, "create", "--bundle", bundle, "--pid-file", pidFile, id); code != 0 {
				b, _ := os.ReadFile(out.Name())
				t.Fatalf("create: exit %d: %s", code, b)
			}
			ipid := readTrim(t, pidFile)
			if got, _ := os.Readlink("/proc/" + ipid + "/ns/user"); got != links["user"] {
				t.Errorf("user namespace of the container's init %q, want the pinned %q", got, links["user"])
			}
			// Its root is the namespace's: host uid 100000.
			status, _ := os.ReadFile("/proc/" + ipid + "/status")
			if !strings.Contains(string(status), "\nUid:\t100000\t100000\t100000\t100000\n") {
				t.Errorf("init's uids as the host sees them:\n%s\nwant 100000", status)
			}
			// The new namespaces are the joined user namespace's.
			for _, k := range []string{"mnt", "pid", "ipc", "uts"} {
				if got := nsOwner(t, "/proc/"+ipid+"/ns/"+k); got != links["user"] {
					t.Errorf("the container's %s namespace is owned by %s, want the joined %s", k, got, links["user"])
				}
			}
			wantNet := links["net"]
			if got, _ := os.Readlink("/proc/" + ipid + "/ns/net"); (got == wantNet) != c.joinNet {
				t.Errorf("network namespace of the init %q (pinned %q), joined: %v", got, wantNet, c.joinNet)
			}
			// Stopped at the gate: the program has not run, and no
			// golxc process is the init's parent.
			if b, _ := os.ReadFile(out.Name()); len(b) != 0 {
				t.Errorf("the program ran before start: %q", b)
			}
			if ppid := statusField(string(status), "PPid"); ppid != "" {
				comm, _ := os.ReadFile("/proc/" + ppid + "/comm")
				if strings.HasPrefix(string(comm), "golxc") {
					t.Errorf("the init's parent is %s (%s), want no golxc process between it and the caller", ppid, strings.TrimSpace(string(comm)))
				}
			}
			r.mustRun(nil, "start", id)
			if !waitFor(10*time.Second, func() bool { b, _ := os.ReadFile(out.Name()); return strings.Count(string(b), "\n") >= 3 }) {
				b, _ := os.ReadFile(out.Name())
				t.Fatalf("the program's output %q, want its uid and uid_map", b)
			}
			b, _ := os.ReadFile(out.Name())
			if f := strings.Fields(string(b)); len(f) != 5 || f[0] != "uid=0" || f[1] != "0" || f[2] != "100000" || f[3] != "65536" || f[4] != "0:0" {
				t.Errorf("uid, uid_map and the owner through the idmapped mount in the container %q, want uid=0, 0 100000 65536 and 0:0", b)
			}
			if out, code := r.run(nil, "exec", id, "id", "-u"); code != 0 || strings.TrimSpace(out) != "0" {
				t.Errorf("exec id -u: exit %d %q, want 0", code, out)
			}
			if out, code := r.run(nil, "exec", id, "readlink", "/proc/self/ns/user"); code != 0 || strings.TrimSpace(out) != links["user"] {
				t.Errorf("exec: user namespace %q (exit %d), want %s", out, code, links["user"])
			}
			r.mustRun(nil, "kill", id, "KILL")
			r.waitStatus(id, "stopped")
			r.mustRun(nil, "delete", id)
		})
	}
}

// TestOCIJoinUserNamespaceRefused: each user namespace golxc-runc must
// not join, or joins with maps that are not its own, is refused in one
// line, and nothing is left (state, cgroup).
func TestOCIJoinUserNamespaceRefused(t *testing.T) {
	r := newOCIRuntime(t)
	maps := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	files, _ := pinnedNS(t, []string{"unshare", "--user", "--net"}, maps, "user", "net")
	// A namespace whose maps have no root.
	noRoot, _ := pinnedNS(t, []string{"unshare", "--user"}, []specs.LinuxIDMapping{{ContainerID: 1, HostID: 100001, Size: 1000}}, "user")
	// A network namespace the host's user namespace owns.
	hostNet, _ := pinnedNS(t, []string{"unshare", "--net"}, nil, "net")
	plain := filepath.Join(t.TempDir(), "plain")
	if err := os.WriteFile(plain, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	other := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 200000, Size: 65536}}

	for _, c := range []struct {
		name, path string
		maps       []specs.LinuxIDMapping
		net        string
		want       string
	}{
		{"maps differ", files["user"], other, "", "differ from the maps of the user namespace joined"},
		{"only uid maps", files["user"], nil, "", ""},
		{"not a user namespace", files["net"], nil, "", "is not a user namespace"},
		{"not a namespace file", plain, nil, "", "not a namespace file"},
		{"host's own", "/proc/self/ns/user", nil, "", "golxc-runc's own"},
		{"maps no root", noRoot["user"], nil, "", "maps no root"},
		{"net not its own", files["user"], nil, hostNet["net"], "not owned by the user namespace joined"},
	} {
		t.Run(c.name, func(t *testing.T) {
			id := ociUnique(t, "userx")
			cg := ociCgroup(t, id)
			want := c.want
			bundle := ociBundle(t, func(s *specs.Spec) {
				s.Linux.CgroupsPath = "/" + cg
				s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace, Path: c.path})
				s.Linux.UIDMappings, s.Linux.GIDMappings = c.maps, c.maps
				if c.name == "only uid maps" {
					s.Linux.UIDMappings, s.Linux.GIDMappings = maps, nil
					want = "go together"
				}
				if c.net != "" {
					for i, n := range s.Linux.Namespaces {
						if n.Type == specs.NetworkNamespace {
							s.Linux.Namespaces[i].Path = c.net
						}
					}
				}
			})
			r.track(id)
			out, code := r.run(nil, "create", "--bundle", bundle, id)
			if code != 1 || !strings.Contains(out, want) || strings.Count(strings.TrimSpace(out), "\n") != 0 {
				t.Errorf("create: exit %d %q; want 1 and one line with %q", code, out, want)

			}
			if list := r.mustRun(nil, "list", "-q"); strings.Contains(list, id) {
				t.Errorf("refused create left %s", id)
			}
			if cgroupExists(cg) {
				t.Errorf("refused create left cgroup %s", cg)
			}
		})
	}
}

// TestOCIJoinUserNamespacePod: two containers as a pod: the first joins a
// pinned user namespace, the second joins the first's user, pid, network
// and ipc namespaces by their /proc/PID/ns paths (a pid namespace the
// joined user namespace owns, entered from the raw fork).
func TestOCIJoinUserNamespacePod(t *testing.T) {
	r := newOCIRuntime(t)
	maps := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	files, links := pinnedNS(t, []string{"unshare", "--user"}, maps, "user")
	a, b := ociUnique(t, "poda"), ociUnique(t, "podb")
	cga, cgb := ociCgroup(t, a), ociCgroup(t, b)
	ba := ociBundle(t, func(s *specs.Spec) {
		s.Process.Args = []string{"sleep", "100"}
		s.Linux.CgroupsPath = "/" + cga
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace, Path: files["user"]})
	})
	pidA := filepath.Join(t.TempDir(), "a.pid")
	r.track(a)
	r.mustRun(outFile(t), "create", "--bundle", ba, "--pid-file", pidA, a)
	r.mustRun(nil, "start", a)
	pa := readTrim(t, pidA)
	bb := ociBundle(t, func(s *specs.Spec) {
		s.Process.Args = []string{"sleep", "101"}
		s.Linux.CgroupsPath = "/" + cgb
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace, Path: "/proc/" + pa + "/ns/user"})
		s.Linux.UIDMappings, s.Linux.GIDMappings = maps, maps
		for i, n := range s.Linux.Namespaces {
			switch n.Type {
			case specs.PIDNamespace, specs.IPCNamespace, specs.NetworkNamespace:
				s.Linux.Namespaces[i].Path = "/proc/" + pa + "/ns/" + map[specs.LinuxNamespaceType]string{
					specs.PIDNamespace: "pid", specs.IPCNamespace: "ipc", specs.NetworkNamespace: "net"}[n.Type]
			}
		}
	})
	pidB := filepath.Join(t.TempDir(), "b.pid")
	r.track(b)
	r.mustRun(outFile(t), "create", "--bundle", bb, "--pid-file", pidB, b)
	r.mustRun(nil, "start", b)
	pb := readTrim(t, pidB)
	if got, _ := os.Readlink("/proc/" + pb + "/ns/user"); got != links["user"] {
		t.Errorf("user namespace of %s's init %q, want the pinned %q", b, got, links["user"])
	}
	for _, ns := range []string{"pid", "ipc", "net"} {
		la, _ := os.Readlink("/proc/" + pa + "/ns/" + ns)
		lb, _ := os.Readlink("/proc/" + pb + "/ns/" + ns)
		if la == "" || la != lb {
			t.Errorf("%s namespace: %s's init in %q, %s's in %q", ns, a, la, b, lb)
		}
	}
	if out, code := r.run(nil, "exec", b, "ps"); code != 0 || !strings.Contains(out, "sleep 100") || !strings.Contains(out, "sleep 101") {
		t.Errorf("ps in %s: exit %d\n%s\nwant both containers' sleep", b, code, out)
	}
}
