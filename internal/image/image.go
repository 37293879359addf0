// Package image reads container images from the local filesystem (an OCI
// image layout directory, an oci-archive, a docker save archive), checks
// every digest, and unpacks their layers into a root directory. It knows
// nothing of containers: the caller turns the image's config into its own
// settings.
package image

import (
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
)

// Media types of the OCI image spec and their Docker schema 2 twins.
const (
	mediaOCIIndex       = "application/vnd.oci.image.index.v1+json"
	mediaOCIManifest    = "application/vnd.oci.image.manifest.v1+json"
	mediaDockerList     = "application/vnd.docker.distribution.manifest.list.v2+json"
	mediaDockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
	refNameAnnotation   = "org.opencontainers.image.ref.name"
	// maxJSON bounds an index, manifest or config read into memory.
	maxJSON = 8 << 20
)

// Ref names an image on the local filesystem.
type Ref struct {
	Transport string // oci, oci-archive or docker-archive
	Path      string
	Tag       string // oci, oci-archive: a ref.name annotation; docker-archive: a RepoTags entry
}

func (r Ref) String() string {
	if r.Tag == "" {
		return r.Transport + ":" + r.Path
	}
	return r.Transport + ":" + r.Path + ":" + r.Tag
}

// ParseRef reads TRANSPORT:PATH[:TAG]. A path may hold colons: the longest
// prefix that exists is the path, the rest the tag.
func ParseRef(s string) (Ref, error) {
	transport, rest, ok := strings.Cut(s, ":")
	switch {
	case !ok:
		return Ref{}, fmt.Errorf("image %q: give oci:DIR[:TAG], oci-archive:FILE[:TAG] or docker-archive:FILE[:NAME:TAG]", s)
	case transport == "docker" || strings.HasPrefix(rest, "//"):
		return Ref{}, fmt.Errorf("image %q: registries are not supported: copy the image to an OCI layout or archive first (oci:DIR, oci-archive:FILE, docker-archive:FILE)", s)
	case transport != "oci" && transport != "oci-archive" && transport != "docker-archive":
		return Ref{}, fmt.Errorf("image %q: transport %q is not supported (oci, oci-archive, docker-archive)", s, transport)
	case rest == "":
		return Ref{}, fmt.Errorf("image %q: no path", s)
	}
	r := Ref{Transport: transport, Path: rest}
	if _, err := os.Stat(rest); err == nil {
		return r, nil
	}
	for i := len(rest) - 1; i > 0; i-- {
		if rest[i] != ':' {
			continue
		}
		if _, err := os.Stat(rest[:i]); err == nil {
			r.Path, r.Tag = rest[:i], rest[i+1:]
			return r, nil
		}
	}
	return Ref{}, fmt.Errorf("image %s: %s does not exist", s, rest)
}

// Descriptor points at a blob (OCI image spec, descriptor.md).
type Descriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Platform    *struct {
		OS           string `json:"os"`
		Architecture string `json:"architecture"`
		Variant      string `json:"variant,omitempty"`
	} `json:"platform,omitempty"`
}

// Config is the part of an image's configuration a container needs.
type Config struct {
	OS           string `json:"os"`
	Architecture string `json:"architecture"`
	Config       struct {
		User       string   `json:"User"`
		Env        []string `json:"Env"`
		Entrypoint []string `json:"Entrypoint"`
		Cmd        []string `json:"Cmd"`
		WorkingDir string   `json:"WorkingDir"`
	} `json:"config"`
	RootFS struct {
		Type    string   `json:"type"`
		DiffIDs []string `json:"diff_ids"`
	} `json:"rootfs"`
}

// layer is one layer's file in the source and what it must hash to.
type layer struct {
	name   string // path in the source
	digest string // of the file as stored; "" when the source names none (an old docker save)
	size   int64  // -1 when unknown
	diffID string // of the uncompressed tar
}

// Image is an image opened from the local filesystem, its manifest and
// config checked against their digests.
type Image struct {
	Ref    Ref
	Config Config
	src    source
	layers []layer
}

