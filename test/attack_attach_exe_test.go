package test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// Root in a privileged container catches an attached process before its
// exec, holds its /proc/PID/exe (golxc, as lxc-attach's helper forked it)
// and tries every way of writing it: a reopen for writing, truncation,
// clearing the read-only flag of its mount (CAP_SYS_ADMIN of the host's
// user namespace allows mount_setattr), on a clone of that mount too,
// and reaching the directory beside it. Every one must fail and the
// host's golxc must be unchanged (CVE-2019-5736).
func TestAttackAttachExe(t *testing.T) {
	l := newLab(t)
	n := l.startBusybox()
	attacker := l.installAttacker(n)
	golxc, err := filepath.EvalSymlinks(filepath.Join(binDir(t), "golxc"))
	if err != nil {
		t.Fatal(err)
	}
	before := fileSum(t, golxc)
	stopFile := filepath.Join(l.path, n, "rootfs", "attacker.stop")

	ctx, cancel := context.WithTimeout(context.Background(), 3*toolTimeout)
	defer cancel()
	grab := exec.CommandContext(ctx, filepath.Join(binDir(t), "lxc-attach"), "-P", l.path, "-n", n, "--", attacker, "exegrab", "/attacker.stop")
	out, err := grab.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	grab.Stderr = os.Stderr
	if err := grab.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		os.WriteFile(stopFile, nil, 0o644)
		cancel()
		grab.Wait()
	})
	lines := bufio.NewScanner(out)
	if !lines.Scan() || lines.Text() != "READY" {
		t.Fatalf("the attacker in %s did not start: %q", n, lines.Text())
	}
	// Attach until the attacker has caught one process before its exec.
	done := make(chan []string)
	go func() {
		var got []string
		for lines.Scan() {
			got = append(got, lines.Text())
		}
		done <- got
	}()
	var got []string
	for i := 0; got == nil; i++ {
		if i == 300 {
			os.WriteFile(stopFile, nil, 0o644)
			got = <-done
			break
		}
		if o, e, code := l.run("lxc-attach", "-n", n, "--", "/bin/true"); code != 0 {
			t.Fatalf("lxc-attach -n %s -- /bin/true: exit %d\nstdout: %s\nstderr: %s", n, code, o, e)
		}
		select {
		case got = <-done:
		default:
		}
	}
	if len(got) == 0 || got[0] == "NONE" {
		t.Skipf("the attacker caught no attached process before its exec in 300 attaches: %q", got)
	}
	report := strings.Join(got, "\n")
	t.Logf("the attacker's report:\n%s", report)
	if got[len(got)-1] != "done" {
		t.Fatalf("the attacker did not finish:\n%s", report)
	}
	for _, line := range got[1 : len(got)-1] {
		name, verdict, _ := strings.Cut(line, ": ")
		switch {
		case strings.HasSuffix(name, "clone") || strings.HasSuffix(name, "clone-setattr"):
			// A clone of the mount is no harm by itself: what matters is
			// the write through it, checked on its own line.
		case verdict == "ok":
			t.Errorf("root in the container, holding an attached process's exe: %s worked", name)
		}
	}
	if after := fileSum(t, golxc); after != before {
		t.Errorf("%s changed under the attack", golxc)
	}
}

// A hundred attaches leave no overlay of golxc behind: no mount in the
// host's or the container's mount table, and no process of the host
// holding golxc's file on an overlay (a detached mount lives exactly as
// long as a descriptor or an exe holds it).
func TestAttachExeNoMountLeak(t *testing.T) {
	l := newLab(t)
	n := l.startBusybox()
	golxc, err := filepath.EvalSymlinks(filepath.Join(binDir(t), "golxc"))
	if err != nil {
		t.Fatal(err)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(golxc, &st); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		if o, e, code := l.run("lxc-attach", "-n", n, "--", "/bin/true"); code != 0 {
			t.Fatalf("attach %d: exit %d\nstdout: %s\nstderr: %s", i, code, o, e)
		}
	}
	dir := filepath.Dir(golxc)
	host, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	inside := l.attach(n, "cat", "/proc/self/mountinfo")
	for what, table := range map[string]string{"the host's": string(host), "the container's": inside} {
		for _, line := range strings.Split(table, "\n") {
			if strings.Contains(line, " - overlay ") && strings.Contains(line, dir) {
				t.Errorf("%s mount table holds an overlay of %s: %s", what, dir, line)
			}
		}
	}
	// Every process's exe and descriptors: none may be golxc's file on an
	// overlay once the attaches are over.
	for _, h := range overlayHolders(st.Ino) {
		t.Errorf("%s still holds golxc on an overlay", h)
	}
}

// overlayHolders names each exe or descriptor of a process of the host
// that is the file of inode ino (golxc's) on an overlay:
// "PATH (pid N, "CMDLINE")".
func overlayHolders(ino uint64) []string {
	var out []string
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range procs {
		paths := []string{p + "/exe"}
		fds, _ := filepath.Glob(p + "/fd/*")
		paths = append(paths, fds...)
		for _, f := range paths {
			var fst syscall.Stat_t
			var sfs unix.Statfs_t
			if syscall.Stat(f, &fst) != nil || fst.Ino != ino || unix.Statfs(f, &sfs) != nil || sfs.Type != unix.OVERLAYFS_SUPER_MAGIC {
				continue
			}
			cmdline, _ := os.ReadFile(p + "/cmdline")
			out = append(out, fmt.Sprintf("%s (pid %s, %q)", f, filepath.Base(p), strings.ReplaceAll(string(cmdline), "\x00", " ")))
		}
	}
	return out
}
