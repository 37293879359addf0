package hooks

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/golxc/golxc/internal/config"
)

// recorder is a hook that writes its arguments, working directory,
// LXC_ variables and open descriptors to OUT.N, N its place in line.
const recorder = `#!/bin/sh
n=$1; shift
{
printf 'ARG:%s\n' "$@"
echo "CWD:$(pwd)"
env | grep -E '^(LXC_|GOLXC_|KEEP)' | sort | sed 's/^/ENV:/'
ls /proc/self/fd | sed 's/^/FD:/'
} > "$OUT.$n"
echo "hook $n done"
`

func writeScript(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func loadConfig(t *testing.T, dir, text string) *config.Config {
	t.Helper()
	p := filepath.Join(dir, "config")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func lines(t *testing.T, path, prefix string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the hook did not run: %v", err)
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, prefix); ok {
			out = append(out, v)
		}
	}
	return out
}

func TestRunClone(t *testing.T) {
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Skip("no /bin/sh")
	}
	for _, version := range []int{0, 1} {
		t.Run("version"+string(rune('0'+version)), func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "out")
			rec := writeScript(t, dir, "rec.sh", strings.Replace(recorder, "$OUT", out, 1))
			rootfs := filepath.Join(dir, "rootfs")
			// Two clone hooks, the first with arguments of its own: both
			// run, in order; a cleared list before them is gone.
			cfg := loadConfig(t, dir, "lxc.hook.clone = "+rec+" never\nlxc.hook.clone =\n"+
				"lxc.hook.clone = "+rec+" 1 'own arg'\nlxc.hook.clone = "+rec+" 2\n"+
				"lxc.rootfs.path = dir:"+rootfs+"\nlxc.hook.version = "+string(rune('0'+version))+"\n")
			// A descriptor of the caller's, not close-on-exec: no hook may
			// get it.
			leak, err := unix.Open(dir, unix.O_RDONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer unix.Close(leak)
			t.Setenv("KEEP_ME", "yes")
			t.Setenv("LXC_NAME", "callers")
			t.Setenv("GOLXC_STAGE", "monitor")
			t.Chdir(dir)
			err = RunClone(context.Background(), cfg, CloneInfo{Name: "new", ConfigFile: "/p/new/config", SrcName: "old",
				RootfsMount: rootfs, Args: []string{"x 1", "y"}})
			if err != nil {
				t.Fatalf("RunClone: %v", err)
			}
			if _, err := os.Stat(out + ".never"); err == nil {
				t.Error("a hook cleared by an empty lxc.hook.clone ran")
			}
			wantArgs := map[string][]string{
				"1": {"own arg", "x 1", "y"},
				"2": {"x 1", "y"},
			}
			if version == 0 {
				wantArgs["1"] = []string{"own arg", "new", "lxc", "clone", "x 1", "y"}
				wantArgs["2"] = []string{"new", "lxc", "clone", "x 1", "y"}
			}
			for _, n := range []string{"1", "2"} {
				if got := lines(t, out+"."+n, "ARG:"); strings.Join(got, "|") != strings.Join(wantArgs[n], "|") {
					t.Errorf("hook %s: arguments %q, want %q", n, got, wantArgs[n])
				}
				if got := lines(t, out+"."+n, "CWD:"); len(got) != 1 || got[0] != dir {
					t.Errorf("hook %s: working directory %q, want the caller's %s", n, got, dir)
				}
				env := lines(t, out+"."+n, "ENV:")
				want := []string{"KEEP_ME=yes", "LXC_CONFIG_FILE=/p/new/config", "LXC_NAME=new",
					"LXC_ROOTFS_MOUNT=" + rootfs, "LXC_ROOTFS_PATH=dir:" + rootfs, "LXC_SRC_NAME=old"}
				if version == 1 {
					want = append(want[:2], append([]string{"LXC_HOOK_SECTION=lxc", "LXC_HOOK_TYPE=clone"}, want[2:]...)...)
				}
				if strings.Join(env, "\n") != strings.Join(want, "\n") {
					t.Errorf("hook %s: environment\n%s\nwant\n%s", n, strings.Join(env, "\n"), strings.Join(want, "\n"))
				}
				for _, fd := range lines(t, out+"."+n, "FD:") {
					if fd != "0" && fd != "1" && fd != "2" && fd != "3" { // 3: ls's own directory
						t.Errorf("hook %s has descriptor %s open", n, fd)
					}
				}
			}
		})
	}
}

