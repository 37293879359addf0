package test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/golxc/golxc/internal/monitor"
)

// hookRecorder is a hook that writes what it was given and what it sees to
// @OUT@/TYPE, and "TYPE FIRST-ARG" to @OUT@/order: its arguments, the
// LXC_ variables (and HOOKTEST, lxc.environment's), its working directory,
// namespaces, descriptors, terminal, and facts that tell its moment. It
// runs under the host's sh and under the container's busybox sh alike.
const hookRecorder = `#!/bin/sh
out=@OUT@
t=$LXC_HOOK_TYPE
prev=
for a in "$@"; do [ -z "$t" ] && [ "$prev" = lxc ] && t=$a; prev=$a; done
[ -n "$t" ] || t=unknown
f=$out/$t
r=$LXC_ROOTFS_MOUNT
{
for a in "$@"; do echo "ARG $a"; done
echo "CWD $(pwd)"
env | grep -E '^(LXC_|HOOKTEST=)' | sort | sed 's/^/ENV /'
for n in cgroup ipc mnt net pid uts user; do echo "NS $n $(readlink /proc/self/ns/$n)"; done
ls -l /proc/self/fd/ | sed -n 's/.* \([0-9][0-9]*\) -> \(.*\)/FD \1 \2/p'
[ -t 0 ] && echo "STDINTTY yes" || echo "STDINTTY no"
( exec 5</dev/tty ) 2>/dev/null && echo "CTTY yes" || echo "CTTY no"
echo "UID $(id -u)"
grep -E '^(CapBnd|CapEff|Seccomp):' /proc/self/status | sed 's/^/STATUS /'
grep -q " $r/proc " /proc/self/mountinfo && echo "PROCMOUNTED yes" || echo "PROCMOUNTED no"
[ -c "$r/dev/null" ] && echo "DEVNULL yes" || echo "DEVNULL no"
[ -e "${LXC_ROOTFS_PATH#dir:}/hookrun/start" ] && echo "STARTRAN yes" || echo "STARTRAN no"
[ -n "$LXC_PID" ] && [ -d "/proc/$LXC_PID" ] && echo "PIDALIVE yes" || echo "PIDALIVE no"
ls -d /sys/fs/cgroup/*/lxc.payload.$LXC_NAME >/dev/null 2>&1 && echo "PAYLOAD yes" || echo "PAYLOAD no"
echo "HOSTNAME $(hostname)"
for a in "$@"; do case $a in *:/proc/*) echo "NSARG ${a%%:*} $(readlink ${a#*:})";; esac; done
for v in $(env | grep '^LXC_[A-Z]*_NS='); do echo "NSENV ${v%%=*} $(readlink ${v#*=})"; done
} > $f 2>&1
echo "$t $1" >> $out/order
echo "$t: recorded"
`

// hookRecord is what one hook recorded.
type hookRecord struct {
	args  []string
	env   map[string]string
	ns    map[string]string
	fds   []string // "N TARGET"
	facts map[string]string
	nsArg map[string]string // stop: namespace type -> readlink of its path
	nsEnv map[string]string // LXC_*_NS -> readlink
	raw   string
}

func readHookRecord(t *testing.T, path string) *hookRecord {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Errorf("hook record %s: %v", path, err)
		return nil
	}
	r := &hookRecord{env: map[string]string{}, ns: map[string]string{}, facts: map[string]string{}, nsArg: map[string]string{}, nsEnv: map[string]string{}, raw: string(b)}
	for _, line := range strings.Split(string(b), "\n") {
		tag, rest, _ := strings.Cut(line, " ")
		switch tag {
		case "ARG":
			r.args = append(r.args, rest)
		case "ENV":
			k, v, _ := strings.Cut(rest, "=")
			r.env[k] = v
		case "NS":
			k, v, _ := strings.Cut(rest, " ")
			r.ns[k] = v
		case "FD":
			r.fds = append(r.fds, rest)
		case "NSARG":
			k, v, _ := strings.Cut(rest, " ")
			r.nsArg[k] = v
		case "NSENV":
			k, v, _ := strings.Cut(rest, " ")
			r.nsEnv[k] = v
		case "":
		default:
			r.facts[tag] = rest
		}
	}
	return r
}

// namespacesOf reads /proc/PID/ns/* (PID "self" for the test's own).
func namespacesOf(t *testing.T, pid string) map[string]string {
	t.Helper()
	ns := map[string]string{}
	for _, n := range []string{"cgroup", "ipc", "mnt", "net", "pid", "uts", "user"} {
		v, err := os.Readlink("/proc/" + pid + "/ns/" + n)
		if err != nil {
			t.Fatalf("namespace %s of %s: %v", n, pid, err)
		}
		ns[n] = v
	}
	return ns
}

