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

// holdMountNS starts a process in a mount namespace of its own in which
// its owner has run setup (a shell line); it returns its pid.
func holdMountNS(t *testing.T, setup string) string {
	t.Helper()
	ready := filepath.Join(t.TempDir(), "ready")
	cmd := exec.Command("unshare", "--mount", "--propagation", "private", "sh", "-c", setup+" && touch "+ready+" && exec sleep 1000")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	for i := 0; ; i++ {
		if _, err := os.Stat(ready); err == nil {
			break
		}
		if i > 200 {
			t.Fatal("the namespace's owner did not get ready")
		}
		time.Sleep(25 * time.Millisecond)
	}
	return strconv.Itoa(cmd.Process.Pid)
}

// TestAttackOCIJoinedMountHook: a container that joins a mount namespace
// by path runs its createContainer hook by the runtime's path, not by
// whatever the namespace's owner mounted at the same name (the hook runs
// with every capability): its own program bound over the hook's path
// (and over /bin/sh, the hook's interpreter) is not what runs.
func TestAttackOCIJoinedMountHook(t *testing.T) {
	r := newOCIRuntime(t)
	dir := t.TempDir()
	hook := filepath.Join(dir, "hook")
	if err := os.WriteFile(hook, []byte("#!/bin/sh\necho runtime > "+dir+"/ran\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	planted := filepath.Join(dir, "planted")
	if err := os.WriteFile(planted, []byte("#!/bin/busybox sh\necho PLANTED > "+dir+"/ran\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	pid := holdMountNS(t, "mount --bind "+planted+" "+hook+" && mount --bind "+planted+" /bin/sh")
	id, bundle := r.container("jmh", func(s *specs.Spec) {
		s.Process.Args = []string{"sleep", "1000"}
		for i, n := range s.Linux.Namespaces {
			if n.Type == specs.MountNamespace {
				s.Linux.Namespaces[i].Path = "/proc/" + pid + "/ns/mnt"
			}
		}
		s.Hooks = &specs.Hooks{CreateContainer: []specs.Hook{{Path: hook}}}
	})
	out, code := r.run(outFile(t), "create", "--bundle", bundle, id)
	if code != 0 {
		t.Fatalf("create: exit %d %q", code, out)
	}
	ran, _ := os.ReadFile(filepath.Join(dir, "ran"))
	if got := strings.TrimSpace(string(ran)); got != "runtime" {
		t.Errorf("the createContainer hook wrote %q, want the runtime's hook (\"runtime\")", got)
	}
}
