package lxc

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A create that would leave a container without a root filesystem of its
// own is refused before anything is made: no template at all, or
// template none with a config that names no rootfs, or one that does not
// exist.
func TestCreateRefusesNoRootfs(t *testing.T) {
	skipUnlessRoot(t)
	dir := t.TempDir()
	rootfs := filepath.Join(dir, "rootfs")
	if err := os.Mkdir(rootfs, 0o755); err != nil {
		t.Fatal(err)
	}
	conf := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("lxc.net.0.type = empty\n"+text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name     string
		template string
		config   string
		wantErr  []string // substrings; none: accepted
	}{
		{name: "no template", template: "", config: conf("plain.conf", ""), wantErr: []string{"a template must be specified", "-t none"}},
		{name: "no template, rootfs named", template: "", config: conf("named.conf", "lxc.rootfs.path = dir:"+rootfs+"\n"), wantErr: []string{"a template must be specified"}},
		{name: "none without lxc.rootfs.path", template: "none", config: conf("none.conf", ""), wantErr: []string{"lxc.rootfs.path"}},
		{name: "none with a missing rootfs", template: "none", config: conf("missing.conf", "lxc.rootfs.path = dir:"+filepath.Join(dir, "nope")+"\n"), wantErr: []string{"lxc.rootfs.path", filepath.Join(dir, "nope")}},
		{name: "none with a file as rootfs", template: "none", config: conf("file.conf", "lxc.rootfs.path = "+filepath.Join(dir, "plain.conf")+"\n"), wantErr: []string{"not a directory"}},
		{name: "none with an overlay rootfs", template: "none", config: conf("overlay.conf", "lxc.rootfs.path = overlay:/a:/b\n"), wantErr: []string{"overlay:/a:/b"}},
		{name: "none with its rootfs", template: "none", config: conf("ok.conf", "lxc.rootfs.path = dir:"+rootfs+"\n")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lxcpath := filepath.Join(t.TempDir(), "lxc")
			c, err := New(lxcpath, "c1")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if c.Defined() {
					_ = c.Destroy(true)
				}
			})
			err = c.Create(CreateOptions{Template: tt.template, ConfigFile: tt.config})
			if len(tt.wantErr) == 0 {
				if err != nil || !c.Defined() {
					t.Fatalf("Create: %v, defined %v; want a container", err, c.Defined())
				}
				return
			}
			if err == nil {
				t.Fatal("Create succeeded")
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
			if _, serr := os.Stat(lxcpath); !errors.Is(serr, os.ErrNotExist) {
				t.Errorf("a refused create made %s", lxcpath)
			}
			if _, serr := os.Stat(c.lockPath()); !errors.Is(serr, os.ErrNotExist) {
				t.Errorf("a refused create left its lock file %s", c.lockPath())
			}
		})
	}
}
