package security

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestCapTable(t *testing.T) {
	if CapCount() != unix.CAP_LAST_CAP+1 {
		t.Fatalf("table has %d capabilities, the kernel headers %d", CapCount(), unix.CAP_LAST_CAP+1)
	}
	for i := 0; i < CapCount(); i++ {
		n := CapShortName(i)
		if n == "" || strings.ToLower(n) != n {
			t.Errorf("capability %d: bad name %q", i, n)
		}
		for _, spelling := range []string{n, strings.ToUpper(n), "cap_" + n, "CAP_" + strings.ToUpper(n), CapName(i)} {
			if got, err := CapNumber(spelling); err != nil || got != i {
				t.Errorf("CapNumber(%q) = %d, %v; want %d", spelling, got, err, i)
			}
		}
	}
	for _, bad := range []string{"none", "", "sys_nothing", "99", "-1"} {
		if _, err := CapNumber(bad); err == nil {
			t.Errorf("CapNumber(%q) accepted", bad)
		}
	}
	if got, err := CapNumber("21"); err != nil || got != unix.CAP_SYS_ADMIN {
		t.Errorf("CapNumber(21) = %d, %v", got, err)
	}
}

// LimitThreadSwitching cuts the calling thread's sets, and those of no
// other thread: the test's own thread keeps what it had.
func TestLimitThreadSwitching(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the test cuts a thread's capabilities from full sets")
	}
	capEff := func(status string) string {
		b, err := os.ReadFile(status)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "CapEff:"); ok {
				return strings.TrimSpace(v)
			}
		}
		t.Fatalf("no CapEff in %s", status)
		return ""
	}
	// This goroutine's thread, which no other goroutine runs on.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	before := capEff("/proc/thread-self/status")
	type result struct {
		eff string
		err error
	}
	done := make(chan result)
	go func() {
		// Never unlocked: the thread ends with this goroutine, its
		// capabilities gone.
		runtime.LockOSThread()
		err := LimitThreadSwitching([]string{"CAP_CHOWN", "CAP_KILL"}, []string{"CAP_SETUID"})
		done <- result{capEff("/proc/thread-self/status"), err}
	}()
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	// CAP_CHOWN (0), CAP_KILL (5), CAP_SETUID (7).
	if want := fmt.Sprintf("%016x", 1<<0|1<<5|1<<7); r.eff != want {
		t.Errorf("the thread's CapEff: %s, want %s", r.eff, want)
	}
	if after := capEff("/proc/thread-self/status"); after != before {
		t.Errorf("another thread's CapEff changed: %s, was %s", after, before)
	}
	if err := LimitThreadSwitching([]string{"CAP_NO_SUCH"}, nil); err == nil {
		t.Error("an unknown capability name was accepted")
	}
}
