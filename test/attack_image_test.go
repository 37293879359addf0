package test

// Attacks by an image on the host that imports it with lxc-create -t oci:
// the layers, the layout's files and the image's config are the
// attacker's; root unpacks them.

import (
	"archive/tar"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/golxc/golxc/internal/image/imagetest"
)

// hostVictims makes a host directory holding a file, both of which no
// import may change, and returns the directory.
func hostVictims(t *testing.T, l *lab) string {
	t.Helper()
	dir, err := os.MkdirTemp(l.aux, "host-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "victim"), []byte("host data\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func checkVictims(t *testing.T, dir string) {
	t.Helper()
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 || ents[0].Name() != "victim" {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("host directory %s now holds %v, want only victim", dir, names)
	}
	var st unix.Stat_t
	if err := unix.Lstat(filepath.Join(dir, "victim"), &st); err != nil {
		t.Fatalf("host victim: %v", err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "victim"))
	if string(b) != "host data\n" || st.Nlink != 1 || st.Mode&0o7777 != 0o644 || st.Uid != 0 {
		t.Errorf("host victim changed: %q links %d mode %o uid %d", b, st.Nlink, st.Mode&0o7777, st.Uid)
	}
	if err := unix.Lstat(dir, &st); err != nil || st.Mode&0o7777 != 0o755 || st.Uid != 0 {
		t.Errorf("host directory changed: mode %o uid %d", st.Mode&0o7777, st.Uid)
	}
}

// importImage writes layers and config as an OCI layout (files may then
// be changed by edit) and runs lxc-create -t oci on it.
func importImage(t *testing.T, l *lab, name string, conf []string, cfg imagetest.Config, edit func(imagetest.Files), layers ...[]imagetest.Entry) (string, int) {
	t.Helper()
	img := imagetest.Image{Config: cfg}
	for _, es := range layers {
		for i := range es {
			if es[i].Mode == 0 && es[i].Type != tar.TypeSymlink {
				es[i].Mode = 0o644
			}
		}
		b, err := imagetest.Tar(es)
		if err != nil {
			t.Fatal(err)
		}
		img.Layers = append(img.Layers, imagetest.Layer{Tar: b})
	}
	f, err := img.Layout("", false)
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(f)
	}
	dir, err := os.MkdirTemp(l.aux, "img-")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	_, errs, code := l.run("lxc-create", "-n", name, "-t", "oci", "-f", l.conf(conf...), "--", "--url", "oci:"+dir)
	return errs, code
}

// TestAttackImageLayers: hostile layer entries are refused, or land inside
// the rootfs; the host's files stay as they were, and a refused import
// leaves nothing.
func TestAttackImageLayers(t *testing.T) {
	t.Parallel()
	base := newLab(t)
	type E = imagetest.Entry
	for _, c := range []struct {
		name    string
		layers  func(host string) [][]E
		refused string // "" when the import may succeed (contained)
	}{
		{"path traversal", func(h string) [][]E {
			return [][]E{{{Name: "../../../../../../../../" + h + "/pwned", Data: []byte("x")}}}
		}, "climbs out of the rootfs"},
		{"absolute path", func(h string) [][]E { return [][]E{{{Name: h + "/pwned", Data: []byte("x")}}} }, ""},
		{"file through a symlink", func(h string) [][]E {
			return [][]E{{{Name: "evil", Type: tar.TypeSymlink, Linkname: h}, {Name: "evil/pwned", Data: []byte("x")}}}
		}, ""},
		{"file through a symlink of an earlier layer", func(h string) [][]E {
			return [][]E{{{Name: "evil", Type: tar.TypeSymlink, Linkname: "../../../../../../" + h}}, {{Name: "evil/pwned", Data: []byte("x")}}}
		}, ""},
		{"file over a symlink to a host file", func(h string) [][]E {
			return [][]E{{{Name: "evil", Type: tar.TypeSymlink, Linkname: h + "/victim"}}, {{Name: "evil", Data: []byte("x"), Mode: 0o4777}}}
		}, ""},
		{"directory over a symlink to a host directory", func(h string) [][]E {
			return [][]E{{{Name: "evil", Type: tar.TypeSymlink, Linkname: h}}, {{Name: "evil/", Type: tar.TypeDir, Mode: 0o777, UID: 1000}}}
		}, ""},
		{"hard link to a host file", func(h string) [][]E {
			return [][]E{{{Name: "hl", Type: tar.TypeLink, Linkname: h + "/victim"}}}
		}, "hard link"},
		{"hard link up and out", func(h string) [][]E {
			return [][]E{{{Name: "hl", Type: tar.TypeLink, Linkname: "../../../../../../" + h + "/victim"}}}
		}, "climbs out of the rootfs"},
		{"hard link through a symlink", func(h string) [][]E {
			return [][]E{{{Name: "evil", Type: tar.TypeSymlink, Linkname: h}, {Name: "hl", Type: tar.TypeLink, Linkname: "evil/victim"}}}
		}, "hard link"},
		{"whiteout up and out", func(h string) [][]E { return [][]E{{{Name: "../../../../../../" + h + "/.wh.victim"}}} }, "climbs out of the rootfs"},
		{"whiteout through a symlink", func(h string) [][]E {
			return [][]E{{{Name: "evil", Type: tar.TypeSymlink, Linkname: h}}, {{Name: "evil/.wh.victim"}}}
		}, ""},
		{"opaque directory through a symlink", func(h string) [][]E {
			return [][]E{{{Name: "evil", Type: tar.TypeSymlink, Linkname: h}}, {{Name: "evil/.wh..wh..opq"}}}
		}, ""},
		{"hostname file a symlink to a host file", func(h string) [][]E {
			return [][]E{{{Name: "etc/", Type: tar.TypeDir, Mode: 0o755}, {Name: "etc/hostname", Type: tar.TypeSymlink, Linkname: h + "/victim"}, {Name: "etc/hosts", Type: tar.TypeSymlink, Linkname: "../../../../../../" + h + "/victim"}}}
		}, ""},
		{"etc a symlink to a host directory", func(h string) [][]E {
			return [][]E{{{Name: "etc", Type: tar.TypeSymlink, Linkname: h}}}
		}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			l := base.with(t)
			host := hostVictims(t, l)
			n := l.newContainer()
			errs, code := importImage(t, l, n, nil, imagetest.Config{}, nil, c.layers(strings.TrimPrefix(host, "/"))...)
			if c.refused == "" {
				// The host paths spelled absolute (they are relative
				// above): the attacker's other spelling. The victims
				// are checked after both.
				importImage(t, l, l.newContainer(), nil, imagetest.Config{}, nil, c.layers(host)...)
			}
			t.Logf("lxc-create -t oci: exit %d %s", code, strings.TrimSpace(errs))
			switch {
			case c.refused != "" && (code == 0 || !strings.Contains(errs, c.refused)):
				t.Errorf("exit %d, stderr %q; want a refusal saying %q", code, errs, c.refused)
			case code != 0 && strings.Count(strings.TrimSpace(errs), "\n") > 0:
				t.Errorf("stderr is not one line: %q", errs)
			}
			checkVictims(t, host)
			if code != 0 {
				if _, err := os.Lstat(filepath.Join(l.path, n)); err == nil {
					t.Errorf("a refused import left %s", filepath.Join(l.path, n))
				}
				return
			}
			// Contained: whatever the layer meant for the host is in
			// the rootfs, and the template's own files are regular.
			rootfs := filepath.Join(l.path, n, "rootfs")
			for _, f := range []string{"etc/hostname", "etc/hosts"} {
				var st unix.Stat_t
				if err := unix.Lstat(filepath.Join(rootfs, f), &st); err == nil && st.Mode&unix.S_IFMT != unix.S_IFREG {
					t.Errorf("rootfs /%s is not a regular file (mode %o)", f, st.Mode)
				}
			}
		})
	}
}

