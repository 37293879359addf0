package security

import (
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