// hookLab is a container with the recorder for every hook type.
type hookLab struct {
	*lab
	name, out, rootfs string
}

// hookConfig is every hook at once: the recorder on the host's side, and
// in the rootfs for the start hook, which runs in the container; a
// pre-start hook that fails, cleared by the empty line after it; two
// pre-start hooks to check their order.
func hookConfig(rec, version string) []string {
	return []string{
		"lxc.hook.version = " + version,
		"lxc.environment = HOOKTEST=yes",
		"lxc.hook.pre-start = /bin/false",
		"lxc.hook.pre-start =",
		"lxc.hook.pre-start = " + rec + " first 'with space'",
		"lxc.hook.pre-start = " + rec + " second",
		"lxc.hook.pre-mount = " + rec,
		"lxc.hook.mount = " + rec,
		"lxc.hook.autodev = " + rec,
		"lxc.hook.start-host = " + rec,
		"lxc.hook.start = /hookrec.sh",
		"lxc.hook.stop = " + rec,
		"lxc.hook.post-stop = " + rec,
		"lxc.hook.destroy = " + rec,
	}
}

// installRecorders writes the host's recorder (returned) into dir/out's
// parent and the container's into rootfs/hookrec.sh, writing to
// rootfs/hookrun.
func installRecorders(t *testing.T, aux, rootfs string) (rec, out string) {
	t.Helper()
	out = filepath.Join(aux, "hookout")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	rec = filepath.Join(aux, "hookrec.sh")
	if err := os.WriteFile(rec, []byte(strings.Replace(hookRecorder, "@OUT@", out, 1)), 0o755); err != nil {
		t.Fatal(err)
	}
	if rootfs != "" {
		installStartRecorder(t, rootfs)
	}
	return rec, out
}

func installStartRecorder(t *testing.T, rootfs string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(rootfs, "hookrun"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rootfs, "hookrec.sh"), []byte(strings.Replace(hookRecorder, "@OUT@", "/hookrun", 1)), 0o755); err != nil {
		t.Fatal(err)
	}
}

