package test

import (
	"archive/tar"
	"bytes"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/golxc/golxc/internal/image/imagetest"
)

// ociTestImage is a busybox image of two layers: a rootfs, then a layer
// with a whiteout, an opaque directory, a hard link, an extended
// attribute, a set-uid file, a device node and odd owners and times.
func ociTestImage(t *testing.T) (imagetest.Image, [][]imagetest.Entry) {
	t.Helper()
	requireBusybox(t)
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Fatal(err)
	}
	dir := func(name string, mode int64, uid, gid int) imagetest.Entry {
		return imagetest.Entry{Name: name, Type: tar.TypeDir, Mode: mode, UID: uid, GID: gid}
	}
	file := func(name, data string, mode int64) imagetest.Entry {
		return imagetest.Entry{Name: name, Data: []byte(data), Mode: mode}
	}
	l1 := []imagetest.Entry{
		dir("./", 0o755, 0, 0), dir("bin/", 0o755, 0, 0), dir("etc/", 0o755, 0, 0), dir("tmp/", 0o1777, 0, 0),
		dir("proc/", 0o555, 0, 0), dir("sys/", 0o555, 0, 0), dir("dev/", 0o755, 0, 0), dir("home/", 0o755, 0, 0),
		dir("home/app/", 0o700, 1000, 1001), dir("work/", 0o775, 1000, 1001), dir("data/", 0o755, 0, 0),
		dir("opq/", 0o755, 0, 0), dir("opq/sub/", 0o755, 0, 0),
		{Name: "bin/busybox", Data: bb, Mode: 0o755},
		file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1001:app:/home/app:/bin/sh\n", 0o644),
		file("etc/group", "root:x:0:\napp:x:1001:\nappgrp:x:1002:\n", 0o644),
		file("data/removed", "whited out\n", 0o644),
		file("data/orig", "linked\n", 0o644),
		file("opq/old", "old\n", 0o644),
		file("opq/sub/old", "old\n", 0o644),
	}
	for _, app := range []string{"sh", "echo", "id", "pwd", "env", "cat", "ls", "stat"} {
		l1 = append(l1, imagetest.Entry{Name: "bin/" + app, Type: tar.TypeSymlink, Linkname: "busybox"})
	}
	when := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	l2 := []imagetest.Entry{
		{Name: "data/.wh.removed"},
		{Name: "opq/.wh..wh..opq"},
		file("opq/new", "new\n", 0o600),
		{Name: "data/hard", Type: tar.TypeLink, Linkname: "data/orig"},
		{Name: "data/attr", Data: []byte("attr\n"), Mode: 0o644, Xattrs: map[string]string{"user.golxc.test": "value 1"}},
		file("data/suid", "#!/bin/sh\n", 0o4755),
		{Name: "data/owned", Data: []byte("owned\n"), Mode: 0o640, UID: 1234, GID: 5678, ModTime: when},
		{Name: "data/null2", Type: tar.TypeChar, Mode: 0o666, Major: 1, Minor: 3},
		{Name: "data/link", Type: tar.TypeSymlink, Linkname: "../etc/passwd", UID: 1000, GID: 1001},
	}
	var layers []imagetest.Layer
	for i, l := range [][]imagetest.Entry{l1, l2} {
		b, err := imagetest.Tar(l)
		if err != nil {
			t.Fatal(err)
		}
		layers = append(layers, imagetest.Layer{Tar: b, Gzip: i == 0})
	}
	return imagetest.Image{
		Layers: layers,
		Config: imagetest.Config{
			Entrypoint: []string{"/bin/sh", "-c"},
			Cmd:        []string{`echo "$GREETING"; pwd; id -u; id -g; echo "$A_B"`},
			Env:        []string{"PATH=/bin", "GREETING=hello 'oci' world", "A_B=x=y"},
			WorkingDir: "/work",
			User:       "app:appgrp",
		},
	}, [][]imagetest.Entry{l1, l2}
}

