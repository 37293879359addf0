package main

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"syscall"
	"time"
)

// ociSources are the trees an import benchmark image is made of, the first
// that exists: a debootstrapped Debian (the debian template's test cache),
// else the host's /usr/lib cut at about 100 MB.
var ociSources = []string{"/var/cache/golxc-test/debian/bookworm-amd64", "/usr/lib"}

const ociLimit = 100 << 20 // bytes of file data taken from /usr/lib

// buildOCIImage writes an OCI layout under dir whose one gzip layer is a
// tar of src, and returns its url and the layer's sizes.
func buildOCIImage(src, dir string, limit int64) (url string, tarSize, gzSize int64, err error) {
	if err := os.MkdirAll(filepath.Join(dir, "blobs", "sha256"), 0o755); err != nil {
		return "", 0, 0, err
	}
	tmp := filepath.Join(dir, "layer.tmp")
	f, err := os.Create(tmp)
	if err != nil {
		return "", 0, 0, err
	}
	defer f.Close()
	blobHash := sha256.New()
	zw, _ := gzip.NewWriterLevel(io.MultiWriter(f, blobHash), gzip.DefaultCompression)
	diffHash := sha256.New()
	counter := &countWriter{}
	tw := tar.NewWriter(io.MultiWriter(zw, diffHash, counter))
	var taken int64
	err = filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // unreadable: left out
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		rel, _ := filepath.Rel(src, p)
		if limit > 0 && info.Mode().IsRegular() && taken+info.Size() > limit {
			return nil
		}
		link := ""
		if info.Mode()&fs.ModeSymlink != 0 {
			link, _ = os.Readlink(p)
		}
		if !info.Mode().IsRegular() && !info.IsDir() && info.Mode()&fs.ModeSymlink == 0 {
			return nil // devices, sockets: not what an image is made of
		}
		hdr, err := tar.FileInfoHeader(info, link)
		if err != nil {
			return nil
		}
		hdr.Name = rel
		if info.IsDir() {
			hdr.Name += "/"
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			hdr.Uid, hdr.Gid = int(st.Uid), int(st.Gid)
		}
		hdr.Uname, hdr.Gname = "", ""
		if info.Mode().IsRegular() {
			in, err := os.Open(p)
			if err != nil {
				return nil
			}
			defer in.Close()
			if err := tw.WriteHeader(hdr); err != nil {
				return err
			}
			n, err := io.Copy(tw, in)
			if err != nil {
				return err
			}
			taken += n
			return nil
		}
		return tw.WriteHeader(hdr)
	})
	if err != nil {
		return "", 0, 0, fmt.Errorf("tar %s: %w", src, err)
	}
	if err := tw.Close(); err != nil {
		return "", 0, 0, err
	}
	if err := zw.Close(); err != nil {
		return "", 0, 0, err
	}
	st, err := f.Stat()
	if err != nil {
		return "", 0, 0, err
	}
	layerDigest := "sha256:" + hex.EncodeToString(blobHash.Sum(nil))
	if err := os.Rename(tmp, filepath.Join(dir, "blobs", "sha256", layerDigest[7:])); err != nil {
		return "", 0, 0, err
	}
	cfg, _ := json.Marshal(map[string]any{
		"architecture": runtime.GOARCH, "os": "linux",
		"config": map[string]any{"Cmd": []string{"/bin/sh"}, "Env": []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}},
		"rootfs": map[string]any{"type": "layers", "diff_ids": []string{"sha256:" + hex.EncodeToString(diffHash.Sum(nil))}},
	})
	man, _ := json.Marshal(map[string]any{
		"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
		"config": map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digestOf(cfg), "size": len(cfg)},
		"layers": []any{map[string]any{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layerDigest, "size": st.Size()}},
	})
	index, _ := json.Marshal(map[string]any{"schemaVersion": 2, "manifests": []any{map[string]any{
		"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digestOf(man), "size": len(man),
		"annotations": map[string]string{"org.opencontainers.image.ref.name": "bench"}}}})
	for name, b := range map[string][]byte{
		"blobs/sha256/" + digestOf(cfg)[7:]: cfg, "blobs/sha256/" + digestOf(man)[7:]: man,
		"index.json": index, "oci-layout": []byte(`{"imageLayoutVersion":"1.0.0"}`),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return "", 0, 0, err
		}
	}
	return "oci:" + dir + ":bench", counter.n, st.Size(), nil
}

func digestOf(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

// spread is the median, min and max of d.
func spread(d []time.Duration) (med, lo, hi time.Duration) {
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return d[len(d)/2], d[0], d[len(d)-1]
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(b []byte) (int, error) { c.n += int64(len(b)); return len(b), nil }

// ociImport times lxc-create -t oci of a realistic image (then
// lxc-destroy, untimed).
func ociImport(b *toolset, runs int, dir string) error {
	src := ""
	for _, s := range ociSources {
		if _, err := os.Stat(s); err == nil {
			src = s
			break
		}
	}
	if src == "" {
		return fmt.Errorf("no source tree for an image (%v)", ociSources)
	}
	limit := int64(0)
	if src == "/usr/lib" {
		limit = ociLimit
	}
	url, tarSize, gzSize, err := buildOCIImage(src, filepath.Join(dir, "ociimage"), limit)
	if err != nil {
		return err
	}
	// The baseline, run in turn with the import so that both see the
	// same load: GNU tar extracting the same layer, owners and modes
	// kept, with no digest checked.
	blobs, err := filepath.Glob(filepath.Join(dir, "ociimage", "blobs", "sha256", "*"))
	if err != nil {
		return err
	}
	var layerBlob string
	var biggest int64
	for _, p := range blobs {
		if st, err := os.Stat(p); err == nil && st.Size() > biggest {
			layerBlob, biggest = p, st.Size()
		}
	}
	var d, base []time.Duration
	for i := 0; i < runs; i++ {
		name := "oci" + strconv.Itoa(i)
		t0 := time.Now()
		if err := b.must("lxc-create", "-n", name, "-t", "oci", "-f", b.conf, "--", "--url", url); err != nil {
			return err
		}
		d = append(d, time.Since(t0))
		if err := b.must("lxc-destroy", "-n", name); err != nil {
			return err
		}
		out := filepath.Join(dir, "tarx")
		if err := os.Mkdir(out, 0o755); err != nil {
			return err
		}
		t0 = time.Now()
		if o, err := exec.Command("tar", "--numeric-owner", "-xzpf", layerBlob, "-C", out).CombinedOutput(); err != nil {
			return fmt.Errorf("tar -xzpf: %v %s", err, o)
		}
		base = append(base, time.Since(t0))
		if err := os.RemoveAll(out); err != nil {
			return err
		}
	}
	med, lo, hi := spread(d)
	fmt.Printf("  %-36s %10s  (%s .. %s)  image: %s, %.0f MB tar, %.0f MB gzip\n", "lxc-create -t oci", ms(med), ms(lo), ms(hi), src, float64(tarSize)/1e6, float64(gzSize)/1e6)
	bmed, blo, bhi := spread(base)
	fmt.Printf("  %-36s %10s  (%s .. %s)  import/tar %.2f\n", "tar -xzpf of the same layer", ms(bmed), ms(blo), ms(bhi), float64(med)/float64(bmed))
	return nil
}
