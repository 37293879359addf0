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

// A process in a user namespace of its own is told apart from one in the
// caller's.
func TestSharesNamespace(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to map ids")
	}
	for _, c := range []struct {
		what string
		own  bool
		want bool
	}{{"same user namespace", false, true}, {"a user namespace of its own", true, false}} {
		var holder *exec.Cmd
		if c.own {
			holder = userNSHolder(t, 710000)
		} else {
			holder = exec.Command("/bin/sleep", "60")
			if err := holder.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { holder.Process.Kill(); holder.Wait() })
		}
		pidfd, err := unix.PidfdOpen(holder.Process.Pid, 0)
		if err != nil {
			t.Fatal(err)
		}
		p, err := OpenProc(pidfd)
		unix.Close(pidfd)
		if err != nil {
			t.Fatal(err)
		}
		same, err := p.SharesNamespace("user")
		p.Close()
		if err != nil || same != c.want {
			t.Errorf("%s: SharesNamespace(user) = %v, %v; want %v", c.what, same, err, c.want)
		}
	}
}
