package cgroup

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// v2Fixture is a pure cgroup2 layout in a temporary tree.
func v2Fixture(t *testing.T) *Layout {
	t.Helper()
	root := t.TempDir()
	base := filepath.Join(root, "sys/fs/cgroup")
	mustWrite(t, filepath.Join(base, "cgroup.controllers"), "cpuset cpu io memory pids\n")
	l, err := ParseLayout(strings.NewReader(v2Mountinfo), strings.NewReader("0::/init.scope\n"), root)
	if err != nil {
		t.Fatal(err)
	}
	if l.Unified != base {
		t.Fatalf("Unified = %q, want %q", l.Unified, base)
	}
	return l
}

// v1Fixture is a v1 layout (comounted cpu,cpuacct; memory; blkio; pids)
// plus a unified mount when withUnified, in a temporary tree.
func v1Fixture(t *testing.T, withUnified bool) *Layout {
	t.Helper()
	root := t.TempDir()
	l := &Layout{LockDir: filepath.Join(root, "locks")}
	for _, c := range [][]string{{"cpu", "cpuacct"}, {"memory"}, {"blkio"}, {"pids"}} {
		dir := filepath.Join(root, strings.Join(c, ","))
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		l.V1 = append(l.V1, Hierarchy{Mount: dir, Base: dir, Controllers: c})
	}
	if withUnified {
		l.Unified = filepath.Join(root, "unified")
		if err := os.Mkdir(l.Unified, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return l
}

func mustWrite(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

func TestGroupPaths(t *testing.T) {
	l := v1Fixture(t, true)
	g := l.Group("lxc.payload.c1")
	want := map[string]string{
		"cpu":     filepath.Join(l.V1[0].Base, "lxc.payload.c1"),
		"cpuacct": filepath.Join(l.V1[0].Base, "lxc.payload.c1"),
		"memory":  filepath.Join(l.V1[1].Base, "lxc.payload.c1"),
		"blkio":   filepath.Join(l.V1[2].Base, "lxc.payload.c1"),
		"pids":    filepath.Join(l.V1[3].Base, "lxc.payload.c1"),
		"unified": filepath.Join(l.Unified, "lxc.payload.c1"),
	}
	if got := g.Paths(); !reflect.DeepEqual(got, want) {
		t.Errorf("Paths() = %v, want %v", got, want)
	}
	if g.Name() != "lxc.payload.c1" {
		t.Errorf("Name() = %q", g.Name())
	}
	for _, bad := range []string{"", ".", "..", "a/../b", "/a", "a//b", "x\x00"} {
		t.Run("bad name "+bad, func(t *testing.T) {
			g := l.Group(bad)
			if err := g.Destroy(); err == nil {
				t.Error("Destroy of an invalid name succeeded")
			}
			if len(g.Paths()) != 0 {
				t.Errorf("Paths() = %v for an invalid name", g.Paths())
			}
			if _, err := l.CreateGroup("", bad); err == nil {
				t.Error("CreateGroup of an invalid name succeeded")
			}
		})
	}
}

func TestCreateGroup(t *testing.T) {
	tests := []struct {
		name     string
		prepare  func(t *testing.T, l *Layout) // makes leftovers before CreateGroup
		wantName string
		wantErr  string
	}{
		{name: "fresh", wantName: "lxc.payload.c1"},
		{
			name: "stale empty dir is replaced",
			prepare: func(t *testing.T, l *Layout) {
				if err := os.Mkdir(filepath.Join(l.V1[1].Base, "lxc.payload.c1"), 0o755); err != nil {
					t.Fatal(err)
				}
			},
			wantName: "lxc.payload.c1",
		},
		{
			name: "busy dir in one hierarchy gives -1",
			prepare: func(t *testing.T, l *Layout) {
				// A non-empty directory fails rmdir as a populated cgroup does.
				mustWrite(t, filepath.Join(l.V1[2].Base, "lxc.payload.c1", "busy"), "")
			},
			wantName: "lxc.payload.c1-1",
		},
		{
			name: "busy name and -1 give -2",
			prepare: func(t *testing.T, l *Layout) {
				mustWrite(t, filepath.Join(l.Unified, "lxc.payload.c1", "busy"), "")
				mustWrite(t, filepath.Join(l.V1[0].Base, "lxc.payload.c1-1", "busy"), "")
			},
			wantName: "lxc.payload.c1-2",
		},
		{
			name: "mkdir failure in the last hierarchy undoes the others",
			prepare: func(t *testing.T, l *Layout) {
				// The pids hierarchy's base is a file: mkdir under it fails.
				if err := os.Remove(l.V1[3].Base); err != nil {
					t.Fatal(err)
				}
				mustWrite(t, l.V1[3].Base, "")
			},
			wantErr: "mkdir " + "PIDS/lxc.payload.c1: not a directory",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := v1Fixture(t, true)
			if tt.prepare != nil {
				tt.prepare(t, l)
			}
			before := snapshot(t, l)
			g, err := l.CreateGroup("lxc.payload.", "c1")
			if tt.wantErr != "" {
				want := strings.Replace(tt.wantErr, "PIDS", l.V1[3].Base, 1)
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Fatalf("err = %v, want %q", err, want)
				}
				if after := snapshot(t, l); !reflect.DeepEqual(after, before) {
					t.Errorf("left behind: before %v, after %v", before, after)
				}
				return
			}
			if err != nil {
				t.Fatalf("CreateGroup: %v", err)
			}
			if g.Name() != tt.wantName {
				t.Errorf("Name() = %q, want %q", g.Name(), tt.wantName)
			}
			for c, p := range g.Paths() {
				if fi, err := os.Stat(p); err != nil || !fi.IsDir() {
					t.Errorf("%s dir %s missing: %v", c, p, err)
				}
			}
			// What was busy is left alone.
			for _, p := range before {
				if !exists(p) {
					t.Errorf("%s removed", p)
				}
			}
			if err := g.Destroy(); err != nil {
				t.Fatalf("Destroy: %v", err)
			}
			for c, p := range g.Paths() {
				if exists(p) {
					t.Errorf("%s dir %s still there after Destroy", c, p)
				}
			}
		})
	}
}

// snapshot lists every path under the layout's bases.
func snapshot(t *testing.T, l *Layout) []string {
	t.Helper()
	var out []string
	var roots []string
	for _, h := range l.V1 {
		roots = append(roots, h.Base)
	}
	if l.Unified != "" {
		roots = append(roots, l.Unified)
	}
	for _, r := range roots {
		_ = filepath.Walk(r, func(p string, _ os.FileInfo, err error) error {
			if err == nil {
				out = append(out, p)
			}
			return nil
		})
	}
	return out
}

func TestCreateGroupAllSuffixesBusy(t *testing.T) {
	l := v2Fixture(t)
	for i := 0; i <= MaxSuffix; i++ {
		name := "lxc.monitor.c1"
		if i > 0 {
			name += "-" + strconv.Itoa(i)
		}
		mustWrite(t, filepath.Join(l.Unified, name, "busy"), "")
	}
	_, err := l.CreateGroup("lxc.monitor.", "c1")
	if err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("err = %v, want in use", err)
	}
}

