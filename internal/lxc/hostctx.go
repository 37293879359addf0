package lxc

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// A monitor that outlives its tool carries the tool's process state
// (namespaces, capability bounding set, no_new_privs, seccomp filter, CPU
// affinity, nice, oom_score_adj, rlimits) into every container it starts
// or adopts later. So: only a tool in the host's context adopts a
// container whose monitor was killed (hostContext), only a start in the
// host's default context goes to the shared monitor (defaultContext;
// any other gets a monitor of its own, a fork of its starter, as LXC's
// every monitor is), and a monitor that adopts, and every shared monitor,
// puts back the host's defaults at its start (resetContext).

// contextNamespaces are the namespaces a tool must share with PID 1.
var contextNamespaces = []string{"pid", "mnt", "net", "cgroup", "user"}

// hostContext says why this process is not in the host's context (nil
// when it is): a namespace other than PID 1's, a capability bounding
// set or effective set short of PID 1's bounding set, no_new_privs, or a
// seccomp filter.
func hostContext() error {
	ref, err := hostNSProc()
	if err != nil {
		return err
	}
	for _, ns := range contextNamespaces {
		var mine, host unix.Stat_t
		if err := unix.Stat("/proc/self/ns/"+ns, &mine); err != nil {
			return fmt.Errorf("read /proc/self/ns/%s: %w", ns, err)
		}
		if err := unix.Stat("/proc/"+ref+"/ns/"+ns, &host); err != nil {
			return fmt.Errorf("read /proc/%s/ns/%s: %w", ref, ns, err)
		}
		if mine.Ino != host.Ino || mine.Dev != host.Dev {
			return fmt.Errorf("its %s namespace is not the host's", ns)
		}
	}
	self, err := procStatus("self")
	if err != nil {
		return err
	}
	host, err := procStatus("1")
	if err != nil {
		return err
	}
	if self["CapBnd"] != host["CapBnd"] {
		return fmt.Errorf("its capability bounding set %s is not the host's %s", self["CapBnd"], host["CapBnd"])
	}
	if self["CapEff"] != host["CapBnd"] {
		return fmt.Errorf("its effective capabilities %s are not the host's %s", self["CapEff"], host["CapBnd"])
	}
	if self["NoNewPrivs"] != "0" {
		return fmt.Errorf("it runs with no_new_privs")
	}
	if self["Seccomp"] != "0" {
		return fmt.Errorf("it runs under a seccomp filter")
	}
	return nil
}

// defaultContext is hostContext and the host's scheduling defaults: PID
// 1's CPU affinity, nice 0, oom_score_adj 0 (rlimits are not looked at:
// see resetContext).
func defaultContext() error {
	if err := hostContext(); err != nil {
		return err
	}
	var mine, host unix.CPUSet
	if err := unix.SchedGetaffinity(0, &mine); err != nil {
		return fmt.Errorf("read its CPU affinity: %w", err)
	}
	if err := unix.SchedGetaffinity(1, &host); err != nil {
		return fmt.Errorf("read PID 1's CPU affinity: %w", err)
	}
	if mine != host {
		return fmt.Errorf("its CPU affinity is not the host's")
	}
	// The raw getpriority value is 20 - nice.
	if p, err := unix.Getpriority(unix.PRIO_PROCESS, 0); err != nil || p != 20 {
		return fmt.Errorf("its nice value is not 0")
	}
	if b, err := os.ReadFile("/proc/self/oom_score_adj"); err != nil || strings.TrimSpace(string(b)) != "0" {
		return fmt.Errorf("its oom_score_adj is not 0")
	}
	return nil
}

// hostNSProc is the process whose namespaces are the host's: PID 1, or,
// where PID 1's cannot be read (a PID 1 that denies it), the kernel's
// kthreadd (pid 2, parent 0), which runs in the initial ones.
func hostNSProc() (string, error) {
	var st unix.Stat_t
	err := unix.Stat("/proc/1/ns/pid", &st)
	if err == nil {
		return "1", nil
	}
	if kt, kerr := procStatus("2"); kerr == nil && kt["Name"] == "kthreadd" && kt["PPid"] == "0" {
		if unix.Stat("/proc/2/ns/pid", &st) == nil {
			return "2", nil
		}
	}
	return "", fmt.Errorf("cannot read the host's namespaces: /proc/1/ns/pid: %w", err)
}

