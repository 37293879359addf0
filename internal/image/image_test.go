package image

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/golxc/golxc/internal/image/imagetest"
)

func testImage(t *testing.T) imagetest.Image {
	t.Helper()
	return imagetest.Image{
		Layers: []imagetest.Layer{
			{Tar: mustTar(t, imagetest.Entry{Name: "a", Data: []byte("one"), Mode: 0o644}, imagetest.Entry{Name: "b", Data: []byte("b"), Mode: 0o644}), Gzip: true},
			{Tar: mustTar(t, imagetest.Entry{Name: "a", Data: []byte("two"), Mode: 0o600}, imagetest.Entry{Name: ".wh.b"})},
		},
		Config: imagetest.Config{Entrypoint: []string{"/bin/sh", "-c"}, Cmd: []string{"echo hi"}, Env: []string{"A=1"}, WorkingDir: "/w", User: "1:2"},
	}
}

// write puts files where transport reads them and returns the reference.
func write(t *testing.T, transport string, f imagetest.Files, tag string) string {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "img")
	var err error
	if transport == "oci" {
		err = f.WriteDir(p)
	} else {
		err = f.WriteTar(p)
	}
	if err != nil {
		t.Fatal(err)
	}
	if tag != "" {
		return transport + ":" + p + ":" + tag
	}
	return transport + ":" + p
}

func openAndUnpack(t *testing.T, s string) (*Image, string, error) {
	t.Helper()
	ref, err := ParseRef(s)
	if err != nil {
		return nil, "", err
	}
	img, err := Open(ref)
	if err != nil {
		return nil, "", err
	}
	defer img.Close()
	root := t.TempDir()
	u, err := NewUnpacker(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	return img, root, img.Unpack(u)
}

func TestOpenFormats(t *testing.T) {
	needRoot(t)
	img := testImage(t)
	layout, err := img.Layout("v1", false)
	if err != nil {
		t.Fatal(err)
	}
	indexed, err := img.Layout("v1", true)
	if err != nil {
		t.Fatal(err)
	}
	untagged, err := img.Layout("", false)
	if err != nil {
		t.Fatal(err)
	}
	oldDocker, err := img.DockerArchive("example/img:1", false)
	if err != nil {
		t.Fatal(err)
	}
	newDocker, err := img.DockerArchive("example/img:1", true)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		ref  string
	}{
		{"layout", write(t, "oci", layout, "v1")},
		{"layout untagged", write(t, "oci", untagged, "")},
		{"layout only tag, none given", write(t, "oci", layout, "")},
		{"image index", write(t, "oci", indexed, "v1")},
		{"oci-archive", write(t, "oci-archive", layout, "v1")},
		{"docker save", write(t, "docker-archive", oldDocker, "")},
		{"docker save named", write(t, "docker-archive", oldDocker, "example/img:1")},
		{"docker save 25", write(t, "docker-archive", newDocker, "")},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, root, err := openAndUnpack(t, c.ref)
			if err != nil {
				t.Fatalf("%s: %v", c.ref, err)
			}
			if b, err := os.ReadFile(filepath.Join(root, "a")); err != nil || string(b) != "two" {
				t.Errorf("a: %q %v, want layer 2's", b, err)
			}
			if _, err := os.Lstat(filepath.Join(root, "b")); !os.IsNotExist(err) {
				t.Errorf("b after its whiteout: %v", err)
			}
			cfg := got.Config.Config
			if strings.Join(cfg.Entrypoint, ",") != "/bin/sh,-c" || strings.Join(cfg.Cmd, ",") != "echo hi" || cfg.User != "1:2" || cfg.WorkingDir != "/w" || strings.Join(cfg.Env, ",") != "A=1" {
				t.Errorf("config %+v", cfg)
			}
		})
	}
}

