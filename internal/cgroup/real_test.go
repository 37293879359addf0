package cgroup

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The tests below use the host's real cgroups. They only make cgroups
// named lxc.payload.golxctest-<random> (or lxc.monitor.), at the top of
// each hierarchy, and only signal processes they started.

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("needs root")
		}
		t.Skip("needs root")
	}
}

func testName(t *testing.T) string {
	t.Helper()
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "golxctest-" + hex.EncodeToString(b)
}

// realGroup detects the host and creates a test group, removed at cleanup
// after killing anything left in it.
func realGroup(t *testing.T, prefix string) (*Layout, *Group) {
	t.Helper()
	needRoot(t)
	l, err := Detect()
	if err != nil {
		t.Fatalf("Detect: %v", err)
	}
	start := time.Now()
	g, err := l.CreateGroup(prefix, testName(t))
	if err != nil {
		t.Fatalf("CreateGroup: %v", err)
	}
	t.Logf("CreateGroup %s: %v", g.Name(), time.Since(start))
	t.Cleanup(func() { cleanupGroup(t, g) })
	return l, g
}

func cleanupGroup(t *testing.T, g *Group) {
	if !strings.Contains(g.Name(), "golxctest-") {
		t.Errorf("refusing to clean up %q", g.Name())
		return
	}
	if err := g.Kill(); err != nil {
		t.Errorf("cleanup kill: %v", err)
	}
	if err := g.Destroy(); err != nil {
		t.Errorf("cleanup destroy: %v", err)
	}
}

// startSleep starts `sleep 60`, killed and reaped at cleanup. The returned
// channel is closed once it has exited and been reaped.
func startSleep(t *testing.T, attr *syscall.SysProcAttr) (*exec.Cmd, <-chan struct{}) {
	t.Helper()
	cmd := exec.Command("sleep", "60")
	cmd.SysProcAttr = attr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start sleep: %v", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = unix.Kill(cmd.Process.Pid, unix.SIGKILL)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			t.Errorf("sleep %d did not exit", cmd.Process.Pid)
		}
	})
	return cmd, exited
}

// procCgroups maps each hierarchy line of /proc/PID/cgroup ("memory",
// "name=systemd", "" for cgroup2) to its path.
func procCgroups(t *testing.T, pid int) map[string]string {
	t.Helper()
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) == 3 {
			m[parts[1]] = parts[2]
		}
	}
	return m
}

// checkInGroup asserts that pid is in g in every hierarchy of l.
func checkInGroup(t *testing.T, l *Layout, g *Group, pid int) {
	t.Helper()
	cg := procCgroups(t, pid)
	want := len(l.V1)
	if l.Unified != "" {
		want++
	}
	if len(cg) != want {
		t.Errorf("/proc/%d/cgroup has %d hierarchies, layout %d: %v", pid, len(cg), want, cg)
	}
	for h, p := range cg {
		if filepath.Base(p) != g.Name() {
			t.Errorf("pid %d in hierarchy %q is at %q, want .../%s", pid, h, p, g.Name())
		}
	}
}

func TestRealDetect(t *testing.T) {
	needRoot(t)
	l, err := Detect()
	if err != nil {
		t.Fatal(err)
	}
	if l.Mode() == "" {
		t.Fatal("Mode() is empty on a host with cgroups")
	}
	t.Logf("mode %s, unified %q %v, %d v1 hierarchies", l.Mode(), l.Unified, l.UnifiedControllers, len(l.V1))
	for _, h := range l.V1 {
		if fi, err := os.Stat(h.Base); err != nil || !fi.IsDir() {
			t.Errorf("v1 %v base %s: %v", h.Controllers, h.Base, err)
		}
		if !strings.HasPrefix(h.Base, h.Mount) {
			t.Errorf("v1 %v base %s outside mount %s", h.Controllers, h.Base, h.Mount)
		}
		if _, err := os.Stat(filepath.Join(h.Base, "cgroup.procs")); err != nil {
			t.Errorf("v1 %v: %v", h.Controllers, err)
		}
	}
	if l.Unified != "" {
		if _, err := os.Stat(filepath.Join(l.Unified, "cgroup.procs")); err != nil {
			t.Errorf("unified: %v", err)
		}
	}
	if l.Mode() != "v2" && l.V1For("memory") == nil {
		t.Error("no v1 memory hierarchy")
	}
}