// TestHooks runs every hook type of a start, stop and destroy, under
// lxc.hook.version 0 and 1, and checks each at its moment, in its
// namespaces, with LXC's arguments and environment.
func TestHooks(t *testing.T) {
	t.Parallel()
	for _, version := range []string{"0", "1"} {
		t.Run("version"+version, func(t *testing.T) {
			t.Parallel()
			l := newLab(t)
			rec, out := installRecorders(t, l.aux, "")
			n := l.createBusybox(hookConfig(rec, version)...)
			rootfs := filepath.Join(l.path, n, "rootfs")
			installStartRecorder(t, rootfs)
			l.mustRun("lxc-start", "-n", n)
			l.waitState(n, "RUNNING", 10*time.Second)
			pid := l.initPID(n)
			inside := namespacesOf(t, strconv.Itoa(pid))
			host := namespacesOf(t, "self")
			initStatus, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
			l.mustRun("lxc-stop", "-n", n)
			// Read before the destroy takes the rootfs.
			start := readHookRecord(t, filepath.Join(rootfs, "hookrun", "start"))
			l.mustRun("lxc-destroy", "-n", n)

			recs := map[string]*hookRecord{"start": start}
			for _, k := range []string{"pre-start", "pre-mount", "mount", "autodev", "start-host", "stop", "post-stop", "destroy"} {
				recs[k] = readHookRecord(t, filepath.Join(out, k))
			}
			if t.Failed() {
				t.FailNow()
			}
			// Order: the failing pre-start hook was cleared; the two
			// left ran in their order, then each type at its moment.
			order, _ := os.ReadFile(filepath.Join(out, "order"))
			wantOrder := "pre-start first\npre-start second\npre-mount \nmount \nautodev \nstart-host \nstop \npost-stop \ndestroy \n"
			if version == "0" {
				wantOrder = "pre-start first\npre-start second\npre-mount " + n + "\nmount " + n + "\nautodev " + n + "\nstart-host " + n + "\nstop " + n + "\npost-stop " + n + "\ndestroy " + n + "\n"
			}
			if string(order) != wantOrder {
				t.Errorf("hooks ran in this order:\n%s\nwant\n%s", order, wantOrder)
			}

			config := filepath.Join(l.path, n, "config")
			for kind, r := range recs {
				// Arguments: name, "lxc", type under version 0, none
				// under 1; the stop hook's namespaces after them (0).
				var want []string
				switch kind {
				case "pre-start":
					want = []string{"second"}
				}
				if version == "0" {
					want = append(want, n, "lxc", kind)
				}
				args := r.args
				if kind == "stop" && version == "0" {
					var ns []string
					for _, a := range args[min(3, len(args)):] {
						ns = append(ns, a)
					}
					args = args[:min(3, len(args))]
					if len(ns) < 6 {
						t.Errorf("stop hook: namespace arguments %q, want mnt pid uts ipc net cgroup", ns)
					}
					for _, a := range ns {
						if !regexp.MustCompile(`^(user|mnt|pid|uts|ipc|net|cgroup|time):/proc/[0-9]+/fd/[0-9]+$`).MatchString(a) {
							t.Errorf("stop hook: namespace argument %q, want TYPE:/proc/PID/fd/N", a)
						}
					}
				}
				if !slices.Equal(args, want) {
					t.Errorf("%s hook: arguments %q, want %q", kind, args, want)
				}
				// Environment.
				wantEnv := map[string]string{
					"LXC_NAME":         n,
					"LXC_CONFIG_FILE":  config,
					"LXC_ROOTFS_PATH":  rootfs,
					"LXC_ROOTFS_MOUNT": rootfs,
				}
				if kind != "destroy" {
					wantEnv["LXC_HOOK_VERSION"] = version
					wantEnv["LXC_CGNS_AWARE"] = "1"
					wantEnv["LXC_LOG_LEVEL"] = "ERROR"
				}
				if version == "1" {
					wantEnv["LXC_HOOK_TYPE"] = kind
					wantEnv["LXC_HOOK_SECTION"] = "lxc"
				}
				switch kind {
				case "start-host":
					wantEnv["LXC_PID"] = strconv.Itoa(pid)
				case "stop", "post-stop":
					wantEnv["LXC_PID"] = strconv.Itoa(pid)
					wantEnv["LXC_TARGET"] = "stop"
				case "pre-mount", "mount", "autodev", "start":
					wantEnv["HOOKTEST"] = "yes" // lxc.environment, in the container's hooks only
				}
				for k, v := range r.env {
					if strings.HasSuffix(k, "_NS") && (kind == "stop" || kind == "post-stop") {
						continue
					}
					if wantEnv[k] != v {
						t.Errorf("%s hook: %s=%q, want %q", kind, k, v, wantEnv[k])
					}
				}
				for k, v := range wantEnv {
					if _, ok := r.env[k]; !ok {
						t.Errorf("%s hook: no %s (want %q)", kind, k, v)
					}
				}
				// Namespaces: the host's, or the container's.
				where, want2 := "host", host
				if kind == "pre-mount" || kind == "mount" || kind == "autodev" || kind == "start" {
					where, want2 = "container", inside
				}
				for nsName, id := range want2 {
					if r.ns[nsName] != id {
						t.Errorf("%s hook: %s namespace %s, want the %s's %s", kind, nsName, r.ns[nsName], where, id)
					}
				}
				// No descriptor but its standard ones, its own output
				// file, and what sh and ls open themselves.
				for _, fd := range r.fds {
					num, target, _ := strings.Cut(fd, " ")
					ok := num == "0" || num == "1" || num == "2" ||
						strings.HasPrefix(target, "/proc/") && strings.HasSuffix(target, "/fd") ||
						strings.HasPrefix(target, "pipe:") || strings.HasSuffix(target, "hookrec.sh") || strings.Contains(target, "hookout/") || strings.HasPrefix(target, "/hookrun/")
					if !ok {
						t.Errorf("%s hook has descriptor %s open", kind, fd)
					}
				}
				if r.facts["UID"] != "0" {
					t.Errorf("%s hook: uid %s, want 0", kind, r.facts["UID"])
				}
				if kind != "start" && (r.facts["STDINTTY"] != "no" || r.facts["CTTY"] != "no") {
					t.Errorf("%s hook: a terminal on stdin %s, a controlling terminal %s: want neither", kind, r.facts["STDINTTY"], r.facts["CTTY"])
				}
			}
			// The moments.
			facts := func(kind, fact, want string) {
				t.Helper()
				if got := recs[kind].facts[fact]; got != want {
					t.Errorf("%s hook: %s %s, want %s\n%s", kind, fact, got, want, recs[kind].raw)
				}
			}
			facts("pre-mount", "PROCMOUNTED", "no") // before the rootfs is set up
			facts("mount", "PROCMOUNTED", "yes")    // the mounts made
			facts("mount", "DEVNULL", "no")         // before /dev is filled
			facts("autodev", "DEVNULL", "yes")
			facts("start-host", "STARTRAN", "yes") // after the start hook, init alive
			facts("start-host", "PIDALIVE", "yes")
			facts("stop", "PIDALIVE", "no") // init gone, the cgroups still there
			facts("stop", "PAYLOAD", "yes")
			facts("post-stop", "PAYLOAD", "no") // the container torn down
			facts("start", "HOSTNAME", n)
			facts("start", "STDINTTY", "yes") // the console, as LXC's
			// The start hook runs from the container's root, confined
			// as its init: the bounding set lxc.cap.drop leaves.
			for _, line := range strings.Split(string(initStatus), "\n") {
				if v, ok := strings.CutPrefix(line, "CapBnd:"); ok {
					if got := recs["start"].facts["STATUS"]; !strings.Contains(recs["start"].raw, "CapBnd:\t"+strings.TrimSpace(v)) {
						t.Errorf("start hook: %s; want init's CapBnd %s", got, strings.TrimSpace(v))
					}
				}
			}
			if recs["start"].facts["CWD"] != "/" || recs["start"].env["LXC_NAME"] != n {
				t.Errorf("start hook: cwd %q", recs["start"].facts["CWD"])
			}
			// The stop hook's namespaces are the container's, held open.
			stopNS := recs["stop"].nsEnv
			if version == "0" {
				for k, v := range recs["stop"].nsArg {
					if inside[k] != v {
						t.Errorf("stop hook argument %s: namespace %s, want the container's %s", k, v, inside[k])
					}
				}
			}
			for _, k := range []string{"mnt", "pid", "uts", "ipc", "net", "cgroup"} {
				if got := stopNS["LXC_"+strings.ToUpper(k)+"_NS"]; got != inside[k] {
					t.Errorf("stop hook: LXC_%s_NS is %q, want the container's %s", strings.ToUpper(k), got, inside[k])
				}
			}
			// destroy runs in the caller's working directory, as LXC's.
			wd, _ := os.Getwd()
			if got := recs["destroy"].facts["CWD"]; got != wd {
				t.Errorf("destroy hook: cwd %s, want the caller's %s", got, wd)
			}
			for _, k := range []string{"pre-start", "start-host", "stop", "post-stop"} {
				if got := recs[k].facts["CWD"]; got != "/" {
					t.Errorf("%s hook: cwd %s, want /", k, got)
				}
			}
		})
	}
}

