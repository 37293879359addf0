// Package imagetest builds container images in memory, for tests and
// benchmarks that need one without a registry: layers from a list of tar
// entries, and the files of an OCI image layout or a docker save archive,
// to write as a directory or a tar.
package imagetest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"time"
)

// Entry is one tar entry of a layer.
type Entry struct {
	Name     string
	Type     byte // tar.TypeReg when 0
	Mode     int64
	UID, GID int
	Data     []byte
	Linkname string
	Xattrs   map[string]string
	ModTime  time.Time // 2020-01-02 03:04:05 UTC when zero
	Major    int64
	Minor    int64
}

// Epoch is the default mtime of entries.
var Epoch = time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)

// Tar returns entries as an uncompressed tar stream (PAX where needed).
func Tar(entries []Entry) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		typ := e.Type
		if typ == 0 {
			typ = tar.TypeReg
		}
		mt := e.ModTime
		if mt.IsZero() {
			mt = Epoch
		}
		h := &tar.Header{Name: e.Name, Typeflag: typ, Mode: e.Mode, Uid: e.UID, Gid: e.GID, Linkname: e.Linkname,
			ModTime: mt, Devmajor: e.Major, Devminor: e.Minor, Format: tar.FormatPAX}
		if typ == tar.TypeReg {
			h.Size = int64(len(e.Data))
		}
		if len(e.Xattrs) > 0 {
			h.PAXRecords = map[string]string{}
			for k, v := range e.Xattrs {
				h.PAXRecords["SCHILY.xattr."+k] = v
			}
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("tar header %s: %w", e.Name, err)
		}
		if typ == tar.TypeReg {
			if _, err := tw.Write(e.Data); err != nil {
				return nil, err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Gzip compresses b.
func Gzip(b []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// Layer is a layer's uncompressed tar and whether it is stored gzipped.
type Layer struct {
	Tar  []byte
	Gzip bool
}

// Config is what an image's config says about the process.
type Config struct {
	Entrypoint, Cmd, Env []string
	WorkingDir, User     string
}

// Image is an image to write.
type Image struct {
	Layers []Layer
	Config Config
}

// Digest is "sha256:<hex>" of b.
func Digest(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

// Files maps a path in a layout or archive to its content.
type Files map[string][]byte

func blobName(d string) string { return "blobs/sha256/" + d[len("sha256:"):] }

// parts are an image's config and stored layers, with their digests.
func (img Image) parts() (cfg []byte, layers [][]byte, diffIDs []string, err error) {
	for _, l := range img.Layers {
		diffIDs = append(diffIDs, Digest(l.Tar))
		if l.Gzip {
			layers = append(layers, Gzip(l.Tar))
		} else {
			layers = append(layers, l.Tar)
		}
	}
	c := map[string]any{
		"architecture": runtime.GOARCH,
		"os":           "linux",
		"config": map[string]any{
			"Entrypoint": img.Config.Entrypoint, "Cmd": img.Config.Cmd, "Env": img.Config.Env,
			"WorkingDir": img.Config.WorkingDir, "User": img.Config.User,
		},
		"rootfs": map[string]any{"type": "layers", "diff_ids": diffIDs},
	}
	cfg, err = json.Marshal(c)
	return cfg, layers, diffIDs, err
}

// LayerBlob is the name of layer i's file in the files of Layout.
func (img Image) LayerBlob(i int) string {
	l := img.Layers[i]
	b := l.Tar
	if l.Gzip {
		b = Gzip(b)
	}
	return blobName(Digest(b))
}

// Layout returns the files of an OCI image layout holding img tagged tag
// (no tag annotation when tag is ""). With index, the tag names an image
// index listing the manifest for this machine and one for another.
func (img Image) Layout(tag string, index bool) (Files, error) {
	cfg, layers, _, err := img.parts()
	if err != nil {
		return nil, err
	}
	f := Files{"oci-layout": []byte(`{"imageLayoutVersion":"1.0.0"}`)}
	f[blobName(Digest(cfg))] = cfg
	var ld []map[string]any
	for _, l := range layers {
		f[blobName(Digest(l))] = l
		mt := "application/vnd.oci.image.layer.v1.tar"
		if bytes.HasPrefix(l, []byte{0x1f, 0x8b}) {
			mt += "+gzip"
		}
		ld = append(ld, map[string]any{"mediaType": mt, "digest": Digest(l), "size": len(l)})
	}
	man, err := json.Marshal(map[string]any{
		"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
		"config": map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": Digest(cfg), "size": len(cfg)},
		"layers": ld,
	})
	if err != nil {
		return nil, err
	}
	f[blobName(Digest(man))] = man
	top := map[string]any{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": Digest(man), "size": len(man)}
	if index {
		other := "arm64"
		if runtime.GOARCH == "arm64" {
			other = "amd64"
		}
		idx, err := json.Marshal(map[string]any{
			"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
			"manifests": []map[string]any{
				// A manifest for another machine first: the pick is by
				// platform, not by place. (Its digest names no blob:
				// reading it would fail.)
				{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": Digest([]byte("other")), "size": 5,
					"platform": map[string]any{"os": "linux", "architecture": other}},
				{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": Digest(man), "size": len(man),
					"platform": map[string]any{"os": "linux", "architecture": runtime.GOARCH}},
			},
		})
		if err != nil {
			return nil, err
		}
		f[blobName(Digest(idx))] = idx
		top = map[string]any{"mediaType": "application/vnd.oci.image.index.v1+json", "digest": Digest(idx), "size": len(idx)}
	}
	if tag != "" {
		top["annotations"] = map[string]string{"org.opencontainers.image.ref.name": tag}
	}
	f["index.json"], err = json.Marshal(map[string]any{"schemaVersion": 2, "manifests": []any{top}})
	return f, err
}

// DockerArchive returns the files of a docker save of img as repoTag: the
// format before Docker 25 (<id>.json, <id>/layer.tar) or, with newFormat,
// since (an OCI layout plus manifest.json naming its blobs).
func (img Image) DockerArchive(repoTag string, newFormat bool) (Files, error) {
	cfg, layers, diffIDs, err := img.parts()
	if err != nil {
		return nil, err
	}
	var f Files
	var cfgName string
	var layerNames []string
	if newFormat {
		if f, err = img.Layout(repoTag, false); err != nil {
			return nil, err
		}
		cfgName = blobName(Digest(cfg))
		for _, l := range layers {
			layerNames = append(layerNames, blobName(Digest(l)))
		}
	} else {
		f = Files{}
		cfgName = Digest(cfg)[len("sha256:"):] + ".json"
		f[cfgName] = cfg
		for i, l := range layers {
			id := Digest([]byte(diffIDs[i] + fmt.Sprint(i)))[len("sha256:"):]
			name := id + "/layer.tar"
			f[name] = l
			f[id+"/VERSION"] = []byte("1.0")
			layerNames = append(layerNames, name)
		}
	}
	f["manifest.json"], err = json.Marshal([]map[string]any{{"Config": cfgName, "RepoTags": []string{repoTag}, "Layers": layerNames}})
	return f, err
}

// WriteDir writes files under dir.
func (f Files) WriteDir(dir string) error {
	for _, name := range f.names() {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, f[name], 0o644); err != nil {
			return err
		}
	}
	return nil
}

// WriteTar writes files as a tar (directories first, as archivers do).
func (f Files) WriteTar(file string) error {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirs := map[string]bool{}
	for _, name := range f.names() {
		for d := filepath.Dir(name); d != "."; d = filepath.Dir(d) {
			if !dirs[d] {
				dirs[d] = true
				if err := tw.WriteHeader(&tar.Header{Name: d + "/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: Epoch}); err != nil {
					return err
				}
			}
		}
		if err := tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(f[name])), ModTime: Epoch}); err != nil {
			return err
		}
		if _, err := tw.Write(f[name]); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return os.WriteFile(file, buf.Bytes(), 0o644)
}

func (f Files) names() []string {
	var n []string
	for k := range f {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}