// Open finds the image ref names and checks its manifest and config.
func Open(ref Ref) (*Image, error) {
	var src source
	var err error
	if ref.Transport == "oci" {
		src, err = openDirSource(ref.Path)
	} else {
		src, err = openTarSource(ref.Path)
	}
	if err != nil {
		return nil, err
	}
	img := &Image{Ref: ref, src: src}
	if ref.Transport == "docker-archive" {
		err = img.loadDockerArchive()
	} else {
		err = img.loadLayout()
	}
	if err != nil {
		src.Close()
		return nil, fmt.Errorf("%s: %w", ref, err)
	}
	return img, nil
}

// Close releases the image's files.
func (img *Image) Close() error { return img.src.Close() }

// Layers is the number of layers.
func (img *Image) Layers() int { return len(img.layers) }

// isDigest says whether s is "sha256:" and 64 lower-case hex digits.
func isDigest(s string) bool {
	h, ok := strings.CutPrefix(s, "sha256:")
	return ok && isHex64(h)
}

func isHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// hex64Of is the sha256 a docker archive's file is named by: its last
// component, "<64 hex>" or "<64 hex>.json"; "" when it is not.
func hex64Of(name string) string {
	base := strings.TrimSuffix(path.Base(name), ".json")
	if !isHex64(base) {
		return ""
	}
	return base
}

func blobPath(digest string) (string, error) {
	if !isDigest(digest) {
		return "", fmt.Errorf("digest %q is not sha256:<64 hex digits>", digest)
	}
	return "blobs/sha256/" + digest[len("sha256:"):], nil
}

// readJSON reads name (at most maxJSON bytes) into v, checking its
// digest when one is given.
func (img *Image) readJSON(name, digest string, v any) error {
	rc, size, err := img.src.open(name)
	if err != nil {
		return err
	}
	defer rc.Close()
	if size > maxJSON {
		return fmt.Errorf("%s: %d bytes, more than an image's JSON may be (%d)", name, size, maxJSON)
	}
	b, err := io.ReadAll(io.LimitReader(rc, maxJSON))
	if err != nil {
		return fmt.Errorf("read %s: %w", name, err)
	}
	if digest != "" {
		if got := "sha256:" + hex.EncodeToString(sha256Sum(b)); got != digest {
			return fmt.Errorf("%s: digest mismatch: content is %s, expected %s", name, got, digest)
		}
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("parse %s: %w", name, err)
	}
	return nil
}

func sha256Sum(b []byte) []byte {
	s := sha256.Sum256(b)
	return s[:]
}

func (img *Image) readBlobJSON(d Descriptor, v any) error {
	p, err := blobPath(d.Digest)
	if err != nil {
		return err
	}
	return img.readJSON(p, d.Digest, v)
}

// loadLayout reads an OCI image layout (image-layout.md): index.json, the
// manifest its tag names (through image indexes, by platform), the config.
func (img *Image) loadLayout() error {
	var layout struct {
		Version string `json:"imageLayoutVersion"`
	}
	if err := img.readJSON("oci-layout", "", &layout); err != nil {
		return fmt.Errorf("not an OCI image layout: %w", err)
	}
	var index struct {
		Manifests []Descriptor `json:"manifests"`
	}
	if err := img.readJSON("index.json", "", &index); err != nil {
		return err
	}
	d, err := pickTagged(index.Manifests, img.Ref.Tag)
	if err != nil {
		return err
	}
	for depth := 0; ; depth++ {
		if depth > 4 {
			return errors.New("image indexes nested more than 4 deep")
		}
		var m struct {
			MediaType string       `json:"mediaType"`
			Manifests []Descriptor `json:"manifests"`
			Config    *Descriptor  `json:"config"`
			Layers    []Descriptor `json:"layers"`
		}
		if err := img.readBlobJSON(d, &m); err != nil {
			return err
		}
		mt := d.MediaType
		if mt == "" {
			mt = m.MediaType
		}
		if mt == mediaOCIIndex || mt == mediaDockerList || (mt == "" && m.Manifests != nil) {
			if d, err = pickPlatform(m.Manifests); err != nil {
				return err
			}
			continue
		}
		if mt != "" && mt != mediaOCIManifest && mt != mediaDockerManifest {
			return fmt.Errorf("manifest %s: media type %q is not an image manifest or index", d.Digest, mt)
		}
		if m.Config == nil {
			return fmt.Errorf("manifest %s names no config", d.Digest)
		}
		if err := img.readBlobJSON(*m.Config, &img.Config); err != nil {
			return fmt.Errorf("image config: %w", err)
		}
		for _, l := range m.Layers {
			p, err := blobPath(l.Digest)
			if err != nil {
				return fmt.Errorf("layer: %w", err)
			}
			img.layers = append(img.layers, layer{name: p, digest: l.Digest, size: l.Size})
		}
		return img.matchDiffIDs()
	}
}

