package monitor

import (
	"syscall"
	"testing"
)

// TestParseSigBlk reads the blocked-signal mask as the kernel prints it;
// the first mask is Debian 12's systemd as PID 1 of a container, which
// blocks SIGRTMIN+3 (its halt request) and SIGPWR too (it reads both
// through a signalfd; SIGPWR only starts sigpwr.target, which halts
// nothing), the second an init that blocks nothing (busybox's).
func TestParseSigBlk(t *testing.T) {
	for _, c := range []struct {
		status  string
		rtmin3  bool
		pwr     bool
		wantErr bool
	}{
		{status: "Name:\tsystemd\nSigPnd:\t0000000000000000\nSigBlk:\t7fe3c0fe28014a03\nSigIgn:\t0000000000001000\n", rtmin3: true, pwr: true},
		{status: "Name:\tinit\nSigBlk:\t0000000000000000\n", rtmin3: false},
		{status: "Name:\tinit\nSigBlk:\t0000001000000000\n", rtmin3: true},
		{status: "Name:\tinit\nSigBlk:\t0000000020000000\n", pwr: true},
		{status: "Name:\tinit\n", wantErr: true},
		{status: "SigBlk:\tzz\n", wantErr: true},
	} {
		mask, err := parseSigBlk(c.status)
		if (err != nil) != c.wantErr {
			t.Errorf("parseSigBlk(%q): %v, want error %v", c.status, err, c.wantErr)
			continue
		}
		if err != nil {
			continue
		}
		if got := blocks(mask, sigRTMin3); got != c.rtmin3 {
			t.Errorf("%q: blocks SIGRTMIN+3 = %v, want %v", c.status, got, c.rtmin3)
		}
		if got := blocks(mask, syscall.SIGPWR); got != c.pwr {
			t.Errorf("%q: blocks SIGPWR = %v, want %v", c.status, got, c.pwr)
		}
	}
}
