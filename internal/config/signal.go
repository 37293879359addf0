package config

import (
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Real-time signal bounds as the C library reports them: glibc keeps the
// kernel's first two real-time signals (32, 33) for its threads, so kill(1)
// and LXC count SIGRTMIN from 34 (signal(7)).
const (
	sigRTMin = 34
	sigRTMax = 64
)

// signalAlias reads the other names signal(7) gives to the same numbers.
func signalAlias(name string) (unix.Signal, bool) {
	switch name {
	case "SIGIOT":
		return unix.SIGABRT, true
	case "SIGCLD":
		return unix.SIGCHLD, true
	case "SIGPOLL":
		return unix.SIGIO, true
	case "SIGUNUSED":
		return unix.SIGSYS, true
	}
	return 0, false
}

// SignalByName reads a signal as kill(1) takes it, in any case: "SIGPWR",
// "PWR", "30", "SIGRTMIN+3", "RTMAX-2".
func SignalByName(s string) (unix.Signal, error) {
	if n, err := strconv.ParseUint(s, 10, 8); err == nil {
		if n < 1 || n > sigRTMax {
			return 0, fmt.Errorf("signal %s out of range 1 to %d", s, sigRTMax)
		}
		return unix.Signal(n), nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig, ok := rtSignal(name); ok {
		return sig, nil
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return sig, nil
	}
	if sig, ok := signalAlias(name); ok {
		return sig, nil
	}
	return 0, fmt.Errorf("unknown signal %q: want a name such as SIGTERM, SIGRTMIN+N, or a number", s)
}

// rtSignal reads SIGRTMIN, SIGRTMIN+N, SIGRTMAX and SIGRTMAX-N.
func rtSignal(name string) (unix.Signal, bool) {
	for _, b := range []struct {
		prefix string
		base   int
		sign   int
	}{{"SIGRTMIN", sigRTMin, 1}, {"SIGRTMAX", sigRTMax, -1}} {
		rest, ok := strings.CutPrefix(name, b.prefix)
		if !ok {
			continue
		}
		if rest == "" {
			return unix.Signal(b.base), true
		}
		op := "+"
		if b.sign < 0 {
			op = "-"
		}
		digits, ok := strings.CutPrefix(rest, op)
		if !ok {
			return 0, false
		}
		n, err := strconv.ParseUint(digits, 10, 8)
		if err != nil || n > sigRTMax-sigRTMin {
			return 0, false
		}
		return unix.Signal(b.base + b.sign*int(n)), true
	}
	return 0, false
}

// SignalName names sig as kill -l does ("SIGPWR", "SIGRTMIN+3",
// "SIGRTMAX-2"), or gives its number when it has no name, so that
// SignalByName always reads back what SignalName writes.
func SignalName(sig unix.Signal) string {
	mid := (sigRTMin + sigRTMax) / 2
	switch {
	case sig == sigRTMin:
		return "SIGRTMIN"
	case sig > sigRTMin && sig <= unix.Signal(mid):
		return fmt.Sprintf("SIGRTMIN+%d", int(sig)-sigRTMin)
	case sig > unix.Signal(mid) && sig < sigRTMax:
		return fmt.Sprintf("SIGRTMAX-%d", sigRTMax-int(sig))
	case sig == sigRTMax:
		return "SIGRTMAX"
	}
	if name := unix.SignalName(sig); name != "" {
		return name
	}
	return strconv.Itoa(int(sig))
}