// TestHookFailure: a hook of each type that fails aborts the start with
// one line naming the hook, its exit status and the last line it wrote,
// and leaves nothing: no cgroup, monitor, socket, lock or process; the
// stop and post-stop hooks still run, as LXC's do. A failing destroy hook
// keeps the container whole.
func TestHookFailure(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	fail := l.writeFile("fail.sh", "#!/bin/sh\necho first line\necho 'the real reason' >&2\nexit 7\n", 0o755)
	marker := filepath.Join(l.aux, "post-stop-ran")
	for _, kind := range []string{"pre-start", "pre-mount", "mount", "autodev", "start", "start-host"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			l := l.with(t)
			cmd := fail
			if kind == "start" {
				cmd = "/fail.sh"
			}
			m := marker + "." + kind
			n := l.createBusybox("lxc.hook."+kind+" = "+cmd, "lxc.hook.post-stop = touch "+m)
			if kind == "start" {
				b, _ := os.ReadFile(fail)
				if err := os.WriteFile(filepath.Join(l.path, n, "rootfs", "fail.sh"), b, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			for _, args := range [][]string{{"-n", n}, {"-n", n, "-F"}} {
				out, errs, code := l.run("lxc-start", args...)
				if code != 1 {
					t.Errorf("lxc-start %s with a failing %s hook: exit %d, want 1\n%s%s", shellJoin(args), kind, code, out, errs)
				}
				lines := strings.Split(strings.TrimSpace(errs), "\n")
				if len(lines) != 1 || !strings.Contains(errs, "lxc.hook."+kind) || !strings.Contains(errs, "status 7") || !strings.Contains(errs, "the real reason") {
					t.Errorf("lxc-start %s with a failing %s hook: stderr %q; want one line with the hook, its status and its last line", shellJoin(args), kind, errs)
				}
				if st := l.state(n); st != "STOPPED" {
					t.Errorf("state %s after the failed start", st)
				}
				assertNoCgroups(t, n, "the failed start")
				if pids := monitorPIDs(l.path, n); len(pids) > 0 {
					t.Errorf("monitor %v left after the failed start", pids)
				}
				if _, err := os.Stat(m); err != nil {
					t.Errorf("the post-stop hook did not run after the failed start")
				}
				os.Remove(m)
			}
			// Nothing holds the name: a start without the hook works.
			l.mustRun("lxc-start", "-n", n, "-s", "lxc.hook."+kind+"=")
			l.waitState(n, "RUNNING", 10*time.Second)
			l.mustRun("lxc-stop", "-n", n, "-k")
		})
	}
	// With a veth: the pair is gone with the failed start, the command
	// socket too.
	t.Run("start-host with a veth", func(t *testing.T) {
		t.Parallel()
		l := l.with(t)
		b := newBridge(t)
		pair := uniquePair(t)
		n := l.createBusybox(append(vethConf(b, pair, randomMAC(), 2), "lxc.hook.start-host = "+fail)...)
		if _, errs, code := l.run("lxc-start", "-n", n); code != 1 || !strings.Contains(errs, "the real reason") {
			t.Errorf("lxc-start with a failing start-host hook and a veth: exit %d, %q", code, errs)
		}
		if linkExists(pair) {
			t.Errorf("%s left on the host after the failed start", pair)
		}
		if _, err := os.Lstat(monitor.SocketPath(l.path, n)); err == nil {
			t.Errorf("the command socket %s is left after the failed start", monitor.SocketPath(l.path, n))
		}
		assertNoCgroups(t, n, "the failed start")
	})
	t.Run("destroy", func(t *testing.T) {
		t.Parallel()
		l := l.with(t)
		n := l.createBusybox("lxc.hook.destroy = " + fail)
		_, errs, code := l.run("lxc-destroy", "-n", n)
		if code == 0 || !strings.Contains(errs, "lxc.hook.destroy") || !strings.Contains(errs, "status 7") || !strings.Contains(errs, "the real reason") {
			t.Errorf("lxc-destroy with a failing destroy hook: exit %d, stderr %q", code, errs)
		}
		for _, p := range []string{"config", "rootfs/bin/busybox"} {
			if _, err := os.Stat(filepath.Join(l.path, n, p)); err != nil {
				t.Errorf("after the failed destroy: %v", err)
			}
		}
		// Cleared, the destroy goes through.
		cfg := filepath.Join(l.path, n, "config")
		b, _ := os.ReadFile(cfg)
		if err := os.WriteFile(cfg, append(b, "lxc.hook.destroy =\n"...), 0o640); err != nil {
			t.Fatal(err)
		}
		l.mustRun("lxc-destroy", "-n", n)
	})
}

