package lxc

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/golxc/golxc/internal/cgroup"
	"github.com/golxc/golxc/internal/namespace"
)

var idmapKeys = [][2]string{kv("lxc.idmap", "u 0 100000 65536"), kv("lxc.idmap", "g 0 100000 65536")}

func TestBuildSpecIDMap(t *testing.T) {
	layout := &cgroup.Layout{}
	cfg, root := specConfig(t, idmapKeys...)
	s, _, err := buildSpec("c1", cfg, layout, specOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(nsTypes(&s.OCI), specs.UserNamespace) {
		t.Errorf("namespaces %v lack user", nsTypes(&s.OCI))
	}
	want := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	if !slices.Equal(s.OCI.Linux.UIDMappings, want) || !slices.Equal(s.OCI.Linux.GIDMappings, want) {
		t.Errorf("maps %v %v, want %v", s.OCI.Linux.UIDMappings, s.OCI.Linux.GIDMappings, want)
	}
	// The temp rootfs is host root's, which the map does not reach: it
	// is idmapped through the container's namespace.
	if s.RootIDMap != "container" {
		t.Errorf("RootIDMap = %q for a rootfs of host root, want container", s.RootIDMap)
	}
	if os.Geteuid() == 0 {
		if err := os.Chown(root, 100000, 100000); err != nil {
			t.Fatal(err)
		}
		s, _, err := buildSpec("c1", cfg, layout, specOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if s.RootIDMap != "" {
			t.Errorf("RootIDMap = %q for a rootfs of the mapped root, want none", s.RootIDMap)
		}
	}
}

func TestBuildSpecIDMapRefusals(t *testing.T) {
	layout := &cgroup.Layout{}
	tests := []struct {
		name    string
		keys    [][2]string
		wantErr string
	}{
		{name: "uid map only", keys: [][2]string{kv("lxc.idmap", "u 0 100000 65536")}, wantErr: "lxc.idmap: no gid map"},
		{name: "root unmapped", keys: [][2]string{kv("lxc.idmap", "u 1 100000 65536"), kv("lxc.idmap", "g 0 100000 65536")}, wantErr: "no uid map for id 0"},
		{name: "overlap", keys: append([][2]string{kv("lxc.idmap", "u 10 200000 5")}, idmapKeys...), wantErr: "overlap inside"},
		{name: "other rootfs options", keys: append([][2]string{kv("lxc.rootfs.options", "ro")}, idmapKeys...), wantErr: "lxc.rootfs.options = ro"},
		{name: "idmap=container without a user namespace", keys: [][2]string{kv("lxc.rootfs.options", "idmap=container")}, wantErr: "needs lxc.idmap"},
		{name: "idmap= relative", keys: append([][2]string{kv("lxc.rootfs.options", "idmap=ns/user")}, idmapKeys...), wantErr: "absolute path"},
		{name: "keep user with maps", keys: append([][2]string{kv("lxc.namespace.keep", "user")}, idmapKeys...), wantErr: "conflict"},
		{name: "clone without user", keys: append([][2]string{kv("lxc.namespace.clone", "mnt pid")}, idmapKeys...), wantErr: "lacks user"},
		{name: "clone user without maps", keys: [][2]string{kv("lxc.namespace.clone", "mnt user")}, wantErr: "needs lxc.idmap"},
		{name: "keep mnt", keys: [][2]string{kv("lxc.namespace.keep", "mnt")}, wantErr: "mount namespace of its own"},
		{name: "clone without mnt", keys: [][2]string{kv("lxc.namespace.clone", "pid net")}, wantErr: "mount namespace of its own"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, _ := specConfig(t, tt.keys...)
			_, _, err := buildSpec("c1", cfg, layout, specOptions{})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestBuildSpecNamespaceCloneKeepShare(t *testing.T) {
	layout := &cgroup.Layout{}
	all := []specs.LinuxNamespaceType{specs.CgroupNamespace, specs.IPCNamespace, specs.UTSNamespace, specs.NetworkNamespace, specs.PIDNamespace, specs.MountNamespace}
	tests := []struct {
		name   string
		keys   [][2]string
		shared map[string]SharedNamespace
		want   []specs.LinuxNamespaceType
		joined map[specs.LinuxNamespaceType]string
	}{
		{name: "default", want: all},
		{name: "with maps", keys: idmapKeys, want: append([]specs.LinuxNamespaceType{specs.UserNamespace}, all...)},
		{name: "keep net", keys: [][2]string{kv("lxc.namespace.keep", "net")},
			want: []specs.LinuxNamespaceType{specs.CgroupNamespace, specs.IPCNamespace, specs.UTSNamespace, specs.PIDNamespace, specs.MountNamespace}},
		{name: "keep net ipc cgroup", keys: [][2]string{kv("lxc.namespace.keep", "net ipc cgroup")},
			want: []specs.LinuxNamespaceType{specs.UTSNamespace, specs.PIDNamespace, specs.MountNamespace}},
		{name: "clone mount pid", keys: [][2]string{kv("lxc.namespace.clone", "mount pid")},
			want: []specs.LinuxNamespaceType{specs.PIDNamespace, specs.MountNamespace}},
		{name: "share net", shared: map[string]SharedNamespace{"net": {Path: "/proc/42/ns/net", ID: namespace.NamespaceID{Dev: 4, Ino: 4026531840}}}, want: all,
			joined: map[specs.LinuxNamespaceType]string{specs.NetworkNamespace: "/proc/42/ns/net"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, _ := specConfig(t, tt.keys...)
			s, _, err := buildSpec("c1", cfg, layout, specOptions{Shared: tt.shared})
			if err != nil {
				t.Fatal(err)
			}
			if got := nsTypes(&s.OCI); !slices.Equal(got, tt.want) {
				t.Errorf("namespaces %v, want %v", got, tt.want)
			}
			for _, n := range s.OCI.Linux.Namespaces {
				if n.Path != tt.joined[n.Type] {
					t.Errorf("%s path %q, want %q", n.Type, n.Path, tt.joined[n.Type])
				}
				// The identity the monitor checks goes with the path.
				k, _ := namespace.ByOCI(n.Type)
				if id, ok := s.JoinIDs[n.Type]; ok != (n.Path != "") || ok && id != tt.shared[k.Name].ID {
					t.Errorf("%s: JoinIDs %v", n.Type, s.JoinIDs)
				}
			}
		})
	}
}

func TestResolveShares(t *testing.T) {
	self := strconv.Itoa(os.Getpid())
	cfg, _ := specConfig(t, kv("lxc.namespace.share.net", self), kv("lxc.namespace.share.uts", self))
	got, err := ResolveShares(t.TempDir(), cfg, map[string]string{"ipc": self})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("ResolveShares = %v, want net, uts and ipc", got)
	}
	for _, k := range []string{"net", "uts", "ipc"} {
		want := "/proc/" + self + "/ns/" + k
		var st syscall.Stat_t
		if err := syscall.Stat(want, &st); err != nil {
			t.Fatal(err)
		}
		if got[k].Path != want || got[k].ID.Ino != st.Ino || got[k].ID.Dev != st.Dev {
			t.Errorf("%s = %+v, want %s with inode %d", k, got[k], want, st.Ino)
		}
	}
	for _, tt := range []struct {
		keys    [][2]string
		extra   map[string]string
		wantErr string
	}{
		{extra: map[string]string{"user": self}, wantErr: "lxc.namespace.share.user = " + self + ": that is the host's user namespace"},
		{keys: idmapKeys, extra: map[string]string{"user": self}, wantErr: "that is the host's user namespace"},
		{keys: [][2]string{kv("lxc.namespace.share.mnt", "1")}, wantErr: "lxc.namespace.share.mnt is refused: "},
		{keys: [][2]string{kv("lxc.namespace.keep", "net")}, extra: map[string]string{"net": "1"}, wantErr: "conflict"},
		{keys: idmapKeys, extra: map[string]string{"net": "1"}, wantErr: "with lxc.idmap"},
		{extra: map[string]string{"net": "nosuchcontainer"}, wantErr: "nosuchcontainer"},
		{extra: map[string]string{"net": "0"}, wantErr: "not a pid"},
		{extra: map[string]string{"net": "2147483646"}, wantErr: "process 2147483646"},
	} {
		cfg, _ := specConfig(t, tt.keys...)
		_, err := ResolveShares(t.TempDir(), cfg, tt.extra)
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%v %v: err = %v, want %q", tt.keys, tt.extra, err, tt.wantErr)
		}
	}
}

// callerMaps maps every range of the user's, one after another, and the
// user's own ids after them: lxc-destroy's namespace for removing what
// containers made with any of them own.
func TestCallerMaps(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "subuid")
	if err := os.WriteFile(sub, []byte("other:5:5\nu:100000:65536\n1000:300000:10\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := namespace.Caller{Name: "u", UID: 1000, GID: 1000, SubUID: sub, SubGID: sub}
	m, err := callerMaps(c)
	if err != nil {
		t.Fatal(err)
	}
	want := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}, {ContainerID: 65536, HostID: 300000, Size: 10}, {ContainerID: 65546, HostID: 1000, Size: 1}}
	if !reflect.DeepEqual(m.UID, want) || !reflect.DeepEqual(m.GID, want) {
		t.Errorf("callerMaps = %v / %v, want %v", m.UID, m.GID, want)
	}
	if err := m.Validate(); err != nil {
		t.Error(err)
	}
	c.Name, c.UID, c.GID = "nobody", 2000, 2000
	if _, err := callerMaps(c); err == nil || !strings.Contains(err.Error(), "grants nobody (2000) no range") {
		t.Errorf("callerMaps of a user without ranges: %v", err)
	}
}
