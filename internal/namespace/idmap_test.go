package namespace

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func idm(c, h, n uint32) specs.LinuxIDMapping {
	return specs.LinuxIDMapping{ContainerID: c, HostID: h, Size: n}
}

func TestParseMapFlag(t *testing.T) {
	tests := []struct {
		flags    []string
		uid, gid []specs.LinuxIDMapping
		wantErr  string
	}{
		{flags: []string{"b:0:100000:65536"}, uid: []specs.LinuxIDMapping{idm(0, 100000, 65536)}, gid: []specs.LinuxIDMapping{idm(0, 100000, 65536)}},
		{flags: []string{"u:0:1000:1", "g:0:1000:1", "b:1:190000:1"}, uid: []specs.LinuxIDMapping{idm(0, 1000, 1), idm(1, 190000, 1)}, gid: []specs.LinuxIDMapping{idm(0, 1000, 1), idm(1, 190000, 1)}},
		{flags: []string{"x:0:1:1"}, wantErr: "want u|g|b"},
		{flags: []string{"u:0:1"}, wantErr: "want u|g|b"},
		{flags: []string{"u:0:-1:5"}, wantErr: "not an id"},
		{flags: []string{"u:0:4294967296:1"}, wantErr: "not an id"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.flags, ","), func(t *testing.T) {
			var m IDMaps
			var err error
			for _, f := range tt.flags {
				if err = ParseMapFlag(f, &m); err != nil {
					break
				}
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !equalMaps(m.UID, tt.uid) || !equalMaps(m.GID, tt.gid) {
				t.Errorf("maps = %+v, want uid %v gid %v", m, tt.uid, tt.gid)
			}
		})
	}
}