func TestRealLifecycle(t *testing.T) {
	l, g := realGroup(t, "lxc.payload.")
	for c, p := range g.Paths() {
		if fi, err := os.Stat(p); err != nil || !fi.IsDir() {
			t.Fatalf("%s: %s missing: %v", c, p, err)
		}
	}
	if l.V1For("cpuset") != nil {
		if v, err := g.Get(1, "cpuset.cpus"); err != nil || v == "" {
			t.Errorf("cpuset.cpus = %q, %v; want it copied from the parent", v, err)
		}
	}

	cmd, done := startSleep(t, nil)
	pid := cmd.Process.Pid
	start := time.Now()
	if err := g.Enter(pid); err != nil {
		t.Fatalf("Enter: %v", err)
	}
	t.Logf("Enter: %v", time.Since(start))
	checkInGroup(t, l, g, pid)
	if pids, err := g.Procs(); err != nil || !slices.Equal(pids, []int{pid}) {
		t.Errorf("Procs() = %v, %v; want [%d]", pids, err, pid)
	}
	if p, err := g.Populated(); err != nil || !p {
		t.Errorf("Populated() = %v, %v", p, err)
	}

	if l.V1For("memory") != nil {
		t.Run("v1 limits", func(t *testing.T) {
			tests := []struct{ key, value, want string }{
				{"memory.limit_in_bytes", "64M", "67108864"},
				{"pids.max", "10", "10"},
			}
			for _, tt := range tests {
				if err := g.Set(1, tt.key, tt.value); err != nil {
					t.Fatalf("Set: %v", err)
				}
				if got, err := g.Get(1, tt.key); err != nil || got != tt.want {
					t.Errorf("Get(%s) = %q, %v; want %q", tt.key, got, err, tt.want)
				}
			}
			err := g.Set(1, "memory.limit_in_bytes", "lots")
			want := "set lxc.cgroup.memory.limit_in_bytes: write " + g.Paths()["memory"] + "/memory.limit_in_bytes: invalid argument"
			if err == nil || err.Error() != want {
				t.Errorf("bad value: err = %v, want %q", err, want)
			}
		})
	}

	s, err := g.Stats()
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	t.Logf("stats %+v", s)
	if !s.HasCPU || !s.HasMemory {
		t.Errorf("Stats = %+v, want HasCPU and HasMemory", s)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start = time.Now()
	if err := g.Freeze(ctx); err != nil {
		t.Fatalf("Freeze: %v", err)
	}
	t.Logf("Freeze: %v", time.Since(start))
	if f, err := g.Frozen(); err != nil || !f {
		t.Errorf("Frozen() = %v, %v after Freeze", f, err)
	}
	if err := g.Thaw(); err != nil {
		t.Fatalf("Thaw: %v", err)
	}
	if f, err := g.Frozen(); err != nil || f {
		t.Errorf("Frozen() = %v, %v after Thaw", f, err)
	}

	if err := g.Kill(); err != nil {
		t.Fatalf("Kill: %v", err)
	}
	select {
	case <-done:
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
			t.Errorf("sleep ended with %v, want SIGKILL", cmd.ProcessState)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("sleep still running 5s after Kill")
	}
	if err := g.Destroy(); err != nil {
		t.Fatalf("Destroy: %v", err)
	}
	for c, p := range g.Paths() {
		if exists(p) {
			t.Errorf("%s: %s still there after Destroy", c, p)
		}
	}
}

// TestRealV1Paths drives the v1 freezer and the freeze-kill-thaw loop by
// looking at a hybrid host's group without its cgroup2 part.
func TestRealV1Paths(t *testing.T) {
	l, g := realGroup(t, "lxc.payload.")
	if l.V1For("freezer") == nil {
		t.Skip("no v1 freezer")
	}
	v1only := *l
	v1only.Unified = ""
	g1 := v1only.Group(g.Name())

	cmd, done := startSleep(t, nil)
	pid := cmd.Process.Pid
	if err := g.Enter(pid); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := g1.Freeze(ctx); err != nil {
		t.Fatalf("v1 Freeze: %v", err)
	}
	if f, err := g1.Frozen(); err != nil || !f {
		t.Errorf("v1 Frozen() = %v, %v", f, err)
	}
	if st := procState(t, pid); st != "S" && st != "D" {
		t.Errorf("frozen pid %d state %q", pid, st)
	}
	if err := g1.Thaw(); err != nil {
		t.Fatal(err)
	}
	if f, err := g1.Frozen(); err != nil || f {
		t.Errorf("v1 Frozen() = %v, %v after Thaw", f, err)
	}
	if err := g1.Kill(); err != nil {
		t.Fatalf("v1 Kill: %v", err)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("sleep still running 5s after v1 Kill")
	}
	if pids, err := g1.Procs(); err != nil || len(pids) != 0 {
		t.Errorf("Procs() = %v, %v after Kill", pids, err)
	}
}

func procState(t *testing.T, pid int) string {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "State:"); ok {
			f := strings.Fields(v)
			if len(f) > 0 {
				return f[0]
			}
		}
	}
	return ""
}

