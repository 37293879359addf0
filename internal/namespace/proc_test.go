package namespace

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestOpenProc(t *testing.T) {
	cmd := exec.Command("/bin/sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Skip(err)
	}
	pidfd, err := unix.PidfdOpen(cmd.Process.Pid, 0)
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		t.Skipf("pidfd_open: %v", err)
	}
	defer unix.Close(pidfd)
	p, err := OpenProc(pidfd)
	if err != nil {
		t.Fatal(err)
	}
	st, err := p.ReadFile("status", 1<<20)
	p.Close()
	if want := fmt.Sprintf("\nPid:\t%d\n", cmd.Process.Pid); err != nil || !strings.Contains(string(st), want) {
		t.Errorf("status through OpenProc: %v, want it to contain %q\n%s", err, want, st)
	}
	if p.Pid != cmd.Process.Pid {
		t.Errorf("OpenProc's Pid %d, want %d", p.Pid, cmd.Process.Pid)
	}
	cmd.Process.Kill()
	cmd.Wait()
	// Reaped: the pidfd names no process any more, whatever now has its pid.
	if p, err := OpenProc(pidfd); !errors.Is(err, unix.ESRCH) {
		if p != nil {
			p.Close()
		}
		t.Errorf("OpenProc of a reaped process: %v, want ESRCH", err)
	}
	// Not a pidfd.
	f, err := os.Open("/dev/null")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := OpenProc(int(f.Fd())); err == nil {
		t.Error("OpenProc of /dev/null succeeded")
	}
}
