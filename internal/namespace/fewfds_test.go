package namespace

import (
	"io"
	"os"
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

// fdSizeOf starts sh through start, which prints the size of its own
// descriptor table: after an exec it is still the size of the table the
// clone copied (the close-on-exec ones are closed, the table is not
// shrunk).
func fdSizeOf(t *testing.T, start func(attr *syscall.ProcAttr) (int, error)) (size string, pidfd int) {
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
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out)), pidfd
}

var printFDSize = []string{"sh", "-c", `while read k v; do [ "$k" = FDSize: ] && echo "$v"; done < /proc/self/status`}

func TestStartProcessFewFDs(t *testing.T) {
	// The Go runtime's poller is set up before the table grows, as in a
	// monitor (its listener).
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	_ = pr.SetReadDeadline(time.Now().Add(time.Hour))
	defer pr.Close()
	defer pw.Close()

	sh := "/bin/sh"
	direct := func(attr *syscall.ProcAttr) (int, error) {
		pid, _, err := syscall.StartProcess(sh, printFDSize, attr)
		return pid, err
	}
	var fewOK bool
	few := func(attr *syscall.ProcAttr) (int, error) {
		pid, ok, err := StartProcessFewFDs(sh, printFDSize, attr)
		fewOK = ok
		return pid, err
	}

	// A small table: not worth the detour, nothing done.
	if _, ok, _ := StartProcessFewFDs(sh, printFDSize, &syscall.ProcAttr{}); ok {
		t.Fatal("a small table took the detour")
	}

	// A big one: a shared monitor's.
	var held []int
	defer func() {
		for _, fd := range held {
			unix.Close(fd)
		}
	}()
	for {
		fd, err := unix.Open(os.DevNull, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, fd)
		if fd > 2*bigTableFD {
			break
		}
	}
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
	attr := &syscall.ProcAttr{Sys: &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}}
	if _, ok, _ := StartProcessFewFDs(sh, printFDSize, attr); ok {
		t.Error("Pdeathsig taken on a thread that exits at once")
	}

	// An exec failure is the caller's error, as syscall.StartProcess's.
	_, ok, err := StartProcessFewFDs("/nonexistent/golxc-test", []string{"x"}, &syscall.ProcAttr{Sys: &syscall.SysProcAttr{}})
	if !ok || err == nil {
		t.Errorf("exec of a missing file: ok %v, err %v; want ok and an error", ok, err)
	}
	if after := openFDs(t); after != before {
		t.Errorf("%d descriptors open before, %d after a failed exec", before, after)
	}
}
