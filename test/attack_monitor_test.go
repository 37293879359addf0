package test

import (
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/golxc/golxc/internal/monitor"
)

// A local user waits for a container's monitor to die and squats what it
// held: golxc's command socket and record (in a directory only root may
// enter: refused), LXC's abstract command name of the container (free to
// bind: the tools do not believe a listener that is not root). The next
// tool re-adopts the real init, not the squatter's story, and stops it.
func TestAttackSquatDeadMonitor(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	n := l.startBusybox()
	pid := l.initPID(n)
	mons := monitorPIDs(l.path, n)
	if len(mons) != 1 {
		t.Fatalf("monitors of %s: %v", n, mons)
	}
	ms, _ := procStart(mons[0])
	syscall.Kill(mons[0], syscall.SIGKILL)
	waitGone(t, mons[0], ms, "kill -9 of the monitor")

	sock := monitor.SocketPath(l.path, n)
	for _, p := range []string{sock, sock + ".squat", monitor.RecordPath(l.path, n)} {
		if err := asUser(t, nobody, func() error {
			if err := os.Remove(p); err == nil {
				return fmt.Errorf("removed %s", p)
			}
			ln, err := net.Listen("unix", p+".x")
			if err == nil {
				ln.Close()
				return fmt.Errorf("bound %s", p+".x")
			}
			f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE, 0o600)
			if err == nil {
				f.Close()
				return fmt.Errorf("opened %s for writing", p)
			}
			return nil
		}); err != nil {
			t.Errorf("uid %d in the socket directory of a dead monitor: %v", nobody, err)
		}
	}
	// LXC's abstract name of the container, free since the monitor that
	// reserved it died.
	abstract := "@" + l.path + "/" + n + "/command"
	talked := squatAbstract(t, abstract)
	if s, got := l.statePID(n); s != "RUNNING" || got != pid {
		t.Errorf("lxc-info -n %s with its monitor dead and LXC's name squatted: %s, init %d; want RUNNING, %d", n, s, got, pid)
	}
	if got := strings.TrimSpace(l.attach(n, "hostname")); got != n {
		t.Errorf("lxc-attach -- hostname: %q, want %q", got, n)
	}
	l.mustRun("lxc-stop", "-n", n, "-k")
	if st := l.state(n); st != "STOPPED" {
		t.Errorf("after lxc-stop -k: %s", st)
	}
	// A tool may connect to see who listens (LXC's monitor is root);
	// none may send it anything.
	for {
		select {
		case line := <-talked:
			if line != "" {
				t.Errorf("a tool talked to the squatter on %s: %q", abstract, line)
			}
			continue
		case <-time.After(10 * time.Millisecond):
		}
		break
	}
}