// TestRealEnterThread moves one locked OS thread into the v1 hierarchies,
// then forks from it with CLONE_INTO_CGROUP for cgroup2, as attach does.
func TestRealEnterThread(t *testing.T) {
	l, g := realGroup(t, "lxc.monitor.")
	if len(l.V1) == 0 {
		t.Skip("no v1 hierarchy")
	}
	type result struct {
		tid   int
		tasks map[string][]int
		cmd   *exec.Cmd
		err   error
	}
	// work runs on a locked thread that is never unlocked: the thread, now
	// in the test's cgroups, ends with the goroutine.
	work := func() result {
		tid := unix.Gettid()
		r := result{tid: tid, tasks: map[string][]int{}}
		if r.err = g.EnterThread(tid); r.err != nil {
			return r
		}
		for c, p := range g.Paths() {
			if c == "unified" {
				continue
			}
			s, err := readFile(filepath.Join(p, "tasks"))
			if err != nil {
				r.err = err
				return r
			}
			for _, f := range strings.Fields(s) {
				n, _ := strconv.Atoi(f)
				r.tasks[c] = append(r.tasks[c], n)
			}
		}
		attr := &syscall.SysProcAttr{}
		if l.Unified != "" {
			f, err := g.OpenUnified()
			if err != nil {
				r.err = err
				return r
			}
			defer f.Close()
			attr.UseCgroupFD = true
			attr.CgroupFD = int(f.Fd())
		}
		r.cmd = exec.Command("sleep", "60")
		r.cmd.SysProcAttr = attr
		if r.err = r.cmd.Start(); r.err != nil {
			r.cmd = nil
		}
		return r
	}
	res := make(chan result)
	go func() {
		runtime.LockOSThread()
		if unix.Gettid() != unix.Getpid() {
			res <- work()
			return
		}
		// The main thread is parked, not ended, when its goroutine exits
		// locked. Hold it so that the worker gets another thread.
		inner := make(chan result)
		go func() {
			runtime.LockOSThread()
			inner <- work()
		}()
		r := <-inner
		runtime.UnlockOSThread()
		res <- r
	}()
	r := <-res
	if r.cmd != nil {
		pid := r.cmd.Process.Pid
		t.Cleanup(func() {
			_ = unix.Kill(pid, unix.SIGKILL)
			_ = r.cmd.Wait()
		})
	}
	if r.err != nil {
		t.Fatalf("thread %d: %v", r.tid, r.err)
	}
	if r.tid == unix.Getpid() {
		t.Fatal("worker ran on the main thread")
	}
	want := len(g.Paths())
	if l.Unified != "" {
		want--
	}
	if len(r.tasks) != want {
		t.Errorf("tasks read for %d v1 controllers, want %d", len(r.tasks), want)
	}
	for c, tids := range r.tasks {
		if !slices.Equal(tids, []int{r.tid}) {
			t.Errorf("%s tasks = %v, want only thread %d", c, tids, r.tid)
		}
	}
	checkInGroup(t, l, g, r.cmd.Process.Pid)
}

