package monitor

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestParseStat(t *testing.T) {
	// A command name may hold spaces and parentheses.
	line := "1234 (a) b (c) S 1 1234 1234 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10"
	st, state, err := parseStat(line)
	if err != nil || st != 987654 || state != 'S' {
		t.Fatalf("parseStat = %d %q %v, want 987654 'S'", st, state, err)
	}
	if _, _, err := parseStat("1 (x) S 1 2"); err == nil {
		t.Fatal("a short stat line parsed")
	}
}

// openInit adopts only the process the record names: same pid, same
// start time, inside the container's cgroup, alive.
func TestOpenInit(t *testing.T) {
	cmd := exec.Command("/bin/sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	pid := cmd.Process.Pid
	id, err := ProcOf(pid)
	if err != nil {
		t.Fatal(err)
	}
	if !id.Alive() {
		t.Fatalf("%+v: not alive", id)
	}
	in := func(int) (bool, error) { return true, nil }
	out := func(int) (bool, error) { return false, nil }
	cases := []struct {
		name     string
		rec      Record
		contains func(int) (bool, error)
		ok       bool
		reason   string
	}{
		{"that init", Record{Init: id}, in, true, ""},
		{"recycled pid", Record{Init: ProcID{Pid: pid, Start: id.Start + 1}}, in, false, "no longer the container's init"},
		{"outside the cgroup", Record{Init: id}, out, false, "not in the container's cgroup"},
		{"no init", Record{}, in, false, "no init was recorded"},
	}
	for _, c := range cases {
		fd, err := openInit(&c.rec, c.contains)
		if c.ok {
			if fd < 0 || err != nil {
				t.Errorf("%s: openInit = %d, %v; want a pidfd", c.name, fd, err)
			} else {
				unix.Close(fd)
			}
			continue
		}
		if fd >= 0 || err == nil || !strings.Contains(err.Error(), c.reason) || errors.Is(err, ErrUnverified) {
			t.Errorf("%s: openInit = %d, %v; want -1 and %q", c.name, fd, err, c.reason)
		}
	}
	// A look that fails is no proof of death: the init is kept.
	broken := func(int) (bool, error) { return false, errors.New("cgroup.procs: EBUSY") }
	for name, contains := range map[string]func(int) (bool, error){"cgroup look fails": broken, "no cgroup": nil} {
		if fd, err := openInit(&Record{Init: id}, contains); fd >= 0 || !errors.Is(err, ErrUnverified) {
			t.Errorf("%s: openInit = %d, %v; want -1 and ErrUnverified", name, fd, err)
		}
	}
	cmd.Process.Kill()
	cmd.Wait()
	if id.Alive() {
		t.Errorf("%+v alive after its kill and reap", id)
	}
	if fd, err := openInit(&Record{Init: id}, in); fd >= 0 || err == nil {
		t.Errorf("openInit of a reaped init = %d, %v", fd, err)
	}
	self, err := Self()
	if err != nil || self.Pid != os.Getpid() || !self.Alive() {
		t.Errorf("Self = %+v, %v", self, err)
	}
}