// v2Group creates lxc.payload.c1 in a v2 fixture with the files the kernel
// would show.
func v2Group(t *testing.T) (*Layout, *Group) {
	t.Helper()
	l := v2Fixture(t)
	g, err := l.CreateGroup("lxc.payload.", "c1")
	if err != nil {
		t.Fatal(err)
	}
	dir := g.Paths()["unified"]
	for name, content := range map[string]string{
		"memory.max":     "max\n",
		"memory.current": "4096\n",
		"memory.stat":    "anon 0\nfile 0\nkernel 8192\nkernel_stack 0\n",
		"cpu.stat":       "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\n",
		"io.stat":        "8:0 rbytes=100 wbytes=20 rios=1 wios=1 dbytes=0 dios=0\n259:0 rbytes=3 wbytes=4 rios=1 wios=1 dbytes=7 dios=0\n",
		"cgroup.procs":   "12\n34\n",
		"cgroup.events":  "populated 1\nfrozen 0\n",
		"cgroup.freeze":  "0\n",
		"cgroup.kill":    "",
	} {
		mustWrite(t, filepath.Join(dir, name), content)
	}
	return l, g
}

func TestSetGetV2(t *testing.T) {
	_, g := v2Group(t)
	dir := g.Paths()["unified"]
	tests := []struct {
		name    string
		version int
		key     string
		value   string
		wantErr string
	}{
		{name: "memory.max", version: 2, key: "memory.max", value: "67108864"},
		{name: "missing file", version: 2, key: "pids.max", value: "10",
			wantErr: "set lxc.cgroup2.pids.max: write " + dir + "/pids.max: no such file or directory"},
		{name: "slash", version: 2, key: "../memory.max", value: "1", wantErr: `invalid cgroup key "../memory.max"`},
		{name: "dotdot", version: 2, key: "memory..max", value: "1", wantErr: "invalid cgroup key"},
		{name: "subdir", version: 2, key: "a/memory.max", value: "1", wantErr: "invalid cgroup key"},
		{name: "empty", version: 2, key: "", value: "1", wantErr: "invalid cgroup key"},
		{name: "v1 key on a v2 host", version: 1, key: "memory.limit_in_bytes", value: "1",
			wantErr: `set lxc.cgroup.memory.limit_in_bytes: no cgroup v1 hierarchy has controller "memory" for "memory.limit_in_bytes"`},
		{name: "bad version", version: 3, key: "memory.max", value: "1", wantErr: "unknown cgroup version 3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := g.Set(tt.version, tt.key, tt.value)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Set err = %v, want %q", err, tt.wantErr)
				}
				if _, err := g.Get(tt.version, tt.key); err == nil {
					t.Error("Get succeeded where Set failed")
				}
				return
			}
			if err != nil {
				t.Fatalf("Set: %v", err)
			}
			if got := mustRead(t, filepath.Join(dir, tt.key)); got != tt.value {
				t.Errorf("file = %q, want %q", got, tt.value)
			}
			got, err := g.Get(tt.version, tt.key)
			if err != nil || got != tt.value {
				t.Errorf("Get = %q, %v; want %q", got, err, tt.value)
			}
		})
	}
}