// TestHooksMatchLXC runs the same hooks under Debian's LXC 5.0.2 and under
// golxc, side by side, and compares what each hook type was given and saw:
// its LXC_ variables (names, and the values that do not name a path or
// pid), its arguments, whether it ran in the host's namespaces or the
// container's, and its moment.
func TestHooksMatchLXC(t *testing.T) {
	t.Parallel()
	requireDebianLXC(t)
	for _, version := range []string{"0", "1"} {
		t.Run("version"+version, func(t *testing.T) {
			t.Parallel()
			theirs := runRecordedHooks(t, version, true)
			ours := runRecordedHooks(t, version, false)
			if t.Failed() {
				t.FailNow()
			}
			for kind, want := range theirs.recs {
				got := ours.recs[kind]
				if got == nil {
					t.Errorf("%s hook: ran under LXC, not under golxc", kind)
					continue
				}
				if g, w := envKeys(got), envKeys(want); !slices.Equal(g, w) {
					t.Errorf("%s hook: LXC_ variables %q, LXC's %q", kind, g, w)
				}
				for _, k := range []string{"LXC_HOOK_TYPE", "LXC_HOOK_SECTION", "LXC_HOOK_VERSION", "LXC_CGNS_AWARE", "LXC_LOG_LEVEL", "LXC_TARGET", "HOOKTEST", "LXC_NAME", "LXC_CONFIG_FILE"} {
					if g, w := ours.norm(got.env[k]), theirs.norm(want.env[k]); g != w {
						t.Errorf("%s hook: %s=%q, LXC's %q", kind, k, g, w)
					}
				}
				var g, w []string
				for _, a := range got.args {
					g = append(g, ours.norm(a))
				}
				for _, a := range want.args {
					w = append(w, theirs.norm(a))
				}
				if !slices.Equal(g, w) {
					t.Errorf("%s hook: arguments %q, LXC's %q", kind, g, w)
				}
				if g, w := ours.where(got), theirs.where(want); g != w {
					t.Errorf("%s hook: ran in the %s's namespaces, LXC's in the %s's", kind, g, w)
				}
				for _, f := range []string{"PROCMOUNTED", "STARTRAN", "PIDALIVE", "STDINTTY", "UID", "CWD", "HOSTNAME"} {
					gv, wv := ours.norm(got.facts[f]), theirs.norm(want.facts[f])
					if gv != wv {
						t.Errorf("%s hook: %s %q, LXC's %q", kind, f, gv, wv)
					}
				}
			}
			for kind := range ours.recs {
				if theirs.recs[kind] == nil {
					t.Errorf("%s hook: ran under golxc, not under LXC", kind)
				}
			}
		})
	}
}

// recordedRun is one container's hook records.
type recordedRun struct {
	name, path string
	host       map[string]string // the test's namespaces
	recs       map[string]*hookRecord
}

// norm replaces the container's name and lxcpath, pids and descriptor
// numbers, which differ between the two runs by nature.
func (r *recordedRun) norm(s string) string {
	s = strings.ReplaceAll(s, r.path, "LXCPATH")
	s = strings.ReplaceAll(s, r.name, "NAME")
	return regexp.MustCompile(`/proc/[0-9]+/fd/[0-9]+`).ReplaceAllString(s, "/proc/PID/fd/N")
}

