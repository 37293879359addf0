package namespace

import (
	"errors"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// openFDs counts the descriptors open in this process's table.
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents) - 1 // ReadDir's own
}

// outputOf starts a child through start with its stdout on a pipe and
// returns what it wrote, and the pidfd asked for.
//
// For fdSizeOf, start runs sh printing the size of its own
// descriptor table: after an exec it is still the size of the table the
// clone copied (the close-on-exec ones are closed, the table is not
// shrunk).
func outputOf(t *testing.T, start func(attr *syscall.ProcAttr) (int, error)) (out string, pidfd int) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	null, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	pidfd = -1
	attr := &syscall.ProcAttr{
		Files: []uintptr{null.Fd(), w.Fd(), null.Fd()},
		Sys:   &syscall.SysProcAttr{PidFD: &pidfd},
	}
	if _, err := start(attr); err != nil {
		w.Close()
		t.Fatal(err)
	}
	w.Close()
	_ = r.SetReadDeadline(time.Now().Add(10 * time.Second))
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b), pidfd
}

// fdSizeOf is outputOf, trimmed.
func fdSizeOf(t *testing.T, start func(attr *syscall.ProcAttr) (int, error)) (size string, pidfd int) {
	t.Helper()
	out, pidfd := outputOf(t, start)
	return strings.TrimSpace(out), pidfd
}

var printFDSize = []string{"sh", "-c", `while read k v; do [ "$k" = FDSize: ] && echo "$v"; done < /proc/self/status`}

// pollerSetUp makes sure the Go runtime's poller exists before the
// table grows, as in a monitor (its listener).
func pollerSetUp(t *testing.T) {
	t.Helper()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	_ = pr.SetReadDeadline(time.Now().Add(time.Hour))
	t.Cleanup(func() { pr.Close(); pw.Close() })
}

// growTable opens /dev/null until a descriptor above past is open, as a
// shared monitor's table is; they are closed when the test ends.
func growTable(t *testing.T, past int) {
	t.Helper()
	var held []int
	t.Cleanup(func() {
		for _, fd := range held {
			unix.Close(fd)
		}
	})
	for {
		fd, err := unix.Open(os.DevNull, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, fd)
		if fd > past {
			return
		}
	}
}

func TestStartProcessFewFDs(t *testing.T) {
	pollerSetUp(t)

	sh := "/bin/sh"
	direct := func(attr *syscall.ProcAttr) (int, error) {
		pid, _, err := syscall.StartProcess(sh, printFDSize, attr)
		return pid, err
	}
	var fewOK bool
	few := func(attr *syscall.ProcAttr) (int, error) {
		pid, ok, err := StartProcessFewFDs(sh, printFDSize, attr, nil)
		fewOK = ok
		return pid, err
	}

	// A small table: not worth the detour, nothing done.
	if _, ok, _ := StartProcessFewFDs(sh, printFDSize, &syscall.ProcAttr{}, nil); ok {
		t.Fatal("a small table took the detour")
	}

	// A big one: a shared monitor's.
	growTable(t, 2*bigTableFD)
	before := openFDs(t)

	bigSize, pidfd := fdSizeOf(t, direct)
	unix.Close(pidfd)
	if n, err := strconv.Atoi(bigSize); err != nil || n <= 2*bigTableFD {
		t.Fatalf("a child cloned from the big table has FDSize %q: the test cannot tell the tables apart", bigSize)
	}
	size, pidfd := fdSizeOf(t, few)
	if !fewOK {
		t.Fatal("StartProcessFewFDs did not start the child from a big table")
	}
	// The private table: the 64 descriptors kept, and those brought in
	// above them when the low ones are all taken, as in a busy monitor.
	if size != "64" && size != "128" {
		t.Errorf("the child's table holds %s slots, want those of the private table (64 or 128); %s from the big one", size, bigSize)
	}
	// The pidfd came back into this table and is the child's.
	var info unix.Siginfo
	if err := unix.Waitid(unix.P_PIDFD, pidfd, &info, unix.WEXITED, nil); err != nil {
		t.Fatalf("waitid on the returned pidfd: %v", err)
	}
	unix.Close(pidfd)
	if after := openFDs(t); after != before {
		t.Errorf("%d descriptors open before, %d after: the detour leaks or closes some", before, after)
	}

	// Pdeathsig fires when the cloning thread exits: refused.
	for _, sys := range []*syscall.SysProcAttr{{Pdeathsig: syscall.SIGKILL}, {Ptrace: true}, {Foreground: true}} {
		if _, ok, _ := StartProcessFewFDs(sh, printFDSize, &syscall.ProcAttr{Sys: sys}, nil); ok {
			t.Errorf("%+v taken on a thread that exits at once", *sys)
		}
	}
	// A prepare that fails starts nothing.
	if _, ok, _ := StartProcessFewFDs(sh, printFDSize, &syscall.ProcAttr{}, func() error { return errors.New("no") }); ok {
		t.Error("a failed prepare did not stop the start")
	}

	// An exec failure is the caller's error, as syscall.StartProcess's.
	_, ok, err := StartProcessFewFDs("/nonexistent/golxc-test", []string{"x"}, &syscall.ProcAttr{Sys: &syscall.SysProcAttr{}}, nil)
	if !ok || err == nil {
		t.Errorf("exec of a missing file: ok %v, err %v; want ok and an error", ok, err)
	}
	if after := openFDs(t); after != before {
		t.Errorf("%d descriptors open before, %d after a failed exec", before, after)
	}
}

// capBnd reads the CapBnd line of a /proc status file.
func capBnd(status string) string {
	for _, line := range strings.Split(status, "\n") {
		if v, ok := strings.CutPrefix(line, "CapBnd:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// TestStartProcessFewFDsPrepare: prepare runs on the thread the child
// is cloned from, which is not the caller's: a capability it drops from
// that thread's bounding set is missing in the child, and still in the
// caller's thread.
func TestStartProcessFewFDsPrepare(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("dropping from the bounding set needs root (CAP_SETPCAP)")
	}
	pollerSetUp(t)
	growTable(t, bigTableFD)
	ran := false
	prepare := func() error {
		ran = true
		return unix.Prctl(unix.PR_CAPBSET_DROP, unix.CAP_SYS_MODULE, 0, 0, 0)
	}
	out, pidfd := outputOf(t, func(attr *syscall.ProcAttr) (int, error) {
		pid, ok, err := StartProcessFewFDs("/bin/cat", []string{"cat", "/proc/self/status"}, attr, prepare)
		if !ok && err == nil {
			err = errors.New("StartProcessFewFDs did not start the child from a big table")
		}
		return pid, err
	})
	defer unix.Close(pidfd)
	if !ran {
		t.Fatal("prepare did not run")
	}
	child, err := strconv.ParseUint(capBnd(string(out)), 16, 64)
	if err != nil {
		t.Fatalf("the child's CapBnd: %v\n%s", err, out)
	}
	if child&(1<<unix.CAP_SYS_MODULE) != 0 {
		t.Errorf("the child's bounding set %x still has CAP_SYS_MODULE, dropped by prepare", child)
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	self, err := os.ReadFile("/proc/thread-self/status")
	if err != nil {
		t.Fatal(err)
	}
	mine, err := strconv.ParseUint(capBnd(string(self)), 16, 64)
	if err != nil {
		t.Fatal(err)
	}
	if mine&(1<<unix.CAP_SYS_MODULE) == 0 {
		t.Errorf("the caller's thread lost CAP_SYS_MODULE: prepare ran on it")
	}
}
