package image

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path"

	"golang.org/x/sys/unix"
)

// source is where an image's files are: an OCI layout directory, or a tar
// of one (oci-archive) or of a docker save, read in place.
type source interface {
	// open returns the regular file name (a path relative to the
	// layout's top) and its size.
	open(name string) (io.ReadCloser, int64, error)
	Close() error
}

// dirSource is a layout directory. Its files are opened inside it: a link
// in a hostile layout (blobs/sha256/X -> /etc/shadow) stays within the
// directory, and only regular files are read.
type dirSource struct {
	fd   int
	path string
}

func openDirSource(dir string) (*dirSource, error) {
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open image layout %s: %w", dir, err)
	}
	return &dirSource{fd: fd, path: dir}, nil
}

func (d *dirSource) open(name string) (io.ReadCloser, int64, error) {
	how := unix.OpenHow{
		Flags:   unix.O_RDONLY | unix.O_NONBLOCK | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	}
	var fd int
	var err error
	for {
		fd, err = unix.Openat2(d.fd, name, &how)
		if err != unix.EINTR && err != unix.EAGAIN {
			break
		}
	}
	if err != nil {
		return nil, 0, fmt.Errorf("open %s in %s: %w", name, d.path, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, 0, fmt.Errorf("stat %s in %s: %w", name, d.path, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		unix.Close(fd)
		return nil, 0, fmt.Errorf("%s in %s is not a regular file", name, d.path)
	}
	return fdFile(fd, name), st.Size, nil
}

func (d *dirSource) Close() error { return unix.Close(d.fd) }

// tarSource is an uncompressed tar read in place: one pass records where
// each regular file's bytes are, and blobs are read from there.
type tarSource struct {
	f       *os.File
	path    string
	entries map[string]tarEntry
}

type tarEntry struct{ off, size int64 }

// posReader tracks the offset of a file that archive/tar reads (it reads
// headers whole and seeks over data, without buffering ahead), so that
// after Next the offset is where the entry's data starts.
type posReader struct {
	f   *os.File
	pos int64
}

func (p *posReader) Read(b []byte) (int, error) {
	n, err := p.f.Read(b)
	p.pos += int64(n)
	return n, err
}

func (p *posReader) Seek(off int64, whence int) (int64, error) {
	n, err := p.f.Seek(off, whence)
	if err == nil {
		p.pos = n
	}
	return n, err
}

func openTarSource(file string) (*tarSource, error) {
	f, err := os.OpenFile(file, os.O_RDONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("open image archive: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			f.Close()
		}
	}()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat image archive %s: %w", file, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("image archive %s is not a regular file", file)
	}
	magic := make([]byte, 6)
	if n, _ := io.ReadFull(f, magic); n >= 2 {
		if c := compression(magic[:n]); c != "" {
			return nil, fmt.Errorf("image archive %s is %s-compressed: decompress it first", file, c)
		}
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("read image archive %s: %w", file, err)
	}
	s := &tarSource{f: f, path: file, entries: map[string]tarEntry{}}
	pr := &posReader{f: f}
	tr := tar.NewReader(pr)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read image archive %s: %w", file, err)
		}
		if hdr.Typeflag != tar.TypeReg && hdr.Typeflag != tar.TypeRegA {
			continue
		}
		name := path.Clean("/" + hdr.Name)[1:]
		s.entries[name] = tarEntry{off: pr.pos, size: hdr.Size}
	}
	if len(s.entries) == 0 {
		return nil, fmt.Errorf("image archive %s holds no files (not a tar?)", file)
	}
	ok = true
	return s, nil
}

func (s *tarSource) open(name string) (io.ReadCloser, int64, error) {
	e, ok := s.entries[path.Clean("/" + name)[1:]]
	if !ok {
		return nil, 0, fmt.Errorf("%s: no file %s in the archive: %w", s.path, name, os.ErrNotExist)
	}
	return io.NopCloser(io.NewSectionReader(s.f, e.off, e.size)), e.size, nil
}

func (s *tarSource) Close() error { return s.f.Close() }

// compression names the compression whose magic number b starts with, ""
// for none known.
func compression(b []byte) string {
	switch {
	case len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b:
		return "gzip"
	case len(b) >= 4 && b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd:
		return "zstd"
	case len(b) >= 6 && string(b[:6]) == "\xfd7zXZ\x00":
		return "xz"
	case len(b) >= 3 && string(b[:3]) == "BZh":
		return "bzip2"
	}
	return ""
}

// errNotExist reports whether err says a file is missing.
func errNotExist(err error) bool {
	return errors.Is(err, os.ErrNotExist) || errors.Is(err, unix.ENOENT)
}
