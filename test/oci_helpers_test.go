package test

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// busyboxApplets are linked to busybox in the test rootfs.
var busyboxApplets = []string{"sh", "ls", "cat", "echo", "sleep", "id", "hostname", "ps", "tty", "true", "mount", "touch", "grep", "stat", "readlink", "test", "kill"}

// ociRootfs fills dir with a minimal busybox root: the static busybox,
// its applets, an /etc/passwd and the directories a container mounts on.
func ociRootfs(t *testing.T, dir string) {
	t.Helper()
	requireBusybox(t)
	for _, d := range []string{"bin", "etc", "proc", "sys", "dev", "tmp", "root", "run"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bin/busybox"), b, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, a := range busyboxApplets {
		if err := os.Symlink("busybox", filepath.Join(dir, "bin", a)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "etc/passwd"), []byte("root:x:0:0:root:/root:/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// ociBundle makes a bundle under a new temp dir: rootfs and the config
// golxc-runc spec writes, changed by edit. It returns the bundle dir.
func ociBundle(t *testing.T, edit func(*specs.Spec)) string {
	t.Helper()
	b := t.TempDir()
	ociRootfs(t, filepath.Join(b, "rootfs"))
	cmd := exec.Command(filepath.Join(binDir(t), "golxc-runc"), "spec", "--bundle", b)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("golxc-runc spec: %v: %s", err, out)
	}
	s := readSpec(t, b)
	s.Process.Terminal = false
	s.Root.Readonly = false
	if edit != nil {
		edit(s)
	}
	writeSpec(t, b, s)
	return b
}

func readSpec(t *testing.T, bundle string) *specs.Spec {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(bundle, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	s := new(specs.Spec)
	if err := json.Unmarshal(raw, s); err != nil {
		t.Fatal(err)
	}
	return s
}

func writeSpec(t *testing.T, bundle string, s *specs.Spec) {
	t.Helper()
	raw, err := json.MarshalIndent(s, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bundle, "config.json"), raw, 0o644); err != nil {
		t.Fatal(err)
	}
}

// ociRuntime runs golxc-runc with one --root (a temp dir) and removes
// what its containers leave when the test ends.
type ociRuntime struct {
	t    *testing.T
	root string
	ids  []string
}

func newOCIRuntime(t *testing.T) *ociRuntime {
	t.Helper()
	requireRoot(t)
	r := &ociRuntime{t: t, root: filepath.Join(t.TempDir(), "state")}
	t.Cleanup(func() {
		for _, id := range r.ids {
			r.run(nil, "delete", "--force", id)
		}
	})
	return r
}

// track has the container deleted at the end of the test.
func (r *ociRuntime) track(id string) { r.ids = append(r.ids, id) }

// run runs golxc-runc --root ROOT args; stdio, when set, are the
// call's stdout and stderr files (a container that inherits them must
// not hold the test's pipes).
func (r *ociRuntime) run(stdio *os.File, args ...string) (string, int) {
	r.t.Helper()
	return r.runIn(stdio, "", args...)
}

func (r *ociRuntime) runIn(stdio *os.File, stdin string, args ...string) (string, int) {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), toolTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(binDir(r.t), "golxc-runc"), append([]string{"--root", r.root}, args...)...)
	var out bytes.Buffer
	if stdio != nil {
		cmd.Stdout, cmd.Stderr = stdio, stdio
	} else {
		cmd.Stdout, cmd.Stderr = &out, &out
		cmd.WaitDelay = 10 * time.Second
	}
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	err := cmd.Run()
	if ctx.Err() != nil {
		r.t.Fatalf("golxc-runc %s: timed out", strings.Join(args, " "))
	}
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		r.t.Fatalf("golxc-runc %s: %v", strings.Join(args, " "), err)
	}
	return out.String(), code
}

func (r *ociRuntime) mustRun(stdio *os.File, args ...string) string {
	r.t.Helper()
	out, code := r.run(stdio, args...)
	if code != 0 {
		r.t.Fatalf("golxc-runc %s: exit %d: %s", strings.Join(args, " "), code, out)
	}
	return out
}

func (r *ociRuntime) state(id string) map[string]any {
	r.t.Helper()
	out := r.mustRun(nil, "state", id)
	var st map[string]any
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		r.t.Fatalf("state %s: %v: %q", id, err, out)
	}
	return st
}

// waitStatus waits until container id has status want.
func (r *ociRuntime) waitStatus(id, want string) {
	r.t.Helper()
	var got any
	if !waitFor(10*time.Second, func() bool { got = r.state(id)["status"]; return got == want }) {
		r.t.Fatalf("container %s: status %v, want %s", id, got, want)
	}
}