// TestRealCreateGroupSuffix: a stale empty group (its creator gone: no one
// holds its name) is reused; a live one, even empty, is never taken over
// (the caller gets name-1); a populated stale one gives name-1 too.
func TestRealCreateGroupSuffix(t *testing.T) {
	l, g := realGroup(t, "lxc.payload.")
	name := strings.TrimPrefix(g.Name(), "lxc.payload.")
	inode := dirInodes(t, g)
	other, err := l.CreateGroup("lxc.payload.", name)
	if err != nil {
		t.Fatalf("CreateGroup over a live empty group: %v", err)
	}
	t.Cleanup(func() { cleanupGroup(t, other) })
	if other.Name() != g.Name()+"-1" {
		t.Errorf("live empty group: got %q, want %q", other.Name(), g.Name()+"-1")
	}
	if now := dirInodes(t, g); !maps.Equal(now, inode) {
		t.Errorf("live group %s was replaced: directories %v, were %v", g.Name(), now, inode)
	}

	// A crashed creator leaves its directories and no lock.
	stale := testName(t)
	for _, p := range l.Group("lxc.payload." + stale).dirs() {
		if err := os.Mkdir(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	again, err := l.CreateGroup("lxc.payload.", stale)
	if err != nil {
		t.Fatalf("CreateGroup over a stale empty group: %v", err)
	}
	t.Cleanup(func() { cleanupGroup(t, again) })
	if again.Name() != "lxc.payload."+stale {
		t.Errorf("stale group: got %q, want %q", again.Name(), "lxc.payload."+stale)
	}

	// Stale but populated: its lock is free, its directory is not.
	cmd, _ := startSleep(t, nil)
	if err := again.Enter(cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	again.lock.release()
	g2, err := l.CreateGroup("lxc.payload.", stale)
	if err != nil {
		t.Fatalf("CreateGroup over a populated group: %v", err)
	}
	t.Cleanup(func() { cleanupGroup(t, g2) })
	if g2.Name() != again.Name()+"-1" {
		t.Errorf("populated group: got %q, want %q", g2.Name(), again.Name()+"-1")
	}
	checkInGroup(t, l, again, cmd.Process.Pid)

	// Once its holder destroys it, the name is free again.
	if err := g.Destroy(); err != nil {
		t.Fatal(err)
	}
	g3, err := l.CreateGroup("lxc.payload.", name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cleanupGroup(t, g3) })
	if g3.Name() != g.Name() {
		t.Errorf("after Destroy: got %q, want %q", g3.Name(), g.Name())
	}
}

// dirInodes maps each of g's directories to its inode: a directory removed
// and made again has a new one.
func dirInodes(t *testing.T, g *Group) map[string]uint64 {
	t.Helper()
	m := map[string]uint64{}
	for _, p := range g.dirs() {
		var st unix.Stat_t
		if err := unix.Stat(p, &st); err != nil {
			t.Fatalf("stat %s: %v", p, err)
		}
		m[p] = st.Ino
	}
	return m
}

// TestRealEventsPollWakes checks what Freeze's wait rests on: a poll(2) on
// cgroup.events, armed by a read of the same open file, sleeps while
// nothing changes and is woken with POLLPRI when the group freezes and
// thaws. Without the arming read, or on a file the kernel does not
// notify, the poll would only ever end by its timeout.
func TestRealEventsPollWakes(t *testing.T) {
	l, g := realGroup(t, "lxc.payload.")
	if l.Unified == "" {
		t.Skip("no cgroup2 hierarchy")
	}
	dir := g.Paths()["unified"]
	if _, err := os.Stat(filepath.Join(dir, "cgroup.freeze")); err != nil {
		t.Skipf("kernel without cgroup.freeze: %v", err)
	}
	cmd, _ := startSleep(t, nil)
	if err := g.Enter(cmd.Process.Pid); err != nil {
		t.Fatalf("Enter: %v", err)
	}
	fd, err := unix.Open(filepath.Join(dir, "cgroup.events"), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	pollPri := func(ms int) bool {
		t.Helper()
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLPRI}}
		n, err := unix.Poll(pfd, ms)
		if err != nil {
			t.Fatalf("poll: %v", err)
		}
		return n == 1 && pfd[0].Revents&unix.POLLPRI != 0
	}
	armKernfs(fd)
	if pollPri(0) {
		t.Fatal("POLLPRI on an armed cgroup.events before any change")
	}
	for _, v := range []string{"1", "0"} {
		if err := os.WriteFile(filepath.Join(dir, "cgroup.freeze"), []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
		if !pollPri(5000) {
			t.Fatalf("no POLLPRI within 5 s after cgroup.freeze = %s", v)
		}
		armKernfs(fd)
		want := "frozen " + v
		if ev := mustRead(t, filepath.Join(dir, "cgroup.events")); !strings.Contains(ev, want) {
			t.Errorf("cgroup.events = %q after the wake-up, want %q", ev, want)
		}
	}
}