// pickTagged is the index entry tagged tag; with no tag, the only entry or
// the one tagged "latest".
func pickTagged(ds []Descriptor, tag string) (Descriptor, error) {
	var tags []string
	for _, d := range ds {
		name := d.Annotations[refNameAnnotation]
		if name != "" {
			tags = append(tags, name)
		}
		if tag != "" && name == tag {
			return d, nil
		}
	}
	switch {
	case len(ds) == 0:
		return Descriptor{}, errors.New("index.json lists no image")
	case tag != "":
		return Descriptor{}, fmt.Errorf("no image tagged %q in index.json (tags: %s)", tag, listOrNone(tags))
	case len(ds) == 1:
		return ds[0], nil
	}
	for _, d := range ds {
		if d.Annotations[refNameAnnotation] == "latest" {
			return d, nil
		}
	}
	return Descriptor{}, fmt.Errorf("index.json lists %d images: give a tag (tags: %s)", len(ds), listOrNone(tags))
}

func listOrNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// pickPlatform is the entry of an image index for this machine: linux and
// this architecture, with a variant this machine runs.
func pickPlatform(ds []Descriptor) (Descriptor, error) {
	variants := map[string][]string{"amd64": {"", "v1"}, "arm64": {"", "v8"}, "arm": {"v7", "v6", "v5", ""}}[runtime.GOARCH]
	if variants == nil {
		variants = []string{""}
	}
	var seen []string
	for _, v := range variants {
		for _, d := range ds {
			p := d.Platform
			if p == nil {
				continue
			}
			if p.OS == "linux" && p.Architecture == runtime.GOARCH && p.Variant == v {
				return d, nil
			}
		}
	}
	for _, d := range ds {
		if p := d.Platform; p != nil {
			s := p.OS + "/" + p.Architecture
			if p.Variant != "" {
				s += "/" + p.Variant
			}
			if !slices.Contains(seen, s) {
				seen = append(seen, s)
			}
		}
	}
	return Descriptor{}, fmt.Errorf("the image index has no image for linux/%s (platforms: %s)", runtime.GOARCH, listOrNone(seen))
}

// matchDiffIDs pairs the config's diff_ids with the layers.
func (img *Image) matchDiffIDs() error {
	ids := img.Config.RootFS.DiffIDs
	if len(ids) != len(img.layers) {
		return fmt.Errorf("image config lists %d diff_ids for %d layers", len(ids), len(img.layers))
	}
	for i, id := range ids {
		if !isDigest(id) {
			return fmt.Errorf("image config: diff_id %q is not sha256:<64 hex digits>", id)
		}
		img.layers[i].diffID = id
	}
	return nil
}

// loadDockerArchive reads a docker save archive: manifest.json names, per
// image, its config and layer files (<id>.json and <id>/layer.tar before
// Docker 25, blobs/sha256/<hex> since).
func (img *Image) loadDockerArchive() error {
	var entries []struct {
		Config   string   `json:"Config"`
		RepoTags []string `json:"RepoTags"`
		Layers   []string `json:"Layers"`
	}
	if err := img.readJSON("manifest.json", "", &entries); err != nil {
		return fmt.Errorf("not a docker save archive: %w", err)
	}
	pick := -1
	var tags []string
	for i, e := range entries {
		tags = append(tags, e.RepoTags...)
		if img.Ref.Tag != "" && (slices.Contains(e.RepoTags, img.Ref.Tag) || slices.Contains(e.RepoTags, img.Ref.Tag+":latest")) {
			pick = i
			break
		}
	}
	switch {
	case len(entries) == 0:
		return errors.New("manifest.json lists no image")
	case pick < 0 && img.Ref.Tag != "":
		return fmt.Errorf("no image tagged %q in manifest.json (tags: %s)", img.Ref.Tag, listOrNone(tags))
	case pick < 0 && len(entries) > 1:
		return fmt.Errorf("manifest.json lists %d images: give one (docker-archive:FILE:NAME:TAG; tags: %s)", len(entries), listOrNone(tags))
	case pick < 0:
		pick = 0
	}
	e := entries[pick]
	// The config's name is its digest in both formats.
	h := hex64Of(e.Config)
	if h == "" {
		return fmt.Errorf("manifest.json: config %q is not named by its sha256", e.Config)
	}
	if err := img.readJSON(e.Config, "sha256:"+h, &img.Config); err != nil {
		return fmt.Errorf("image config: %w", err)
	}
	for _, name := range e.Layers {
		l := layer{name: name, size: -1}
		if strings.HasPrefix(name, "blobs/sha256/") {
			if h := hex64Of(name); h != "" {
				l.digest = "sha256:" + h
			}
		}
		img.layers = append(img.layers, l)
	}
	return img.matchDiffIDs()
}