// ociImageTar writes an OCI image layout of a busybox rootfs, with the
// annotation ctr names the image by, as a tar archive at path.
func ociImageTar(t *testing.T, path, name string, cmd []string) {
	t.Helper()
	rootfs := t.TempDir()
	ociRootfs(t, rootfs)
	var layer bytes.Buffer
	tw := tar.NewWriter(&layer)
	err := filepath.Walk(rootfs, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(rootfs, p)
		if rel == "." {
			return nil
		}
		link := ""
		if fi.Mode()&os.ModeSymlink != 0 {
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		}
		h, err := tar.FileInfoHeader(fi, link)
		if err != nil {
			return err
		}
		h.Name = rel
		if fi.IsDir() {
			h.Name += "/"
		}
		h.Uid, h.Gid, h.Uname, h.Gname = 0, 0, "", ""
		h.ModTime = time.Unix(0, 0)
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if fi.Mode().IsRegular() {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = io.Copy(tw, f)
			return err
		}
		return nil
	})
	if err != nil || tw.Close() != nil {
		t.Fatalf("layer: %v", err)
	}
	blobs := map[string][]byte{}
	put := func(b []byte) (string, int) {
		sum := sha256.Sum256(b)
		d := hex.EncodeToString(sum[:])
		blobs[d] = b
		return "sha256:" + d, len(b)
	}
	ld, ls := put(layer.Bytes())
	cfg, _ := json.Marshal(map[string]any{
		"architecture": "amd64", "os": "linux",
		"config": map[string]any{"Env": []string{"PATH=/bin"}, "Cmd": cmd, "WorkingDir": "/"},
		"rootfs": map[string]any{"type": "layers", "diff_ids": []string{ld}},
	})
	cd, cs := put(cfg)
	man, _ := json.Marshal(map[string]any{
		"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
		"config": map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": cs},
		"layers": []any{map[string]any{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": ld, "size": ls}},
	})
	md, ms := put(man)
	index, _ := json.Marshal(map[string]any{
		"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
		"manifests": []any{map[string]any{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": ms,
			"platform":    map[string]any{"architecture": "amd64", "os": "linux"},
			"annotations": map[string]any{"io.containerd.image.name": name}}},
	})
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := tar.NewWriter(f)
	add := func(name string, b []byte) {
		if err := out.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := out.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	add("oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`))
	add("index.json", index)
	for d, b := range blobs {
		add("blobs/sha256/"+d, b)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// removeOCICgroups removes a test's cgroup directory (deepest first) in
// every hierarchy, once its processes are gone.
func removeOCICgroups(rel string) {
	for _, h := range []string{"blkio", "cpu", "cpuacct", "cpuset", "devices", "freezer", "memory", "pids", "systemd", "unified", "hugetlb", "net_cls", "perf_event"} {
		root := filepath.Join("/sys/fs/cgroup", h, rel)
		var dirs []string
		_ = filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
			if err == nil && fi.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		for i := len(dirs) - 1; i >= 0; i-- {
			_ = syscall.Rmdir(dirs[i])
		}
	}
}

// cgroupExists says whether rel exists in any hierarchy, or its name is
// still reserved by golxc.
func cgroupExists(rel string) bool {
	ms, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup", "*", rel))
	if len(ms) > 0 {
		return true
	}
	// Nor its name's reservation (cgroup.nameLock's file, named as
	// lockFileName names it): a delete by another process than the
	// create's removes it too.
	name := strings.ReplaceAll(strings.ReplaceAll(strings.TrimPrefix(rel, "/"), "%", "%25"), "/", "%2F")
	_, err := os.Stat(filepath.Join("/run/golxc/cgroup", name))
	return err == nil
}

func ociUnique(t *testing.T, prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, os.Getpid(), time.Now().UnixNano()%1000000)
}

// container makes a bundle for a new container id (prefix + unique
// part) in a cgroup of its own that goes with the test, edited by edit
// (nil: the default spec), and tracks the id for the runtime's cleanup.
func (r *ociRuntime) container(prefix string, edit func(*specs.Spec)) (id, bundle string) {
	r.t.Helper()
	id = ociUnique(r.t, prefix)
	cg := ociCgroup(r.t, id)
	bundle = ociBundle(r.t, func(s *specs.Spec) {
		s.Linux.CgroupsPath = "/" + cg
		if edit != nil {
			edit(s)
		}
	})
	r.track(id)
	return id, bundle
}
