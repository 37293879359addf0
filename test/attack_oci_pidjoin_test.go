package test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// holdPidNS starts a process in a pid namespace of its own and returns
// the host pid of that namespace's first process.
func holdPidNS(t *testing.T) string {
	t.Helper()
	// --kill-child: unshare's child (the namespace's init, found below)
	// goes when the cleanup kills unshare.
	cmd := exec.Command("unshare", "--pid", "--fork", "--kill-child", "sleep", "1000")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	task := "/proc/" + strconv.Itoa(cmd.Process.Pid) + "/task/" + strconv.Itoa(cmd.Process.Pid) + "/children"
	for i := 0; i < 200; i++ {
		if b, _ := os.ReadFile(task); len(strings.TrimSpace(string(b))) > 0 {
			return strings.Fields(string(b))[0]
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatal("unshare's child did not appear")
	return ""
}

// TestAttackOCIPidJoinCreateHook: a createContainer hook runs with every
// capability and the host's filesystem; in a pid namespace joined by path
// the namespace's own processes see it (and its exec made it dumpable):
// refused at create, in one line naming why, with nothing run.
func TestAttackOCIPidJoinCreateHook(t *testing.T) {
	r := newOCIRuntime(t)
	inner := holdPidNS(t)
	dir := t.TempDir()
	id, bundle := r.container("pjh", func(s *specs.Spec) {
		s.Process.Args = []string{"sleep", "1000"}
		for i, n := range s.Linux.Namespaces {
			if n.Type == specs.PIDNamespace {
				s.Linux.Namespaces[i].Path = "/proc/" + inner + "/ns/pid"
			}
		}
		s.Hooks = &specs.Hooks{CreateContainer: []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c", "touch " + dir + "/ran"}}}}
	})
	f := outFile(t)
	_, code := r.run(f, "create", "--bundle", bundle, id)
	b, _ := os.ReadFile(f.Name())
	out := string(b)
	if code == 0 || !strings.Contains(out, "createContainer") || !strings.Contains(out, "pid namespace") || strings.Count(strings.TrimSpace(out), "\n") != 0 {
		t.Errorf("create: exit %d %q, want a one-line refusal", code, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "ran")); err == nil {
		t.Error("the createContainer hook ran")
	}
	if _, code := r.run(nil, "state", id); code == 0 {
		t.Error("the refused container has a state")
	}
}