// hashingReader hashes what is read through it and counts it.
type hashingReader struct {
	r io.Reader
	h hash.Hash
	n int64
}

func (h *hashingReader) Read(b []byte) (int, error) {
	n, err := h.r.Read(b)
	h.h.Write(b[:n])
	h.n += int64(n)
	return n, err
}

func (h *hashingReader) digest() string { return "sha256:" + hex.EncodeToString(h.h.Sum(nil)) }

// Unpack applies the layers in order to u's root. Each layer's file and
// its uncompressed tar are hashed as they are read, to the end, and
// checked against the manifest's digest and the config's diff_id: on a
// mismatch the error says so and the caller must discard the root.
func (img *Image) Unpack(u *Unpacker) error {
	for i, l := range img.layers {
		if err := img.unpackLayer(u, l); err != nil {
			return fmt.Errorf("%s: layer %d of %d (%s): %w", img.Ref, i+1, len(img.layers), l.name, err)
		}
	}
	return nil
}

func (img *Image) unpackLayer(u *Unpacker, l layer) error {
	rc, size, err := img.src.open(l.name)
	if err != nil {
		return err
	}
	defer rc.Close()
	if l.size >= 0 && size != l.size {
		return fmt.Errorf("size %d, the manifest says %d", size, l.size)
	}
	blob := &hashingReader{r: rc, h: sha256.New()}
	br := bufio.NewReaderSize(blob, 1<<20)
	magic, _ := br.Peek(6)
	var tarStream io.Reader = br
	switch c := compression(magic); c {
	case "":
	case "gzip":
		zr, err := gzip.NewReader(br)
		if err != nil {
			return fmt.Errorf("gunzip: %w", err)
		}
		defer zr.Close()
		tarStream = zr
	default:
		return fmt.Errorf("%s-compressed layers are not supported (gzip and uncompressed only)", c)
	}
	diff := &hashingReader{r: tarStream, h: sha256.New()}
	// Reading, decompressing and hashing run beside the writing of the
	// files, so that a layer keeps two cores busy. The tar's
	// end-of-archive blocks and any padding after them count in both
	// digests, so the stream is read to its end, after a failure to
	// apply it too: a layer that does not parse because it is corrupt is
	// reported as corrupt.
	pr, pw := io.Pipe()
	var stopped atomic.Bool
	read := make(chan [2]error, 1)
	go func() {
		_, derr := io.CopyBuffer(pw, diff, make([]byte, 256<<10))
		var berr error
		if !stopped.Load() {
			// The stored bytes to their end, even past a
			// decompression error, for the blob's digest.
			_, berr = io.Copy(io.Discard, br)
		}
		if derr == nil {
			derr = berr
		}
		pw.CloseWithError(derr)
		read <- [2]error{derr, berr}
	}()
	applyErr := u.Apply(pr)
	if se := (*stopError)(nil); errors.As(applyErr, &se) {
		stopped.Store(true)
		pr.CloseWithError(se.err)
		<-read
		return se.err
	}
	_, _ = io.Copy(io.Discard, pr)
	errs := <-read
	readErr, blobErr := errs[0], errs[1]
	if l.digest != "" && blobErr == nil {
		if got := blob.digest(); got != l.digest {
			return fmt.Errorf("digest mismatch: content is %s, the manifest says %s", got, l.digest)
		}
	}
	if readErr == nil {
		if got := diff.digest(); got != l.diffID {
			return fmt.Errorf("diff_id mismatch: uncompressed content is %s, the config says %s", got, l.diffID)
		}
	}
	if applyErr != nil {
		return applyErr
	}
	if readErr != nil {
		return fmt.Errorf("read layer: %w", readErr)
	}
	return nil
}