// modelTree is what the layers make, by the OCI layer rules, computed
// apart from the code under test.
func modelTree(layers [][]imagetest.Entry) map[string]imagetest.Entry {
	tree := map[string]imagetest.Entry{}
	from := map[string]int{}
	for i, l := range layers {
		for _, e := range l {
			p := path.Clean(e.Name)
			dir, base := path.Split(p)
			dir = path.Clean(dir)
			under := func(q, d string) bool { return d == "." || strings.HasPrefix(q, d+"/") }
			switch {
			case base == ".wh..wh..opq":
				for q := range tree {
					if under(q, dir) && q != dir && from[q] < i {
						delete(tree, q)
					}
				}
			case strings.HasPrefix(base, ".wh."):
				victim := path.Join(dir, strings.TrimPrefix(base, ".wh."))
				for q := range tree {
					if q == victim || strings.HasPrefix(q, victim+"/") {
						delete(tree, q)
					}
				}
			default:
				tree[p] = e
				from[p] = i
			}
		}
	}
	return tree
}

// checkTree compares the rootfs with the model: the same paths, and each
// with its type, mode, owner, content, link target, device, extended
// attributes and mtime. shift is added to owners.
func checkTree(t *testing.T, rootfs string, model map[string]imagetest.Entry, shift int) {
	t.Helper()
	got := map[string]bool{}
	filepath.Walk(rootfs, func(p string, _ os.FileInfo, err error) error {
		if err == nil && p != rootfs {
			got[strings.TrimPrefix(p, rootfs+"/")] = true
		}
		return nil
	})
	// Written by the template, as LXC's does.
	for _, p := range []string{"etc/hostname", "etc/hosts"} {
		if !got[p] {
			t.Errorf("rootfs: no /%s", p)
		}
		delete(got, p)
	}
	var missing, extra []string
	for p := range model {
		if p != "." && !got[p] {
			missing = append(missing, p)
		}
	}
	for p := range got {
		if _, ok := model[p]; !ok {
			extra = append(extra, p)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 || len(extra) > 0 {
		t.Errorf("rootfs tree: missing %v, extra %v", missing, extra)
	}
	for p, e := range model {
		full := filepath.Join(rootfs, p)
		var st unix.Stat_t
		if err := unix.Lstat(full, &st); err != nil {
			continue
		}
		if e.Type == tar.TypeLink {
			var tst unix.Stat_t
			if err := unix.Lstat(filepath.Join(rootfs, e.Linkname), &tst); err != nil || tst.Ino != st.Ino {
				t.Errorf("/%s: not a hard link of /%s", p, e.Linkname)
			}
			continue
		}
		typ := map[byte]uint32{0: unix.S_IFREG, tar.TypeReg: unix.S_IFREG, tar.TypeDir: unix.S_IFDIR, tar.TypeSymlink: unix.S_IFLNK, tar.TypeChar: unix.S_IFCHR}[e.Type]
		wantMode := uint32(e.Mode) & 0o7777
		if e.Type == tar.TypeSymlink {
			wantMode = st.Mode & 0o7777
		}
		if st.Mode&unix.S_IFMT != typ || st.Mode&0o7777 != wantMode || int(st.Uid) != e.UID+shift || int(st.Gid) != e.GID+shift {
			t.Errorf("/%s: mode %o owner %d:%d, want %o %d:%d", p, st.Mode, st.Uid, st.Gid, typ|wantMode, e.UID+shift, e.GID+shift)
		}
		switch e.Type {
		case 0, tar.TypeReg:
			if b, err := os.ReadFile(full); err != nil || !bytes.Equal(b, e.Data) {
				t.Errorf("/%s: content differs from the layer's (%d bytes, want %d) %v", p, len(b), len(e.Data), err)
			}
		case tar.TypeSymlink:
			if l, _ := os.Readlink(full); l != e.Linkname {
				t.Errorf("/%s: link to %q, want %q", p, l, e.Linkname)
			}
		case tar.TypeChar:
			if st.Rdev != unix.Mkdev(uint32(e.Major), uint32(e.Minor)) {
				t.Errorf("/%s: device %d:%d, want %d:%d", p, unix.Major(st.Rdev), unix.Minor(st.Rdev), e.Major, e.Minor)
			}
		}
		if p != "." && p != "etc" { // the template writes /etc/hostname and hosts
			// Directories too: a later layer's change below one
			// keeps the time its own entry gave it.
			want := e.ModTime
			if want.IsZero() {
				want = imagetest.Epoch
			}
			if st.Mtim.Sec != want.Unix() {
				t.Errorf("/%s: mtime %s, want %s", p, time.Unix(st.Mtim.Sec, 0).UTC(), want)
			}
		}
		for k, v := range e.Xattrs {
			buf := make([]byte, 256)
			n, err := unix.Lgetxattr(full, k, buf)
			if err != nil || string(buf[:n]) != v {
				t.Errorf("/%s: xattr %s = %q (%v), want %q", p, k, buf[:max(n, 0)], err, v)
			}
		}
	}
}

// writeImage writes the image as transport wants it under dir and
// returns the --url.
func writeImage(t *testing.T, img imagetest.Image, dir, transport string, index, newDocker bool) string {
	t.Helper()
	var f imagetest.Files
	var err error
	if transport == "docker-archive" {
		f, err = img.DockerArchive("golxc/test:1", newDocker)
	} else {
		f, err = img.Layout("1.0", index)
	}
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, fmt.Sprintf("%s-%v-%v", transport, index, newDocker))
	if transport == "oci" {
		err = f.WriteDir(p)
	} else {
		err = f.WriteTar(p)
	}
	if err != nil {
		t.Fatal(err)
	}
	if transport == "docker-archive" {
		return transport + ":" + p
	}
	return transport + ":" + p + ":1.0"
}

// TestOCIImageImport: lxc-create -t oci imports the image from each kind
// of source into the same tree, writes LXC's oci keys, and lxc-execute
// runs the image's command with its environment, directory and user.
func TestOCIImageImport(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	img, layers := ociTestImage(t)
	model := modelTree(layers)
	for _, c := range []struct {
		name, transport  string
		index, newDocker bool
	}{
		{"oci", "oci", false, false},
		{"oci index", "oci", true, false},
		{"oci-archive", "oci-archive", false, false},
		{"docker-archive", "docker-archive", false, false},
		{"docker-archive 25", "docker-archive", false, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			l := l.with(t)
			url := writeImage(t, img, l.aux, c.transport, c.index, c.newDocker)
			n := l.newContainer()
			l.mustRun("lxc-create", "-n", n, "-t", "oci", "-f", l.conf(), "--", "--url", url)
			dir := filepath.Join(l.path, n)
			checkTree(t, filepath.Join(dir, "rootfs"), model, 0)
			if b, _ := os.ReadFile(filepath.Join(dir, "rootfs/etc/hostname")); string(b) != n+"\n" {
				t.Errorf("/etc/hostname %q, want %q", b, n)
			}
			cfg, err := os.ReadFile(filepath.Join(dir, "config"))
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{
				`lxc.execute.cmd = /bin/sh -c 'echo "$GREETING"; pwd; id -u; id -g; echo "$A_B"'`,
				"lxc.mount.auto = proc:mixed sys:mixed cgroup:mixed",
				"lxc.environment = PATH=/bin\n",
				"lxc.environment = GREETING=hello 'oci' world\n",
				"lxc.environment = A_B=x=y\n",
				"lxc.init.uid = 1000\n", "lxc.init.gid = 1002\n", "lxc.init.cwd = /work\n",
				"lxc.uts.name = " + n + "\n",
			} {
				if !strings.Contains(string(cfg), want) {
					t.Errorf("config lacks %q:\n%s", want, cfg)
				}
			}
			if _, err := os.Stat("/usr/share/lxc/config/common.conf"); err == nil && !strings.Contains(string(cfg), "lxc.include = /usr/share/lxc/config/common.conf\n") {
				t.Errorf("config does not include LXC's common.conf, as LXC's oci template does:\n%s", cfg)
			}
			out, errs, code := l.run("lxc-execute", []string{"-n", n}...)
			if want := "hello 'oci' world\n/work\n1000\n1002\nx=y\n"; code != 0 || out != want {
				t.Errorf("lxc-execute -n %s: exit %d %q, want 0 %q\nstderr: %s", n, code, out, want, errs)
			}
			// A command given still wins over lxc.execute.cmd.
			if out, errs, code := l.run("lxc-execute", append([]string{"-n", n}, "--", "/bin/cat", "/data/hard")...); code != 0 || out != "linked\n" {
				t.Errorf("lxc-execute -n %s -- cat /data/hard: exit %d %q\nstderr: %s", n, code, out, errs)
			}
		})
	}
}