func TestRunCloneFailure(t *testing.T) {
	dir := t.TempDir()
	fail := writeScript(t, dir, "fail.sh", "#!/bin/sh\necho first\necho 'the reason' >&2\nexit 7\n")
	after := filepath.Join(dir, "after")
	cfg := loadConfig(t, dir, "lxc.hook.clone = "+fail+"\nlxc.hook.clone = touch "+after+"\n")
	err := RunClone(context.Background(), cfg, CloneInfo{Name: "new", SrcName: "old"})
	var he *Error
	if !errors.As(err, &he) {
		t.Fatalf("RunClone of a failing hook: %v, want an *Error", err)
	}
	if he.Code != 7 || he.LastLine != "the reason" || he.Kind != Clone {
		t.Errorf("error %+v: want status 7, last line \"the reason\"", he)
	}
	if msg := err.Error(); !strings.Contains(msg, "exited with status 7") || !strings.Contains(msg, "the reason") || strings.Contains(msg, "\n") {
		t.Errorf("message %q: want one line with the status and the last line", msg)
	}
	if _, err := os.Stat(after); err == nil {
		t.Error("the hook after a failed one ran")
	}
}

func TestNoHooks(t *testing.T) {
	cfg := loadConfig(t, t.TempDir(), "lxc.hook.start = /bin/false\n")
	if err := RunClone(context.Background(), cfg, CloneInfo{Name: "n"}); err != nil {
		t.Errorf("no clone hooks: %v", err)
	}
}

func TestLine(t *testing.T) {
	c := Container{Name: "c1"}
	if got := Line(Stop, "/h x", c, []string{"mnt:/proc/1/fd/5", "a b"}); got != "/h x c1 lxc stop mnt:/proc/1/fd/5 'a b'" {
		t.Errorf("version 0: %q", got)
	}
	c.Version = 1
	if got := Line(Stop, "/h", c, nil); got != "/h" {
		t.Errorf("version 1: %q", got)
	}
}

// LXC's own clone hook, ubuntu-cloud-prep, run as lxc-copy runs it under
// lxc.hook.version 0: it reads the type from its third argument and the
// new rootfs from LXC_ROOTFS_MOUNT, and seeds cloud-init there.
func TestRunCloneUbuntuCloudPrep(t *testing.T) {
	const hook = "/usr/share/lxc/hooks/ubuntu-cloud-prep"
	if _, err := os.Stat(hook); err != nil {
		t.Skip("Debian's lxc package is not installed (no " + hook + ")")
	}
	dir := t.TempDir()
	rootfs := filepath.Join(dir, "rootfs")
	for _, d := range []string{"etc", "var/lib"} {
		if err := os.MkdirAll(filepath.Join(rootfs, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cfg := loadConfig(t, dir, "lxc.rootfs.path = dir:"+rootfs+"\nlxc.hook.clone = "+hook+"\n")
	err := RunClone(context.Background(), cfg, CloneInfo{Name: "copy1", ConfigFile: filepath.Join(dir, "config"), SrcName: "orig",
		RootfsMount: rootfs, Args: []string{"--hostid", "deadbeef", "--nolocales", "x"}})
	if err != nil {
		t.Fatalf("ubuntu-cloud-prep as a clone hook: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(rootfs, "etc/hostname")); string(b) != "copy1\n" {
		t.Errorf("etc/hostname %q, want the clone's name", b)
	}
	meta, _ := os.ReadFile(filepath.Join(rootfs, "var/lib/cloud/seed/nocloud-net/meta-data"))
	if string(meta) != "instance-id: lxc-deadbeef\nlocal-hostname: copy1\n" {
		t.Errorf("cloud-init meta-data %q", meta)
	}
}