func TestOpenRefused(t *testing.T) {
	needRoot(t)
	img := testImage(t)
	layout := func() imagetest.Files {
		f, err := img.Layout("v1", false)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	flip := func(f imagetest.Files, name string) imagetest.Files {
		b := append([]byte(nil), f[name]...)
		b[len(b)/2] ^= 0xff
		f[name] = b
		return f
	}
	corruptLayer := flip(layout(), img.LayerBlob(1))
	corruptGzip := flip(layout(), img.LayerBlob(0))
	var manifest struct {
		Config struct{ Digest string } `json:"config"`
	}
	l := layout()
	var index struct{ Manifests []struct{ Digest string } }
	json.Unmarshal(l["index.json"], &index)
	json.Unmarshal(l["blobs/sha256/"+index.Manifests[0].Digest[7:]], &manifest)
	corruptConfig := flip(layout(), "blobs/sha256/"+manifest.Config.Digest[7:])
	traversal := layout()
	traversal["index.json"] = []byte(`{"manifests":[{"digest":"sha256:../../../../etc/passwd","size":1}]}`)
	oldDocker, err := img.DockerArchive("x:1", false)
	if err != nil {
		t.Fatal(err)
	}
	for name := range oldDocker {
		if strings.HasSuffix(name, "layer.tar") && len(oldDocker[name]) > 1024 {
			b := append([]byte(nil), oldDocker[name]...)
			b[600] ^= 0xff // in the first file's data
			oldDocker[name] = b
			break
		}
	}
	zst := imagetest.Image{Layers: []imagetest.Layer{{Tar: append([]byte{0x28, 0xb5, 0x2f, 0xfd}, make([]byte, 600)...)}}}
	zstLayout, err := zst.Layout("", false)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, ref, want string
	}{
		{"layer digest", write(t, "oci", corruptLayer, "v1"), "digest mismatch"},
		{"gzip layer digest", write(t, "oci", corruptGzip, "v1"), "digest mismatch"},
		{"layer digest in archive", write(t, "oci-archive", corruptLayer, "v1"), "digest mismatch"},
		{"config digest", write(t, "oci", corruptConfig, "v1"), "digest mismatch"},
		{"digest path", write(t, "oci", traversal, ""), "not sha256:<64 hex digits>"},
		{"unknown tag", write(t, "oci", layout(), "v2"), `no image tagged "v2" in index.json (tags: v1)`},
		{"docker layer", write(t, "docker-archive", oldDocker, ""), "diff_id mismatch"},
		{"zstd", write(t, "oci", zstLayout, ""), "zstd-compressed layers are not supported"},
		{"registry", "docker://busybox:latest", "registries are not supported"},
		{"missing", "oci:/nonexistent/golxc", "does not exist"},
		{"not a layout", "oci:/", "not an OCI image layout"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := openAndUnpack(t, c.ref)
			if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("%s: %v, want one line saying %q", c.ref, err, c.want)
			}
		})
	}
}

func TestParseRef(t *testing.T) {
	dir := t.TempDir()
	colon := filepath.Join(dir, "a:b")
	os.Mkdir(colon, 0o755)
	for _, c := range []struct{ in, path, tag, err string }{
		{"oci:" + dir, dir, "", ""},
		{"oci:" + dir + ":latest", dir, "latest", ""},
		{"oci:" + colon, colon, "", ""},
		{"oci:" + colon + ":t", colon, "t", ""},
		{"docker-archive:" + dir + ":name:tag", dir, "name:tag", ""},
		{"oci", "", "", "give oci:DIR"},
		{"dir:" + dir, "", "", "not supported"},
		{"docker://x", "", "", "registries are not supported"},
	} {
		r, err := ParseRef(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: %+v %v, want an error saying %q", c.in, r, err, c.err)
			}
			continue
		}
		if err != nil || r.Path != c.path || r.Tag != c.tag {
			t.Errorf("%q: %+v %v, want path %q tag %q", c.in, r, err, c.path, c.tag)
		}
	}
}