// where says whose mount namespace a hook ran in.
func (r *recordedRun) where(h *hookRecord) string {
	if h.ns["mnt"] == r.host["mnt"] && h.ns["pid"] == r.host["pid"] {
		return "host"
	}
	return "container"
}

func envKeys(h *hookRecord) []string {
	var keys []string
	for k := range h.env {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// runRecordedHooks makes a busybox container with every hook recorded,
// with LXC's tools (lxc) or golxc's, starts, stops and destroys it, and
// returns the records.
func runRecordedHooks(t *testing.T, version string, lxc bool) *recordedRun {
	l := newLab(t)
	rec, out := installRecorders(t, l.aux, "")
	n := newName(t)
	lines := hookConfig(rec, version)
	if lxc {
		l.lxcContainer(n, l.path)
		cfg := filepath.Join(l.path, n, "config")
		f, err := os.OpenFile(cfg, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.WriteString(strings.Join(lines, "\n") + "\n")
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
	} else {
		l.track(n)
		l.mustRun("lxc-create", "-n", n, "-t", "busybox", "-f", l.conf(lines...))
	}
	rootfs := filepath.Join(l.path, n, "rootfs")
	installStartRecorder(t, rootfs)
	tool := func(name string, args ...string) {
		t.Helper()
		args = append([]string{"-P", l.path, "-n", n}, args...)
		if lxc {
			if out, code := debianLXC(t, name, args...); code != 0 {
				t.Fatalf("LXC's %s %s: exit %d: %s", name, shellJoin(args), code, out)
			}
			return
		}
		if out, errs, code := run(t, name, args...); code != 0 {
			t.Fatalf("%s %s: exit %d: %s%s", name, shellJoin(args), code, out, errs)
		}
	}
	// -L: the hooks of a start are told the console log's path.
	tool("lxc-start", "-L", filepath.Join(l.aux, "console.log"))
	tool("lxc-wait", "-s", "RUNNING", "-t", "10")
	tool("lxc-stop")
	r := &recordedRun{name: n, path: l.path, host: namespacesOf(t, "self"), recs: map[string]*hookRecord{}}
	r.recs["start"] = readHookRecord(t, filepath.Join(rootfs, "hookrun", "start"))
	tool("lxc-destroy")
	for _, k := range []string{"pre-start", "pre-mount", "mount", "autodev", "start-host", "stop", "post-stop", "destroy"} {
		r.recs[k] = readHookRecord(t, filepath.Join(out, k))
	}
	return r
}

// TestLXCOwnHooks runs the hooks Debian's lxc package ships under
// /usr/share/lxc/hooks that can run on this host, as its configs and
// templates use them: squid-deb-proxy-client (pre-start), nvidia (mount:
// no GPU asked for is nothing to do; asked for without the NVIDIA tools,
// its own refusal fails the start), and lxcfs's
// common.conf.d/00-lxcfs.conf (mount and post-stop hooks) with lxcfs not
// running, under golxc and under LXC. dhclient needs /sbin/dhclient,
// which this host lacks; clonehostname and mountecryptfsroot are left
// aside; ubuntu-cloud-prep is a clone hook (internal/hooks's test).
func TestLXCOwnHooks(t *testing.T) {
	t.Parallel()
	const hooksDir = "/usr/share/lxc/hooks"
	if _, err := os.Stat(hooksDir); err != nil {
		t.Skip("Debian's lxc package is not installed (no " + hooksDir + ")")
	}
	l := newLab(t)

	t.Run("squid-deb-proxy-client", func(t *testing.T) {
		t.Parallel()
		l := l.with(t)
		// The host's apt proxy setting, in a mount namespace of the
		// test's own: the hook copies it into the container.
		apt := filepath.Join(l.aux, "apt.conf.d")
		if err := os.MkdirAll(apt, 0o755); err != nil {
			t.Fatal(err)
		}
		const proxy = "Acquire::http::proxy \"http://192.0.2.1:8000\";\n"
		if err := os.WriteFile(filepath.Join(apt, "50squid-deb-proxy"), []byte(proxy), 0o644); err != nil {
			t.Fatal(err)
		}
		n := l.createBusybox("lxc.hook.pre-start = " + hooksDir + "/squid-deb-proxy-client")
		rootfs := filepath.Join(l.path, n, "rootfs")
		if err := os.MkdirAll(filepath.Join(rootfs, "etc/apt/apt.conf.d"), 0o755); err != nil {
			t.Fatal(err)
		}
		script := "mount --bind " + apt + " /etc/apt/apt.conf.d && exec " + filepath.Join(binDir(t), "lxc-start") + " -P " + l.path + " -n " + n
		if out, err := exec.Command("unshare", "-m", "--propagation", "private", "sh", "-c", script).CombinedOutput(); err != nil {
			t.Fatalf("lxc-start with squid-deb-proxy-client: %v\n%s", err, out)
		}
		l.waitState(n, "RUNNING", 10*time.Second)
		if b, _ := os.ReadFile(filepath.Join(rootfs, "etc/apt/apt.conf.d/50squid-deb-proxy")); string(b) != proxy {
			t.Errorf("the container's apt proxy file: %q, want the host's %q", b, proxy)
		}
		l.mustRun("lxc-stop", "-n", n, "-k")
	})

	t.Run("nvidia", func(t *testing.T) {
		t.Parallel()
		l := l.with(t)
		n := l.createBusybox("lxc.hook.mount = " + hooksDir + "/nvidia")
		// No GPU asked for (no NVIDIA_VISIBLE_DEVICES): nothing to do.
		l.mustRun("lxc-start", "-n", n)
		l.waitState(n, "RUNNING", 10*time.Second)
		l.mustRun("lxc-stop", "-n", n, "-k")
		// Asked for, on a host without nvidia-container-cli: the hook
		// refuses, and so does the start, with the hook's own words.
		if _, err := exec.LookPath("nvidia-container-cli"); err == nil {
			t.Skip("this host has nvidia-container-cli")
		}
		_, errs, code := l.runWith(runOpts{env: []string{"NVIDIA_VISIBLE_DEVICES=all"}}, "lxc-start", "-n", n)
		if code != 1 || !strings.Contains(errs, "lxc.hook.mount") || !strings.Contains(errs, "status 1") || !strings.Contains(errs, "Missing tool nvidia-container-cli") || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
			t.Errorf("lxc-start with a GPU asked for and no NVIDIA tools: exit %d, stderr %q; want exit 1 and the hook's refusal in one line", code, errs)
		}
		assertNoCgroups(t, n, "the refused start")
	})

	t.Run("lxcfs", func(t *testing.T) {
		t.Parallel()
		const conf = "/usr/share/lxc/config/common.conf.d/00-lxcfs.conf"
		if _, err := os.Stat(conf); err != nil {
			t.Skip("no " + conf)
		}
		if out, err := exec.Command("pgrep", "-x", "lxcfs").Output(); err == nil && len(out) > 0 {
			t.Skip("lxcfs is running here: this checks its hooks without it")
		}
		l := l.with(t)
		n := l.createBusybox("lxc.include = " + conf)
		l.mustRun("lxc-start", "-n", n)
		l.waitState(n, "RUNNING", 10*time.Second)
		// The mount hook found no lxcfs and mounted nothing.
		if got := l.attach(n, "/bin/sh", "-c", "grep -c lxcfs /proc/self/mountinfo || true"); strings.TrimSpace(got) != "0" {
			t.Errorf("lxcfs mounts in the container without lxcfs running: %s", got)
		}
		l.mustRun("lxc-stop", "-n", n)
		assertNoCgroups(t, n, "lxc-stop")
		// LXC does the same with the same config.
		requireDebianLXC(t)
		theirs := newName(t)
		l.lxcContainer(theirs, l.path)
		cfg := filepath.Join(l.path, theirs, "config")
		f, err := os.OpenFile(cfg, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString("lxc.include = " + conf + "\n")
		f.Close()
		if out, code := debianLXC(t, "lxc-start", "-P", l.path, "-n", theirs); code != 0 {
			t.Fatalf("LXC's lxc-start with %s: exit %d: %s", conf, code, out)
		}
		debianLXC(t, "lxc-wait", "-P", l.path, "-n", theirs, "-s", "RUNNING", "-t", "10")
		if out, code := debianLXC(t, "lxc-attach", "-P", l.path, "-n", theirs, "--", "/bin/sh", "-c", "grep -c lxcfs /proc/self/mountinfo || true"); code != 0 || strings.TrimSpace(out) != "0" {
			t.Errorf("LXC's container with %s: %d %q", conf, code, out)
		}
		debianLXC(t, "lxc-stop", "-P", l.path, "-n", theirs, "-k")
	})
}

// TestHookMountInRootfs: what a mount hook mounts under LXC_ROOTFS_MOUNT is
// in the container, and only there; with a user namespace of the
// container's own too, whose root may not walk to the rootfs's directory
// (the hook finds the rootfs at a mount point of its own, as LXC's at
// lxc.rootfs.mount; lxcfs's mount hook needs that).
func TestHookMountInRootfs(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"dir", "userns", "overlay"} {
		userns := mode == "userns"
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			l := usernsLab(t)
			hook := l.writeFile("mount.sh", `#!/bin/sh -e
r=$(readlink -f "$LXC_ROOTFS_MOUNT")
[ -x "$r/bin/busybox" ]
mount -t tmpfs hooktmp "$r/mnt"
echo from-hook > "$r/mnt/marker"
`, 0o755)
			if err := os.Chmod(l.aux, 0o755); err != nil {
				t.Fatal(err)
			}
			lines := []string{"lxc.hook.mount = " + hook}
			if userns {
				lines = append(lines, idmapLines...)
			}
			n := l.createBusybox(lines...)
			if mode == "overlay" {
				// An overlay clone's rootfs is mounted in its own mount
				// namespace only: the hook finds it at LXC_ROOTFS_MOUNT.
				clone := l.newContainer()
				l.mustRun("lxc-copy", "-n", n, "-N", clone, "-s")
				n = clone
			}
			l.mustRun("lxc-start", "-n", n)
			l.waitState(n, "RUNNING", 10*time.Second)
			if got := l.attach(n, "/bin/cat", "/mnt/marker"); got != "from-hook\n" {
				t.Errorf("/mnt/marker in the container: %q, want the mount hook's", got)
			}
			// The container's own mounts stayed through the bind's undoing.
			if got := l.attach(n, "/bin/sh", "-c", "[ -r /proc/1/status ] && [ -c /dev/null ] && grep -c ' /sys ' /proc/self/mountinfo"); strings.TrimSpace(got) == "0" {
				t.Errorf("the container lost its mounts: %q", got)
			}
			if _, err := os.Stat(filepath.Join(l.path, n, "rootfs", "mnt", "marker")); err == nil {
				t.Errorf("the hook's mount shows on the host")
			}
			if b, _ := os.ReadFile("/proc/self/mountinfo"); strings.Contains(string(b), "golxc-rootfs") {
				t.Errorf("the hooks' rootfs mount point is mounted on the host")
			}
			l.mustRun("lxc-stop", "-n", n, "-k")
		})
	}
}

