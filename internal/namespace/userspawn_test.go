package namespace

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestMain lets this test binary serve as golxc's user stage, which
// StartMapped re-execs (/proc/self/exe).
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == UserStageArg {
		RunUserStage(os.Args[2:])
	}
	os.Exit(m.Run())
}

// StartMapped's stage, born unmapped in its user namespace, waits for its
// maps (written here by root, as newuidmap would for a user), becomes the
// namespace's root with no ambient capabilities left, gives the paths it
// is asked to to that root, and execs the command.
func TestStartMapped(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to write the maps without newuidmap")
	}
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	mine := filepath.Join(dir, "rootfs")
	if err := os.Mkdir(mine, 0o755); err != nil {
		t.Fatal(err)
	}
	// The caller's own id (root here, standing for the user) is mapped
	// at 65536, as WithCaller maps it: the stage may chown what it owns.
	m := IDMaps{UID: []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}, GID: []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}}
	m = m.WithCaller(Caller{UID: 0, GID: 0})
	cmd := exec.Command("/bin/sh", "-c", "id -u; id -g; grep -E '^Cap(Amb|Eff)' /proc/self/status")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := StartMapped(cmd, m, []string{mine}); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	f := strings.Fields(out.String())
	if len(f) != 6 || f[0] != "0" || f[1] != "0" || f[3] == "0000000000000000" || f[5] != "0000000000000000" {
		t.Errorf("inside: %q, want uid and gid 0, no ambient capabilities and a full effective set", out.String())
	}
	var st syscall.Stat_t
	if err := syscall.Stat(mine, &st); err != nil {
		t.Fatal(err)
	}
	if st.Uid != 100000 || st.Gid != 100000 {
		t.Errorf("the stage gave %s to %d:%d, want the mapped root 100000:100000", mine, st.Uid, st.Gid)
	}
	// Maps that cannot be written: the child is killed, nothing runs.
	bad := IDMaps{UID: []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 10}, {ContainerID: 5, HostID: 200000, Size: 10}}, GID: m.GID}
	cmd = exec.Command("/bin/sh", "-c", "touch "+filepath.Join(dir, "ran"))
	if err := StartMapped(cmd, bad, nil); err == nil {
		cmd.Wait()
		t.Error("StartMapped with overlapping maps started the command")
	}
	if _, err := os.Stat(filepath.Join(dir, "ran")); err == nil {
		t.Error("the command ran without its maps")
	}
}