func TestSetGetV1(t *testing.T) {
	l := v1Fixture(t, false)
	g := l.Group("lxc.payload.c1")
	mem := filepath.Join(l.V1[1].Base, "lxc.payload.c1")
	cpu := filepath.Join(l.V1[0].Base, "lxc.payload.c1")
	mustWrite(t, filepath.Join(mem, "memory.limit_in_bytes"), "9223372036854771712\n")
	mustWrite(t, filepath.Join(cpu, "cpuacct.usage"), "0\n")
	tests := []struct {
		key, value, file, wantErr string
	}{
		{key: "memory.limit_in_bytes", value: "64M", file: filepath.Join(mem, "memory.limit_in_bytes")},
		{key: "cpuacct.usage", value: "0", file: filepath.Join(cpu, "cpuacct.usage")},
		{key: "foo.bar", value: "1", wantErr: `set lxc.cgroup.foo.bar: no cgroup v1 hierarchy has controller "foo" for "foo.bar"`},
		{key: "memory.max", value: "1", wantErr: "write " + filepath.Join(mem, "memory.max") + ": no such file or directory"},
		{key: "memory/../x", value: "1", wantErr: "invalid cgroup key"},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			err := g.Set(1, tt.key, tt.value)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Set err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := mustRead(t, tt.file); got != tt.value {
				t.Errorf("%s = %q, want %q", tt.file, got, tt.value)
			}
		})
	}
	if err := g.Set(2, "memory.max", "1"); err == nil || !strings.Contains(err.Error(), "no cgroup2 hierarchy") {
		t.Errorf("Set(2) on a v1 host: err = %v", err)
	}
}

