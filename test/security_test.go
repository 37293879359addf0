package test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// runLeaking runs a tool with an extra open descriptor (fd 3, a host file
// named secret), as a careless shell would hand it over.
func runLeaking(t *testing.T, secret, tool string, args ...string) string {
	t.Helper()
	f, err := os.Open(secret)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command(filepath.Join(binDir(t), tool), args...)
	cmd.ExtraFiles = []*os.File{f}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\nstdout: %s\nstderr: %s", tool, shellJoin(args), err, out.String(), errb.String())
	}
	return out.String()
}

// A descriptor the tools inherit never reaches the container: an open
// file or directory of the host is a way out of any rootfs.
func TestInheritedDescriptorsStayOut(t *testing.T) {
	l := newLab(t)
	n := l.createBusybox()
	secret := l.writeFile("host-secret-"+n, "secret\n", 0o600)
	leaked := func(what, out string) {
		t.Helper()
		if strings.Contains(out, "host-secret") {
			t.Errorf("%s holds the caller's descriptor:\n%s", what, out)
		}
	}
	runLeaking(t, secret, "lxc-start", "-P", l.path, "-n", n)
	l.waitState(n, "RUNNING", 10*time.Second)
	leaked("the container's init", l.attach(n, "ls", "-l", "/proc/1/fd"))
	// "; :" keeps sh from exec'ing ls: the shell's own descriptors show.
	leaked("an attached shell", runLeaking(t, secret, "lxc-attach", "-P", l.path, "-n", n, "--", "sh", "-c", "ls -l /proc/$$/fd; :"))
	l.mustRun("lxc-stop", "-n", n, "-k")
	leaked("lxc-execute's PID 1 or command", runLeaking(t, secret, "lxc-execute", "-P", l.path, "-n", n, "--", "sh", "-c", "ls -l /proc/1/fd /proc/$$/fd; :"))
}

// golxc's own init, PID 1 of an application container, keeps no
// capability the config drops.
func TestExecuteInitCapabilities(t *testing.T) {
	l := newLab(t)
	n := l.createBusybox()
	out, errs, code := l.run("lxc-execute", "-n", n, "--", "grep", "-E", "^Cap(Prm|Eff|Bnd)", "/proc/1/status")
	if code != 0 {
		t.Fatalf("lxc-execute: exit %d\n%s", code, errs)
	}
	vals := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		k, v, _ := strings.Cut(line, ":")
		vals[k] = strings.TrimSpace(v)
	}
	if vals["CapBnd"] == "" || vals["CapEff"] != vals["CapBnd"] || vals["CapPrm"] != vals["CapBnd"] {
		t.Errorf("PID 1 of lxc-execute: %v, want effective and permitted equal to the bounding set (lxc.cap.drop applied)", vals)
	}
	// Every thread of golxc's init, and the command, has those sets and
	// none of what the template drops (sys_module, sys_time, mac_admin,
	// mac_override): part is dropped before the stage starts, part by it.
	out, errs, code = l.run("lxc-execute", "-n", n, "--", "/bin/sh", "-c",
		"for f in /proc/1/task/*/status /proc/self/status; do grep -E '^Cap(Prm|Eff|Bnd)' $f; done")
	if code != 0 {
		t.Fatalf("lxc-execute: exit %d\n%s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for _, line := range lines {
		_, v, _ := strings.Cut(line, ":")
		if strings.HasPrefix(line, "CapPrm") || strings.HasPrefix(line, "CapBnd") {
			if v = strings.TrimSpace(v); v != vals["CapBnd"] {
				t.Errorf("a thread of PID 1 or the command of lxc-execute: %s, want %s", line, vals["CapBnd"])
			}
		}
	}
	if len(lines) < 6 {
		t.Errorf("lxc-execute, capabilities of PID 1's threads and the command: %q, want at least two threads' sets", out)
	}
	bnd, err := strconv.ParseUint(vals["CapBnd"], 16, 64)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []uint{16, 25, 32, 33} { // sys_module, sys_time, mac_override, mac_admin
		if bnd&(1<<c) != 0 {
			t.Errorf("PID 1 of lxc-execute has capability %d in its bounding set %s: the template drops it", c, vals["CapBnd"])
		}
	}
}

// lxc-attach gives the command the running container's bounding set,
// even when its config no longer loads.
func TestAttachCapabilitiesFromInit(t *testing.T) {
	l := newLab(t)
	n := l.startBusybox()
	want := strings.TrimSpace(l.attach(n, "grep", "CapBnd", "/proc/1/status"))
	f, err := os.OpenFile(filepath.Join(l.path, n, "config"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("lxc.bogus.key = 1\n")
	f.Close()
	out, errs, code := l.run("lxc-attach", "-n", n, "--", "grep", "CapBnd", "/proc/self/status")
	if code != 0 || strings.TrimSpace(out) != want {
		t.Errorf("lxc-attach with a broken config: exit %d, %q (stderr %q); want init's %q", code, out, errs, want)
	}
}

// A relative bind source is the container's path: a symlink the
// container's root planted in its rootfs cannot lead it to the host.
func TestRelativeBindStaysInRootfs(t *testing.T) {
	l := newLab(t)
	n := l.createBusybox("lxc.mount.entry = data mnt/data none bind,relative,create=dir 0 0")
	hostDir := filepath.Join(l.aux, "hostdir")
	if err := os.MkdirAll(hostDir, 0o700); err != nil {
		t.Fatal(err)
	}
	l.writeFile("hostdir/host-secret", "secret\n", 0o600)
	if err := os.Symlink(hostDir, filepath.Join(l.path, n, "rootfs", "data")); err != nil {
		t.Fatal(err)
	}
	_, errs, code := l.run("lxc-start", "-n", n)
	if code != 0 {
		if !strings.Contains(errs, "data") {
			t.Errorf("lxc-start refused the entry without naming it: %q", errs)
		}
		return
	}
	if out := l.attach(n, "ls", "/mnt/data"); strings.Contains(out, "host-secret") {
		t.Errorf("a relative bind followed the container's symlink onto the host: /mnt/data holds %q", out)
	}
}