// TestOCIImageMapped: with lxc.idmap every owner is shifted into the map
// (as LXC's template gets by unpacking as the mapped root), and the image
// runs in its user namespace.
func TestOCIImageMapped(t *testing.T) {
	t.Parallel()
	l := usernsLab(t)
	img, layers := ociTestImage(t)
	url := writeImage(t, img, l.aux, "oci", false, false)
	n := l.newContainer()
	out, errs, code := l.run("lxc-create", "-n", n, "-t", "oci", "-f", l.conf(idmapLines...), "--", "--url", url)
	if code != 0 || !strings.Contains(errs, "1 device nodes not made") {
		t.Fatalf("lxc-create -t oci (mapped): exit %d, stderr %q, want 0 and a warning of the device node left out", code, errs)
	}
	rootfs := filepath.Join(l.path, n, "rootfs")
	// The image's device node is left out (and a warning says so): the
	// container's root could not have made it.
	model := modelTree(layers)
	delete(model, "data/null2")
	checkTree(t, rootfs, model, 100000)
	cfg, _ := os.ReadFile(filepath.Join(l.path, n, "config"))
	if _, err := os.Stat("/usr/share/lxc/config/userns.conf"); err == nil && !strings.Contains(string(cfg), "lxc.include = /usr/share/lxc/config/userns.conf\n") {
		t.Errorf("config does not include userns.conf, as LXC's oci template does for a mapped container:\n%s", cfg)
	}
	out, errs, code = l.run("lxc-execute", append([]string{"-n", n}, "--", "/bin/sh", "-c", "id -u; stat -c %u:%g /data/owned; cat /proc/self/uid_map")...)
	if f := strings.Fields(out); code != 0 || len(f) < 4 || f[0] != "1000" || f[1] != "1234:5678" || f[3] != "100000" {
		t.Errorf("lxc-execute -n %s (mapped): exit %d %q, want uid 1000, /data/owned 1234:5678 inside, a map from 100000\nstderr: %s", n, code, out, errs)
	}
}