func TestStats(t *testing.T) {
	t.Run("v2", func(t *testing.T) {
		_, g := v2Group(t)
		s, err := g.Stats()
		if err != nil {
			t.Fatal(err)
		}
		want := Stats{CPUNanos: 1500000, MemoryBytes: 4096, KMemBytes: 8192, BlkIOBytes: 127,
			HasCPU: true, HasMemory: true, HasKMem: true, HasBlkIO: true}
		if s != want {
			t.Errorf("Stats = %+v, want %+v", s, want)
		}
	})
	t.Run("v2 files missing", func(t *testing.T) {
		l := v2Fixture(t)
		g, err := l.CreateGroup("lxc.payload.", "c1")
		if err != nil {
			t.Fatal(err)
		}
		s, err := g.Stats()
		if err != nil || s != (Stats{}) {
			t.Errorf("Stats = %+v, %v; want zero, nil", s, err)
		}
	})
	t.Run("v1 with blkio fallback", func(t *testing.T) {
		l := v1Fixture(t, true)
		g, err := l.CreateGroup("lxc.payload.", "c1")
		if err != nil {
			t.Fatal(err)
		}
		p := g.Paths()
		mustWrite(t, filepath.Join(p["cpuacct"], "cpuacct.usage"), "123456789\n")
		mustWrite(t, filepath.Join(p["memory"], "memory.usage_in_bytes"), "1048576\n")
		mustWrite(t, filepath.Join(p["blkio"], "blkio.io_service_bytes"), "8:0 Read 10\n8:0 Write 5\n8:0 Total 15\nTotal 15\n")
		// cgroup2 files must not be used for controllers a v1 hierarchy has.
		mustWrite(t, filepath.Join(p["unified"], "cpu.stat"), "usage_usec 1\n")
		mustWrite(t, filepath.Join(p["unified"], "memory.current"), "1\n")
		s, err := g.Stats()
		if err != nil {
			t.Fatal(err)
		}
		want := Stats{CPUNanos: 123456789, MemoryBytes: 1048576, BlkIOBytes: 15,
			HasCPU: true, HasMemory: true, HasBlkIO: true}
		if s != want {
			t.Errorf("Stats = %+v, want %+v", s, want)
		}
		mustWrite(t, filepath.Join(p["blkio"], "blkio.throttle.io_service_bytes"), "Total 99\n")
		if s, err := g.Stats(); err != nil || s.BlkIOBytes != 99 {
			t.Errorf("with throttle file: Stats = %+v, %v; want BlkIOBytes 99", s, err)
		}
		// Swap accounting: memory+swap less memory, as lxc-ls's SWAP.
		mustWrite(t, filepath.Join(p["memory"], "memory.memsw.usage_in_bytes"), "1572864\n")
		if s, err := g.Stats(); err != nil || !s.HasSwap || s.SwapBytes != 524288 {
			t.Errorf("with memsw: Stats = %+v, %v; want HasSwap and SwapBytes 524288", s, err)
		}
	})
	t.Run("v2 swap", func(t *testing.T) {
		_, g := v2Group(t)
		mustWrite(t, filepath.Join(g.Paths()["unified"], "memory.swap.current"), "4096\n")
		if s, err := g.Stats(); err != nil || !s.HasSwap || s.SwapBytes != 4096 {
			t.Errorf("Stats = %+v, %v; want HasSwap and SwapBytes 4096", s, err)
		}
	})
	t.Run("garbage", func(t *testing.T) {
		_, g := v2Group(t)
		mustWrite(t, filepath.Join(g.Paths()["unified"], "memory.current"), "lots\n")
		if _, err := g.Stats(); err == nil || !strings.Contains(err.Error(), "memory.current") {
			t.Errorf("err = %v, want a parse error naming memory.current", err)
		}
	})
}

func TestFreezeV2(t *testing.T) {
	t.Run("frozen by the kernel", func(t *testing.T) {
		_, g := v2Group(t)
		dir := g.Paths()["unified"]
		// Play the kernel: once cgroup.freeze reads 1, report frozen.
		done := make(chan struct{})
		go func() {
			defer close(done)
			for i := 0; i < 500; i++ {
				if b, _ := os.ReadFile(filepath.Join(dir, "cgroup.freeze")); string(b) == "1" {
					_ = os.WriteFile(filepath.Join(dir, "cgroup.events"), []byte("populated 1\nfrozen 1\n"), 0o644)
					return
				}
				time.Sleep(2 * time.Millisecond)
			}
		}()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := g.Freeze(ctx); err != nil {
			t.Fatalf("Freeze: %v", err)
		}
		<-done
		if f, err := g.Frozen(); err != nil || !f {
			t.Errorf("Frozen() = %v, %v; want true", f, err)
		}
		if err := g.Thaw(); err != nil {
			t.Fatal(err)
		}
		if got := mustRead(t, filepath.Join(dir, "cgroup.freeze")); got != "0" {
			t.Errorf("cgroup.freeze after Thaw = %q, want 0", got)
		}
	})
	t.Run("never frozen: timeout thaws", func(t *testing.T) {
		_, g := v2Group(t)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
		defer cancel()
		err := g.Freeze(ctx)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Freeze err = %v, want deadline exceeded", err)
		}
		if got := mustRead(t, filepath.Join(g.Paths()["unified"], "cgroup.freeze")); got != "0" {
			t.Errorf("cgroup.freeze = %q after a failed freeze, want 0", got)
		}
	})
	t.Run("no freezer", func(t *testing.T) {
		l := v1Fixture(t, false)
		l.V1 = l.V1[:1]
		if err := l.Group("x").Freeze(context.Background()); err == nil {
			t.Error("Freeze without any freezer succeeded")
		}
	})
}