// TestHookReboot: a container that reboots runs its stop and post-stop
// hooks with LXC_TARGET=reboot, then its pre-start hooks again; the stop
// that ends it, with LXC_TARGET=stop.
func TestHookReboot(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	log := filepath.Join(l.aux, "hooks.log")
	hook := l.writeFile("hook.sh", "#!/bin/sh\necho \"$LXC_HOOK_TYPE $LXC_TARGET\" >> "+log+"\n", 0o755)
	n := l.createBusybox("lxc.hook.version = 1", "lxc.hook.pre-start = "+hook, "lxc.hook.stop = "+hook, "lxc.hook.post-stop = "+hook)
	l.mustRun("lxc-start", "-n", n)
	l.waitState(n, "RUNNING", 10*time.Second)
	old := l.initPID(n)
	l.mustRun("lxc-stop", "-n", n, "-r")
	l.waitRestarted(n, old, 20*time.Second, "lxc-stop -r")
	l.mustRun("lxc-stop", "-n", n, "-k")
	b, _ := os.ReadFile(log)
	want := "pre-start \nstop reboot\npost-stop reboot\npre-start \nstop stop\npost-stop stop\n"
	if string(b) != want {
		t.Errorf("hooks around a reboot:\n%s\nwant\n%s", b, want)
	}
}

