package config

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestSignalByName(t *testing.T) {
	tests := []struct {
		in   string
		want unix.Signal
		bad  bool
	}{
		{in: "SIGPWR", want: unix.SIGPWR},
		{in: "PWR", want: unix.SIGPWR},
		{in: "sigpwr", want: unix.SIGPWR},
		{in: "30", want: unix.SIGPWR},
		{in: "SIGKILL", want: unix.SIGKILL},
		{in: "SIGIOT", want: unix.SIGABRT},
		{in: "cld", want: unix.SIGCHLD},
		{in: "SIGRTMIN", want: 34},
		{in: "SIGRTMIN+3", want: 37},
		{in: "rtmin+30", want: 64},
		{in: "SIGRTMAX", want: 64},
		{in: "SIGRTMAX-10", want: 54},
		{in: "RTMAX-30", want: 34},
		{in: "32", want: 32},
		{in: "64", want: 64},
		{in: "0", bad: true},
		{in: "65", bad: true},
		{in: "-1", bad: true},
		{in: "SIGRTMIN+31", bad: true},
		{in: "SIGRTMIN-1", bad: true},
		{in: "SIGRTMAX+1", bad: true},
		{in: "SIGRTMIN+", bad: true},
		{in: "SIG", bad: true},
		{in: "", bad: true},
		{in: "SIGFOO", bad: true},
		{in: " SIGTERM", bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := SignalByName(tt.in)
			if tt.bad {
				if err == nil {
					t.Fatalf("SignalByName(%q) = %d, want an error", tt.in, got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("SignalByName(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestSignalNameRoundTrip(t *testing.T) {
	names := map[unix.Signal]string{
		unix.SIGPWR: "SIGPWR", unix.SIGUSR1: "SIGUSR1", unix.SIGKILL: "SIGKILL",
		32: "32", 34: "SIGRTMIN", 35: "SIGRTMIN+1", 49: "SIGRTMIN+15",
		50: "SIGRTMAX-14", 63: "SIGRTMAX-1", 64: "SIGRTMAX", 0: "0", 99: "99",
	}
	for sig, want := range names {
		if got := SignalName(sig); got != want {
			t.Errorf("SignalName(%d) = %q, want %q", sig, got, want)
		}
	}
	for sig := unix.Signal(1); sig <= 64; sig++ {
		back, err := SignalByName(SignalName(sig))
		if err != nil || back != sig {
			t.Errorf("SignalByName(SignalName(%d) = %q) = %d, %v", sig, SignalName(sig), back, err)
		}
	}
}