func equalMaps(a, b []specs.LinuxIDMapping) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestValidate(t *testing.T) {
	full := []specs.LinuxIDMapping{idm(0, 100000, 65536)}
	tests := []struct {
		name     string
		uid, gid []specs.LinuxIDMapping
		wantErr  string
	}{
		{name: "full", uid: full, gid: full},
		{name: "two ranges", uid: []specs.LinuxIDMapping{idm(0, 100000, 1000), idm(1000, 1000, 1)}, gid: full},
		{name: "no gid map", uid: full, wantErr: "no gid map"},
		{name: "root unmapped", uid: []specs.LinuxIDMapping{idm(1, 100000, 10)}, gid: full, wantErr: "no uid map for id 0"},
		{name: "empty range", uid: []specs.LinuxIDMapping{idm(0, 100000, 0)}, gid: full, wantErr: "range of 0"},
		{name: "overlap inside", uid: []specs.LinuxIDMapping{idm(0, 100000, 10), idm(5, 200000, 10)}, gid: full, wantErr: "overlap inside"},
		{name: "overlap on host", uid: []specs.LinuxIDMapping{idm(0, 100000, 10), idm(10, 100005, 10)}, gid: full, wantErr: "overlap on the host"},
		{name: "past the last id", uid: []specs.LinuxIDMapping{idm(0, 4294967290, 10)}, gid: full, wantErr: "past the last id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := IDMaps{UID: tt.uid, GID: tt.gid}.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
	var many []specs.LinuxIDMapping
	for i := uint32(0); i < 341; i++ {
		many = append(many, idm(i, 100000+i, 1))
	}
	if err := (IDMaps{UID: many, GID: full}).Validate(); err == nil || !strings.Contains(err.Error(), "at most 340") {
		t.Errorf("341 lines: %v", err)
	}
}

func TestHostAndContainerID(t *testing.T) {
	m := []specs.LinuxIDMapping{idm(0, 100000, 1000), idm(1000, 5000, 1)}
	for _, tt := range []struct {
		in, host uint32
		ok       bool
	}{{0, 100000, true}, {999, 100999, true}, {1000, 5000, true}, {1001, 0, false}} {
		h, ok := HostID(m, tt.in)
		if h != tt.host || ok != tt.ok {
			t.Errorf("HostID(%d) = %d, %v; want %d, %v", tt.in, h, ok, tt.host, tt.ok)
		}
		if ok {
			if c, cok := ContainerID(m, h); !cok || c != tt.in {
				t.Errorf("ContainerID(%d) = %d, %v; want %d", h, c, cok, tt.in)
			}
		}
	}
	if _, ok := ContainerID(m, 0); ok {
		t.Error("host root is mapped")
	}
}

func writeSub(t *testing.T, text string) string {
	p := filepath.Join(t.TempDir(), "sub")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPreflight(t *testing.T) {
	full := IDMaps{UID: []specs.LinuxIDMapping{idm(0, 100000, 65536)}, GID: []specs.LinuxIDMapping{idm(0, 100000, 65536)}}
	grants := "# ranges\nalice:100000:65536\nbob:200000:65536\n"
	tests := []struct {
		name           string
		subuid, subgid string
		maps           IDMaps
		wantErr        []string
	}{
		{name: "granted", subuid: grants, subgid: grants, maps: full},
		{name: "granted by uid number", subuid: "1000:100000:65536\n", subgid: grants, maps: full},
		{name: "own id needs no range", subuid: grants, subgid: grants,
			maps: IDMaps{UID: []specs.LinuxIDMapping{idm(0, 1000, 1), idm(1, 100000, 10)}, GID: []specs.LinuxIDMapping{idm(0, 1000, 1)}}},
		{name: "no subuid line", subuid: "bob:100000:65536\n", subgid: grants, maps: full,
			wantErr: []string{"subuid grants alice (1000) no range holding host uids 100000-165535", "alice:100000:65536", "usermod --add-subuids 100000-165535 alice"}},
		{name: "range too short", subuid: "alice:100000:1000\n", subgid: grants, maps: full, wantErr: []string{"subuid", "100000-165535"}},
		{name: "no subgid line", subuid: grants, subgid: "", maps: full, wantErr: []string{"subgid grants alice (1000) no range holding host gids", "usermod --add-subgids"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Caller{Name: "alice", UID: 1000, GID: 1000, SubUID: writeSub(t, tt.subuid), SubGID: writeSub(t, tt.subgid)}
			c.SubUID = renameTo(t, c.SubUID, "subuid")
			c.SubGID = renameTo(t, c.SubGID, "subgid")
			err := Preflight(c, tt.maps)
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatal("Preflight passed")
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q is not one line", err)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
	// A missing file grants nothing, and says so.
	err := Preflight(Caller{Name: "alice", UID: 1000, GID: 1000, SubUID: "/nonexistent/subuid", SubGID: "/nonexistent/subgid"}, full)
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/subuid grants alice") {
		t.Errorf("missing /etc/subuid: %v", err)
	}
}

func renameTo(t *testing.T, p, name string) string {
	np := filepath.Join(filepath.Dir(p), name)
	if err := os.Rename(p, np); err != nil {
		t.Fatal(err)
	}
	return np
}

func TestDefaultMaps(t *testing.T) {
	c := Caller{Name: "alice", UID: 1000, GID: 1000, SubUID: writeSub(t, "alice:100000:65536\nalice:300000:10\n"), SubGID: writeSub(t, "alice:200000:1000\n")}
	m, err := DefaultMaps(c)
	if err != nil {
		t.Fatal(err)
	}
	if !equalMaps(m.UID, []specs.LinuxIDMapping{idm(0, 100000, 65536)}) || !equalMaps(m.GID, []specs.LinuxIDMapping{idm(0, 200000, 1000)}) {
		t.Errorf("DefaultMaps = %+v", m)
	}
	c.SubGID = writeSub(t, "")
	if _, err := DefaultMaps(c); err == nil || !strings.Contains(err.Error(), "no -m map") {
		t.Errorf("no subgid range: %v", err)
	}
}

// TestWriteMapsAsRoot writes the maps of a process spawned in a user
// namespace of its own, as root does, and reads them back.
func TestWriteMapsAsRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	cmd := exec.Command("/bin/sleep", "10")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWUSER}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	m := IDMaps{UID: []specs.LinuxIDMapping{idm(0, 100000, 65536), idm(65536, 5000, 1)}, GID: []specs.LinuxIDMapping{idm(0, 100000, 65536)}}
	if err := WriteMaps(cmd.Process.Pid, m); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/uid_map")
	if err != nil {
		t.Fatal(err)
	}
	if f := strings.Fields(string(b)); strings.Join(f, " ") != "0 100000 65536 65536 5000 1" {
		t.Errorf("uid_map = %q", b)
	}
	// Written once: the kernel refuses a second map, and so WriteMaps.
	if err := WriteMaps(cmd.Process.Pid, m); err == nil {
		t.Error("second WriteMaps succeeded")
	}
}

func TestWithCaller(t *testing.T) {
	c := Caller{Name: "u", UID: 1000, GID: 1001}
	m := IDMaps{UID: []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}, GID: []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}}
	got := m.WithCaller(c)
	if len(got.UID) != 2 || got.UID[1] != (specs.LinuxIDMapping{ContainerID: 65536, HostID: 1000, Size: 1}) {
		t.Errorf("uid maps %v: want the caller's 1000 at 65536", got.UID)
	}
	if len(got.GID) != 2 || got.GID[1] != (specs.LinuxIDMapping{ContainerID: 65536, HostID: 1001, Size: 1}) {
		t.Errorf("gid maps %v: want the caller's 1001 at 65536", got.GID)
	}
	if len(m.UID) != 1 {
		t.Errorf("WithCaller changed its receiver's maps: %v", m.UID)
	}
	if err := got.Validate(); err != nil {
		t.Errorf("WithCaller's maps do not validate: %v", err)
	}
	// A caller whose ids the maps reach already is not mapped twice.
	c.UID, c.GID = 100005, 100005
	if got := m.WithCaller(c); len(got.UID) != 1 || len(got.GID) != 1 {
		t.Errorf("a caller mapped already got another line: %v %v", got.UID, got.GID)
	}
}

// TestParseMapFileSameMaps: the kernel's map text reads back as ranges,
// compared in any order; a bad line is refused.
func TestParseMapFileSameMaps(t *testing.T) {
	got, err := ParseMapFile("         0     100000      65536\n 65536 1000 1\n")
	if err != nil {
		t.Fatal(err)
	}
	want := []specs.LinuxIDMapping{{ContainerID: 65536, HostID: 1000, Size: 1}, {ContainerID: 0, HostID: 100000, Size: 65536}}
	if !SameMaps(got, want) {
		t.Fatalf("got %v", got)
	}
	if SameMaps(got, want[:1]) || SameMaps(got, []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100001, Size: 65536}, want[0]}) {
		t.Fatal("different maps compare the same")
	}
	if _, err := ParseMapFile("0 1\n"); err == nil {
		t.Fatal("a short line parsed")
	}
	if s := MapsText("u", want); s != "u 65536 1000 1, u 0 100000 65536" {
		t.Fatalf("MapsText = %q", s)
	}
}