// TestAttackImageConfig: an image's config cannot add config keys (a
// hook run as root) through a line break, and a layout cannot make the
// importer read outside it.
func TestAttackImageConfig(t *testing.T) {
	t.Parallel()
	base := newLab(t)
	marker := filepath.Join(base.aux, "hook-ran")
	hook := "lxc.hook.pre-start = /bin/sh -c 'touch " + marker + "'"
	rootLayer := []imagetest.Entry{{Name: "etc/passwd", Data: []byte("root:x:0:0::/:/bin/sh\n")}}
	for _, c := range []struct {
		name    string
		cfg     imagetest.Config
		edit    func(imagetest.Files)
		refused string
	}{
		{"env line break", imagetest.Config{Env: []string{"A=1\n" + hook}}, nil, "line break"},
		{"command line break", imagetest.Config{Cmd: []string{"/bin/true\n" + hook}}, nil, "line break"},
		{"workdir line break", imagetest.Config{WorkingDir: "/\n" + hook}, nil, "line break"},
		{"env without value", imagetest.Config{Env: []string{"HOME"}}, nil, "not NAME=VALUE"},
		{"user not in passwd", imagetest.Config{User: "nosuchuser"}, nil, `no user "nosuchuser"`},
		{"digest climbs out", imagetest.Config{}, func(f imagetest.Files) {
			f["index.json"] = []byte(`{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:../../../../../../etc/passwd","size":1}]}`)
		}, "is not sha256:<64 hex digits>"},
		{"blob a symlink to a host file", imagetest.Config{}, func(f imagetest.Files) {
			// Replaced below by a link: the importer must not read
			// through it.
			f["index.json"] = append(f["index.json"], ' ')
		}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			l := base.with(t)
			n := l.newContainer()
			var errs string
			var code int
			if c.name == "blob a symlink to a host file" {
				errs, code = importWithLinkedBlob(t, l, n, rootLayer)
				c.refused = "no such file or directory"
			} else {
				errs, code = importImage(t, l, n, nil, c.cfg, c.edit, rootLayer)
			}
			if code == 0 || !strings.Contains(errs, c.refused) || strings.Count(strings.TrimSpace(errs), "\n") > 0 {
				t.Errorf("exit %d, stderr %q; want a one-line refusal saying %q", code, errs, c.refused)
			}
			if _, err := os.Lstat(filepath.Join(l.path, n)); err == nil {
				t.Errorf("a refused import left %s", filepath.Join(l.path, n))
			}
			if _, err := os.Stat(marker); err == nil {
				t.Errorf("the image's hook ran on the host")
			}
		})
	}
}