// TestHookLeftovers: a process a host hook starts and leaves running
// (a start-host hook's daemon) goes with the container, and with it the
// monitor's cgroup, which LXC leaves behind.
func TestHookLeftovers(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	mark := "golxc-hook-daemon-" + newName(t)
	daemon := filepath.Join(l.aux, mark)
	b, err := os.ReadFile("/bin/sleep")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(daemon, b, 0o755); err != nil {
		t.Fatal(err)
	}
	hook := l.writeFile("daemon.sh", "#!/bin/sh\n"+daemon+" 1000 </dev/null >/dev/null 2>&1 &\n", 0o755)
	n := l.createBusybox("lxc.hook.start-host = " + hook)
	l.mustRun("lxc-start", "-n", n)
	l.waitState(n, "RUNNING", 10*time.Second)
	running := func() []int {
		var pids []int
		ents, _ := os.ReadDir("/proc")
		for _, e := range ents {
			if exe, err := os.Readlink("/proc/" + e.Name() + "/exe"); err == nil && exe == daemon {
				pid, _ := strconv.Atoi(e.Name())
				pids = append(pids, pid)
			}
		}
		return pids
	}
	if len(running()) == 0 {
		t.Fatal("the start-host hook's daemon is not running")
	}
	t.Cleanup(func() {
		for _, pid := range running() {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	l.mustRun("lxc-stop", "-n", n)
	if left := running(); len(left) > 0 {
		t.Errorf("the hook's daemon %v outlived the container", left)
	}
	assertNoCgroups(t, n, "lxc-stop")
}