// TestOCIImageRefused: a corrupt blob, an unknown tag, a registry, a
// --dhcp: one line each, a failing exit, nothing left.
func TestOCIImageRefused(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	img, _ := ociTestImage(t)
	f, err := img.Layout("1.0", false)
	if err != nil {
		t.Fatal(err)
	}
	blob := img.LayerBlob(1)
	b := append([]byte(nil), f[blob]...)
	b[len(b)-2000] ^= 0x01 // in the last file's data or the tar's end
	f[blob] = b
	corrupt := filepath.Join(l.aux, "corrupt")
	if err := f.WriteDir(corrupt); err != nil {
		t.Fatal(err)
	}
	good := writeImage(t, img, l.aux, "oci", false, false)
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"corrupt layer", []string{"--url", "oci:" + corrupt + ":1.0"}, "digest mismatch"},
		{"unknown tag", []string{"--url", strings.TrimSuffix(good, ":1.0") + ":2.0"}, `no image tagged "2.0"`},
		{"registry", []string{"--url", "docker://busybox"}, "registries are not supported"},
		{"credentials", []string{"--url", good, "--username", "u"}, "is for a registry"},
		{"dhcp", []string{"--url", good, "--dhcp"}, "--dhcp needs lxc.hook.start-host"},
		{"no url", nil, "no image given"},
	} {
		t.Run(c.name, func(t *testing.T) {
			l := l.with(t)
			n := l.newContainer()
			out, errs, code := l.run("lxc-create", append([]string{"-n", n, "-t", "oci", "-f", l.conf(), "--"}, c.args...)...)
			if code == 0 || !strings.Contains(errs, c.want) || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
				t.Errorf("lxc-create -t oci -- %s: exit %d, stderr %q, want a failure in one line saying %q\nstdout: %s", shellJoin(c.args), code, errs, c.want, out)
			}
			l.assertEmptyLXCPath("lxc-create -t oci -- " + shellJoin(c.args))
		})
	}
}
