package lxc

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/golxc/golxc/internal/cgroup"
)

func TestAttachedEnv(t *testing.T) {
	// The caller's environment, as lxc-attach would find it.
	caller := []string{"PATH=/host/bin", "HOME=/root", "TERM=xterm", "SECRET=s", "container=docker", "DUP=1", "DUP=2"}
	tests := []struct {
		name    string
		o       AttachOptions
		caller  []string
		confEnv []string
		want    []string // exactly, in order
	}{
		{name: "default keeps everything, container=lxc",
			want: []string{"PATH=/host/bin", "HOME=/root", "TERM=xterm", "SECRET=s", "container=lxc", "DUP=2"}},
		{name: "default without PATH adds none", caller: []string{"A=1"},
			want: []string{"A=1", "container=lxc"}},
		{name: "clear", o: AttachOptions{ClearEnv: true},
			want: []string{"PATH=" + defaultPath, "container=lxc"}},
		{name: "keep var only with clear", o: AttachOptions{KeepVars: []string{"SECRET"}},
			want: []string{"PATH=/host/bin", "HOME=/root", "TERM=xterm", "SECRET=s", "container=lxc", "DUP=2"}},
		{name: "clear keeps vars", o: AttachOptions{ClearEnv: true, KeepVars: []string{"SECRET", "MISSING", "DUP"}},
			want: []string{"SECRET=s", "DUP=2", "PATH=" + defaultPath, "container=lxc"}},
		{name: "clear keeps PATH", o: AttachOptions{ClearEnv: true, KeepVars: []string{"PATH"}},
			want: []string{"PATH=/host/bin", "container=lxc"}},
		{name: "clear keeps an absent PATH: the default", o: AttachOptions{ClearEnv: true, KeepVars: []string{"PATH"}}, caller: []string{"A=1"},
			want: []string{"PATH=" + defaultPath, "container=lxc"}},
		{name: "lxc.environment, then -v", o: AttachOptions{ClearEnv: true, SetVars: []string{"B=x=y", "container=mine"}},
			confEnv: []string{"A=conf", "B=conf", "TERM", "NOPE"},
			want:    []string{"PATH=" + defaultPath, "container=mine", "A=conf", "B=x=y", "TERM=xterm"}},
		{name: "-v sets PATH", o: AttachOptions{ClearEnv: true, SetVars: []string{"PATH=/x"}},
			want: []string{"PATH=/x", "container=lxc"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := caller
			if tt.caller != nil {
				c = tt.caller
			}
			if env := attachedEnv(tt.o, c, tt.confEnv); !reflect.DeepEqual(env, tt.want) {
				t.Errorf("attachedEnv(%+v)\n got %q\nwant %q", tt.o, env, tt.want)
			}
		})
	}
}

