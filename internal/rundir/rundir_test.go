package rundir

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestCheckOwnRefuses(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to make a directory of another user")
	}
	// A directory another user owns (as a local user could make under a
	// world-writable runtime directory) is refused.
	bad := filepath.Join(t.TempDir(), "golxc")
	if err := os.Mkdir(bad, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(bad, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	if err := checkOwn(bad, false); err == nil {
		t.Errorf("a directory of uid 65534 passes the runtime directory check")
	}
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(t.TempDir(), link); err != nil {
		t.Fatal(err)
	}
	if err := checkOwn(link, false); err == nil {
		t.Errorf("a symlink passes the runtime directory check")
	}
	open := filepath.Join(t.TempDir(), "open")
	if err := os.Mkdir(open, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := checkOwn(open, false); err == nil {
		t.Errorf("a world-writable directory passes the runtime directory check")
	}
}

// TestUserDir runs this test binary as uid 65534 with an XDG_RUNTIME_DIR
// of its own: Dir is under it, and Prepare closes it to others.
func TestUserDir(t *testing.T) {
	if d := os.Getenv("RUNDIR_TEST_CHILD"); d != "" {
		if got, want := Dir(), filepath.Join(d, "golxc"); got != want {
			t.Fatalf("Dir() = %s, want %s", got, want)
		}
		p, err := Prepare("lock")
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range []string{Dir(), p} {
			st, err := os.Lstat(x)
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode().Perm() != 0o700 {
				t.Errorf("%s: mode %o, want 0700", x, st.Mode().Perm())
			}
		}
		return
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to run as uid 65534")
	}
	xdg := t.TempDir()
	if err := os.Chmod(filepath.Dir(xdg), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(xdg, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(xdg, 0o700); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/proc/self/exe", "-test.run", "^TestUserDir$", "-test.count=1")
	cmd.Env = []string{"RUNDIR_TEST_CHILD=" + xdg, "XDG_RUNTIME_DIR=" + xdg}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("as uid 65534: %v: %s", err, out)
	}
	if !strings.Contains(string(out), "PASS") {
		t.Fatalf("as uid 65534: %s", out)
	}
	// Another user's runtime directory is refused.
	if err := os.Chown(xdg, 0, 0); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(filepath.Join(xdg, "golxc"), 0, 0); err != nil {
		t.Fatal(err)
	}
	cmd = exec.Command("/proc/self/exe", "-test.run", "^TestUserDir$", "-test.count=1")
	cmd.Env = []string{"RUNDIR_TEST_CHILD=" + xdg, "XDG_RUNTIME_DIR=" + xdg}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	if out, err := cmd.CombinedOutput(); err == nil {
		t.Errorf("a runtime directory of root's was taken by uid 65534: %s", out)
	}
}