// procStatus reads the fields of /proc/PID/status.
func procStatus(pid string) (map[string]string, error) {
	b, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return nil, fmt.Errorf("read /proc/%s/status: %w", pid, err)
	}
	out := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			out[k] = strings.TrimSpace(v)
		}
	}
	return out, nil
}

// resetContext gives this monitor the host's defaults for what a tool's
// caller may have changed and a container started or adopted here would
// otherwise inherit: PID 1's CPU affinity, nice 0, oom_score_adj 0 and
// PID 1's rlimits (those this process may set: raising a hard limit needs
// CAP_SYS_RESOURCE). What cannot be reset (namespaces, the bounding set,
// no_new_privs, seccomp) is why a shared monitor is spawned, and an
// adoption done, only from the host's context. It returns what it could
// not reset, for the log.
func resetContext() []string {
	var failed []string
	var host unix.CPUSet
	hostErr := unix.SchedGetaffinity(1, &host)
	// Affinity and nice are a thread's: every thread of this process
	// gets them (a thread made later is a clone of one of these).
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		failed = append(failed, "threads: "+err.Error())
	}
	for _, task := range tasks {
		tid, err := strconv.Atoi(task.Name())
		if err != nil {
			continue
		}
		if hostErr == nil {
			if err := unix.SchedSetaffinity(tid, &host); err != nil && !errors.Is(err, unix.ESRCH) {
				failed = append(failed, "CPU affinity: "+err.Error())
			}
		}
		if err := unix.Setpriority(unix.PRIO_PROCESS, tid, 0); err != nil && !errors.Is(err, unix.ESRCH) {
			failed = append(failed, "nice: "+err.Error())
		}
	}
	if err := os.WriteFile("/proc/self/oom_score_adj", []byte("0"), 0); err != nil {
		failed = append(failed, "oom_score_adj: "+err.Error())
	}
	for name, res := range resettableRlimits {
		var r unix.Rlimit
		if err := unix.Prlimit(1, res, nil, &r); err != nil {
			continue
		}
		var err error
		if res == unix.RLIMIT_NOFILE {
			// Through syscall's own, so that the Go runtime passes it
			// on at exec rather than the soft limit it found at start.
			err = syscall.Setrlimit(res, &syscall.Rlimit{Cur: r.Cur, Max: r.Max})
		} else {
			err = unix.Prlimit(0, res, &r, nil)
		}
		if err != nil {
			failed = append(failed, name+": "+err.Error())
		}
	}
	return failed
}

// resettableRlimits are the rlimits resetContext copies from PID 1.
var resettableRlimits = map[string]int{
	"RLIMIT_AS": unix.RLIMIT_AS, "RLIMIT_CORE": unix.RLIMIT_CORE, "RLIMIT_CPU": unix.RLIMIT_CPU,
	"RLIMIT_DATA": unix.RLIMIT_DATA, "RLIMIT_FSIZE": unix.RLIMIT_FSIZE, "RLIMIT_LOCKS": unix.RLIMIT_LOCKS,
	"RLIMIT_MEMLOCK": unix.RLIMIT_MEMLOCK, "RLIMIT_MSGQUEUE": unix.RLIMIT_MSGQUEUE, "RLIMIT_NICE": unix.RLIMIT_NICE,
	"RLIMIT_NOFILE": unix.RLIMIT_NOFILE, "RLIMIT_NPROC": unix.RLIMIT_NPROC, "RLIMIT_RSS": unix.RLIMIT_RSS,
	"RLIMIT_RTPRIO": unix.RLIMIT_RTPRIO, "RLIMIT_SIGPENDING": unix.RLIMIT_SIGPENDING, "RLIMIT_STACK": unix.RLIMIT_STACK,
}