func TestFindInPath(t *testing.T) {
	d1, d2, cwd := t.TempDir(), t.TempDir(), t.TempDir()
	write := func(p string, mode os.FileMode) {
		t.Helper()
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil { // past the umask
			t.Fatal(err)
		}
	}
	write(filepath.Join(d1, "exe"), 0o755)
	write(filepath.Join(d2, "exe"), 0o755) // shadowed by d1's
	write(filepath.Join(d2, "exe2"), 0o700)
	write(filepath.Join(d1, "noexec"), 0o644)
	write(filepath.Join(d1, "later"), 0o644)
	write(filepath.Join(d2, "later"), 0o755)
	write(filepath.Join(cwd, "local"), 0o755)
	if err := os.Mkdir(filepath.Join(d1, "adir"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(cwd)
	path := []string{"PATH=" + d1 + ":" + d2}

	tests := []struct {
		name     string
		cmd      string
		env      []string
		want     string
		wantCode int // 0: found
	}{
		{name: "first dir", cmd: "exe", env: path, want: filepath.Join(d1, "exe")},
		{name: "second dir", cmd: "exe2", env: path, want: filepath.Join(d2, "exe2")},
		{name: "non-executable skipped for a later one", cmd: "later", env: path, want: filepath.Join(d2, "later")},
		{name: "missing", cmd: "nope", env: path, wantCode: 127},
		{name: "non-executable", cmd: "noexec", env: path, wantCode: 126},
		{name: "last PATH wins", cmd: "exe2", env: []string{"PATH=" + d1, "PATH=" + d2}, want: filepath.Join(d2, "exe2")},
		{name: "no PATH in env: the container's default", cmd: "exe", env: []string{"HOME=/"}, wantCode: 127},
		{name: "absolute", cmd: filepath.Join(d2, "exe2"), env: path, want: filepath.Join(d2, "exe2")},
		{name: "absolute non-executable", cmd: filepath.Join(d1, "noexec"), env: path, wantCode: 126},
		{name: "absolute missing", cmd: filepath.Join(d1, "gone"), env: path, wantCode: 127},
		{name: "absolute directory", cmd: d1, env: path, wantCode: 126},
		{name: "relative with slash", cmd: "./local", env: path, want: "./local"},
		{name: "relative not on PATH", cmd: "local", env: path, wantCode: 127},
		// sh(1) (bash and dash alike) looks past a directory on PATH: the
		// command is not found, not "cannot execute".
		{name: "directory on PATH", cmd: "adir", env: path, wantCode: 127},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := findInPath(tt.cmd, tt.env)
			if tt.wantCode == 0 {
				if err != nil || got != tt.want {
					t.Fatalf("findInPath(%q) = %q, %v; want %q", tt.cmd, got, err, tt.want)
				}
				return
			}
			var ae *AttachError
			if !errors.As(err, &ae) {
				t.Fatalf("findInPath(%q) = %q, %v; want an AttachError with code %d", tt.cmd, got, err, tt.wantCode)
			}
			if ae.Code != tt.wantCode {
				t.Errorf("findInPath(%q) code %d (%v), want %d", tt.cmd, ae.Code, err, tt.wantCode)
			}
			if !strings.Contains(err.Error(), tt.cmd) {
				t.Errorf("error %q does not name %s", err, tt.cmd)
			}
		})
	}

	t.Run("default PATH finds sh", func(t *testing.T) {
		got, err := findInPath("sh", nil)
		if err != nil || filepath.Base(got) != "sh" || !filepath.IsAbs(got) {
			t.Errorf("findInPath(sh, no PATH) = %q, %v; want an absolute .../sh", got, err)
		}
	})
}

func TestAttachErrorUnwrap(t *testing.T) {
	inner := errors.New("inner")
	e := &AttachError{Code: 126, Err: inner}
	if !errors.Is(e, inner) || e.Error() != "inner" {
		t.Errorf("AttachError does not wrap its error: %v", e)
	}
}

func TestPasswdEntry(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "passwd")
	if err := os.WriteFile(good, []byte("root:x:0:0:root:/root:/bin/sh\nu:x:1000:1000::/home/u:/nonexistent/shell\nv:x:1001:1001::/home/v:/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := unix.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	// The entry is past the bound: not read.
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, append(make([]byte, passwdMax), "w:x:1002:1002::/home/w:/bin/sh\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		file             string
		uid              int
		wantHome, wantSh string
	}{
		{good, 1001, "/home/v", "/bin/sh"},
		{good, 1000, "/home/u", "/bin/sh"}, // a shell that does not exist is not used
		{good, 4242, "/", "/bin/sh"},
		{fifo, 0, "/root", "/bin/sh"}, // returns at once, without a writer
		{big, 1002, "/", "/bin/sh"},
		{dir, 0, "/root", "/bin/sh"},
	} {
		done := make(chan struct{})
		var home, shell string
		go func() {
			defer close(done)
			pfd, err := unix.Open(c.file, unix.O_PATH|unix.O_CLOEXEC, 0)
			if err != nil {
				t.Error(err)
				return
			}
			defer unix.Close(pfd)
			home, shell = passwdEntry(readRegular(pfd, passwdMax), c.uid, func(p string) bool {
				_, err := os.Stat(p)
				return err == nil
			})
		}()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("reading %s for uid %d hangs", c.file, c.uid)
		}
		if home != c.wantHome || shell != c.wantSh {
			t.Errorf("%s, uid %d: %q, %q; want %q, %q", c.file, c.uid, home, shell, c.wantHome, c.wantSh)
		}
	}
}