// importWithLinkedBlob imports a layout whose layer blob is a symlink to
// the host's copy of that very blob: read inside the layout, the link
// leads nowhere, so the import fails, though the content would match.
func importWithLinkedBlob(t *testing.T, l *lab, name string, layer []imagetest.Entry) (string, int) {
	t.Helper()
	b, err := imagetest.Tar(layer)
	if err != nil {
		t.Fatal(err)
	}
	img := imagetest.Image{Layers: []imagetest.Layer{{Tar: b}}}
	f, err := img.Layout("", false)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(l.aux, "linked")
	if err := f.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	hostCopy := filepath.Join(l.aux, "hostblob")
	if err := os.WriteFile(hostCopy, b, 0o644); err != nil {
		t.Fatal(err)
	}
	blob := filepath.Join(dir, img.LayerBlob(0))
	os.Remove(blob)
	if err := os.Symlink(hostCopy, blob); err != nil {
		t.Fatal(err)
	}
	_, errs, code := l.run("lxc-create", "-n", name, "-t", "oci", "-f", l.conf(), "--", "--url", "oci:"+dir)
	return errs, code
}

// TestAttackImageMappedSetuid: a set-uid root program in an image
// imported for a container with lxc.idmap belongs to the container's
// root, never to the host's, and its device nodes are not made.
func TestAttackImageMappedSetuid(t *testing.T) {
	t.Parallel()
	l := usernsLab(t)
	n := l.newContainer()
	errs, code := importImage(t, l, n, idmapLines, imagetest.Config{}, nil,
		[]imagetest.Entry{{Name: "suid", Data: []byte("x"), Mode: 0o4755}, {Name: "dir/", Type: tar.TypeDir, Mode: 0o755},
			{Name: "sda", Type: tar.TypeBlock, Mode: 0o666, Major: 8}})
	if code != 0 {
		t.Fatalf("lxc-create -t oci (mapped): exit %d %s", code, errs)
	}
	// The host's disk, as a node the container's root could open where
	// userns.conf clears the device rules: never made.
	if _, err := os.Lstat(filepath.Join(l.path, n, "rootfs", "sda")); !os.IsNotExist(err) {
		t.Errorf("the image's block device node was made for a mapped container: %v", err)
	}
	filepath.Walk(filepath.Join(l.path, n, "rootfs"), func(p string, _ os.FileInfo, err error) error {
		var st unix.Stat_t
		if err == nil && unix.Lstat(p, &st) == nil && (st.Uid < mappedRoot || st.Gid < mappedRoot) {
			t.Errorf("%s owned %d:%d, outside the container's map", p, st.Uid, st.Gid)
		}
		return nil
	})
	// An owner outside the map is refused, not kept as a host id.
	n2 := l.newContainer()
	errs, code = importImage(t, l, n2, idmapLines, imagetest.Config{}, nil, []imagetest.Entry{{Name: "far", Data: []byte("x"), UID: 70000}})
	if code == 0 || !strings.Contains(errs, "uid 70000 is outside lxc.idmap") {
		t.Errorf("owner outside the map: exit %d %q, want a refusal", code, errs)
	}
}
