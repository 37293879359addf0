package containerinit

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

// wrapInit is golxc's own init for application containers (lxc-execute):
// PID 1 of the container, it runs args with env, forwards the signals it
// gets to it, reaps every orphan that is re-parented to it, and returns
// the command's status (128+N when signal N killed it; 127 when the
// command does not exist, 126 when it cannot be run). ctty >= 0 is the
// command's descriptor whose terminal becomes its controlling one, in a
// session of its own. caught is the relay catchSignals began.
func wrapInit(args, env []string, ctty int, caught *initSignals) int {
	// Every signal is caught from early in the set-up (catchSignals);
	// from here on each goes to the command, one that comes before the
	// fork as if it had come a moment later.
	<-caught.ready // caught from here on: relayed, not the runtime's default
	close(caught.running)
	sigs := caught.out
	path, err := lookPath(args[0], env)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: command not found\n", args[0])
		return 127
	}
	// syscall's fork, not os/exec's: os.StartProcess first clones a
	// child of its own to check that pidfds work, once in a process's
	// life, which here is every time. The command gets a clean signal
	// state: Go's handlers are ours.
	pidfd := -1
	attr := &syscall.ProcAttr{Env: env, Files: []uintptr{0, 1, 2}, Sys: &syscall.SysProcAttr{PidFD: &pidfd}}
	if ctty >= 0 {
		attr.Sys.Setsid, attr.Sys.Setctty, attr.Sys.Ctty = true, true, ctty
	}
	child, err := syscall.ForkExec(path, args, attr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", args[0], err)
		if errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.ENOEXEC) {
			return 126
		}
		return 127
	}
	// Signals go to the command from another goroutine, through its
	// pidfd (its pid may be another's once this one has reaped it);
	// SIGCHLD needs nothing: this thread waits in wait4 for every child
	// and is woken by the kernel itself when the command ends, not by
	// the signal through os/signal's goroutines.
	go func() {
		for sig := range sigs {
			s, _ := sig.(syscall.Signal)
			if s != syscall.SIGCHLD && s != syscall.SIGURG { // SIGURG: the Go runtime's own preemption signal
				_ = unix.PidfdSendSignal(pidfd, s, nil, 0)
			}
		}
	}()
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, 0, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "golxc init: wait for %s: %v\n", args[0], err)
			return 1
		}
		if pid == child {
			// The rest of the container dies with PID 1.
			if ws.Signaled() {
				return 128 + int(ws.Signal())
			}
			return ws.ExitStatus()
		}
	}
}

// initSignals is the relay of golxc's init: every signal the process gets
// goes to out once running is closed (the command is about to be forked).
type initSignals struct {
	out     chan os.Signal
	ready   chan struct{} // closed once every signal is caught
	running chan struct{}
}

// catchSignals starts catching every signal, in the background: enabling
// each of some sixty waits on os/signal's own thread (~1 ms), which then
// overlaps the set-up instead of delaying the command. What is caught is
// read at once, never left to fill os/signal's channel (which drops what
// does not fit): during the set-up a signal whose default action ends a
// process ends the stage, as it did before it was caught (exit status 2,
// what Go's runtime gives a fatal signal PID 1 cannot re-raise); the
// others (SIGCHLD of what a hook left, SIGURG, SIGWINCH, job control) are
// nothing yet. From running on, each goes to out.
func catchSignals() *initSignals {
	s := &initSignals{out: make(chan os.Signal, 64), ready: make(chan struct{}), running: make(chan struct{})}
	c := make(chan os.Signal, 64)
	go func() {
		signal.Notify(c)
		close(s.ready)
		for sig := range c {
			select {
			case <-s.running:
				s.out <- sig
				continue
			default:
			}
			if n, _ := sig.(syscall.Signal); endsProcess(n) {
				os.Exit(2)
			}
		}
	}()
	return s
}

// endsProcess says whether sig ends the set-up: all whose default action
// ends a process, but SIGPIPE, which a caught process gets with every
// write to a pipe nobody reads (the write's EPIPE is the set-up's error to
// handle, as it was before the signal was caught).
func endsProcess(sig syscall.Signal) bool {
	switch sig {
	case syscall.SIGCHLD, syscall.SIGURG, syscall.SIGWINCH, syscall.SIGCONT,
		syscall.SIGSTOP, syscall.SIGTSTP, syscall.SIGTTIN, syscall.SIGTTOU, syscall.SIGPIPE:
		return false
	}
	return true
}