func TestFreezeV1Fixture(t *testing.T) {
	root := t.TempDir()
	l := &Layout{V1: []Hierarchy{{Mount: root, Base: root, Controllers: []string{"freezer"}}}}
	g := l.Group("lxc.payload.c1")
	state := filepath.Join(root, "lxc.payload.c1", "freezer.state")
	mustWrite(t, state, "THAWED\n")
	if err := g.Freeze(context.Background()); err != nil {
		t.Fatal(err)
	}
	if f, err := g.Frozen(); err != nil || !f {
		t.Errorf("Frozen() = %v, %v", f, err)
	}
	if err := g.Thaw(); err != nil {
		t.Fatal(err)
	}
	if got := mustRead(t, state); got != "THAWED" {
		t.Errorf("freezer.state = %q", got)
	}
}

func TestProcsPopulatedKillV2(t *testing.T) {
	_, g := v2Group(t)
	dir := g.Paths()["unified"]
	pids, err := g.Procs()
	if err != nil || !reflect.DeepEqual(pids, []int{12, 34}) {
		t.Errorf("Procs() = %v, %v", pids, err)
	}
	if p, err := g.Populated(); err != nil || !p {
		t.Errorf("Populated() = %v, %v", p, err)
	}
	if err := g.Kill(); err != nil {
		t.Fatal(err)
	}
	if got := mustRead(t, filepath.Join(dir, "cgroup.kill")); got != "1" {
		t.Errorf("cgroup.kill = %q, want 1", got)
	}
	// Without cgroup.kill it freezes, kills the listed pids, thaws; an
	// empty group ends it.
	mustWrite(t, filepath.Join(dir, "cgroup.procs"), "")
	mustWrite(t, filepath.Join(dir, "cgroup.events"), "populated 0\nfrozen 1\n")
	if err := os.Remove(filepath.Join(dir, "cgroup.kill")); err != nil {
		t.Fatal(err)
	}
	if err := g.Kill(); err != nil {
		t.Fatalf("Kill fallback: %v", err)
	}
	if got := mustRead(t, filepath.Join(dir, "cgroup.freeze")); got != "0" {
		t.Errorf("cgroup.freeze = %q after Kill, want 0", got)
	}
	if p, err := g.Populated(); err != nil || p {
		t.Errorf("Populated() = %v, %v; want false", p, err)
	}
}

func TestDestroyFixture(t *testing.T) {
	l := v1Fixture(t, true)
	g, err := l.CreateGroup("lxc.payload.", "c1")
	if err != nil {
		t.Fatal(err)
	}
	leftover := filepath.Join(g.Paths()["memory"], "memory.max")
	mustWrite(t, leftover, "")
	err = g.Destroy()
	if err == nil || !strings.Contains(err.Error(), "remove cgroup "+g.Paths()["memory"]) {
		t.Fatalf("Destroy err = %v, want one naming the memory dir", err)
	}
	for c, p := range g.Paths() {
		if c != "memory" && exists(p) {
			t.Errorf("%s dir %s not removed", c, p)
		}
	}
	if err := os.Remove(leftover); err != nil {
		t.Fatal(err)
	}
	if err := g.Destroy(); err != nil {
		t.Fatalf("second Destroy: %v", err)
	}
	if err := g.Destroy(); err != nil {
		t.Fatalf("Destroy of a removed group: %v", err)
	}
}

func TestEnableControllers(t *testing.T) {
	l := v2Fixture(t)
	p := filepath.Join(l.Unified, "cgroup.subtree_control")
	mustWrite(t, p, "cpu\n")
	if err := l.EnableControllers("cpu", "memory", "pids"); err != nil {
		t.Fatal(err)
	}
	if got := mustRead(t, p); got != "+memory +pids" {
		t.Errorf("subtree_control write = %q", got)
	}
	if err := l.EnableControllers("rdma"); err == nil {
		t.Error("enabling an unavailable controller succeeded")
	}
	if err := l.EnableControllers("-memory"); err == nil {
		t.Error("a name with a sign was accepted")
	}
}

func TestOpenUnified(t *testing.T) {
	_, g := v2Group(t)
	f, err := g.OpenUnified()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.IsDir() {
		t.Errorf("OpenUnified gave %v, %v; want a directory", fi, err)
	}
	l := v1Fixture(t, false)
	if _, err := l.Group("x").OpenUnified(); err == nil {
		t.Error("OpenUnified without cgroup2 succeeded")
	}
}