// openAttachCgroups hands the helper one tasks file per v1 hierarchy,
// in a fixed order, and the cgroup2 directory apart; a layout the group
// is not in everywhere is refused rather than leaving the command
// outside a hierarchy.
func TestOpenAttachCgroups(t *testing.T) {
	root := t.TempDir()
	mk := func(p ...string) string {
		d := filepath.Join(append([]string{root}, p...)...)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	layout := &cgroup.Layout{
		V1: []cgroup.Hierarchy{
			{Mount: mk("memory"), Base: mk("memory"), Controllers: []string{"memory"}},
			{Mount: mk("cpu,cpuacct"), Base: mk("cpu,cpuacct"), Controllers: []string{"cpu", "cpuacct"}},
			{Mount: mk("systemd"), Base: mk("systemd"), Controllers: []string{"name=systemd"}},
		},
		Unified: mk("unified"),
	}
	for _, h := range layout.V1 {
		if err := os.WriteFile(filepath.Join(mk(filepath.Base(h.Base), "lxc.payload.c1"), "tasks"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	unifiedDir := mk("unified", "lxc.payload.c1")
	tasks, unified, err := openAttachCgroups(layout, layout.Group("lxc.payload.c1"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range tasks {
		got = append(got, f.Name())
		f.Close()
	}
	want := []string{
		filepath.Join(root, "cpu,cpuacct/lxc.payload.c1/tasks"),
		filepath.Join(root, "memory/lxc.payload.c1/tasks"),
		filepath.Join(root, "systemd/lxc.payload.c1/tasks"),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("tasks files %q, want %q", got, want)
	}
	if unified == nil || unified.Name() != unifiedDir {
		t.Errorf("cgroup2 directory %v, want %s", unified, unifiedDir)
	}
	unified.Close()

	// A v1 hierarchy without a controller name has no entry in the
	// group's paths: refused.
	bad := *layout
	bad.V1 = append(append([]cgroup.Hierarchy(nil), layout.V1...), cgroup.Hierarchy{Mount: mk("none"), Base: mk("none")})
	if _, _, err := openAttachCgroups(&bad, bad.Group("lxc.payload.c1")); err == nil || !strings.Contains(err.Error(), "not in every cgroup hierarchy") {
		t.Errorf("a hierarchy the group is not in: %v", err)
	}
	// A tasks file that is not there fails the attach, naming it.
	if err := os.Remove(want[1]); err != nil {
		t.Fatal(err)
	}
	if _, _, err := openAttachCgroups(layout, layout.Group("lxc.payload.c1")); err == nil || !strings.Contains(err.Error(), want[1]) {
		t.Errorf("a missing tasks file: %v", err)
	}
}

// A helper launched early is taken only for the cgroup it was born in;
// otherwise it is ended (killed: it has not reported, and may have been
// born frozen) and waited for, and a fresh one is launched.
func TestEarlyHelperTake(t *testing.T) {
	layout := &cgroup.Layout{Unified: t.TempDir()}
	start := func() *attachHelper {
		t.Helper()
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		r.Close()
		cr, cw, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		cw.Close()
		cmd := exec.Command("sleep", "60")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return &attachHelper{c: &Container{Name: "c1"}, cmd: cmd, ctl: cr, reqW: w}
	}
	done := make(chan struct{})
	close(done)

	h := start()
	proc := h.cmd.Process
	e := &earlyHelper{group: "lxc.payload.c1", done: done, h: h}
	if got := e.take(layout.Group("lxc.payload.c1-2")); got != nil {
		t.Fatal("a helper born in another cgroup was taken")
	}
	if h.cmd != nil {
		t.Error("the helper not taken was not waited for")
	}
	if err := proc.Signal(syscall.Signal(0)); err == nil {
		t.Error("the helper not taken still runs")
	}
	e.close() // nothing left to end

	h = start()
	e = &earlyHelper{group: "lxc.payload.c1", done: done, h: h}
	if got := e.take(layout.Group("lxc.payload.c1")); got != h {
		t.Fatal("the helper born in the group asked for was not taken")
	}
	e.close()
	if h.cmd == nil {
		t.Error("a taken helper was ended by its early launch's close")
	}
	h.close()
	if h.cmd != nil {
		t.Error("close did not wait for the helper")
	}
	if got := (&earlyHelper{}).take(layout.Group("lxc.payload.c1")); got != nil {
		t.Error("no early launch, yet a helper was taken")
	}
}
