package config

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// userConfig has what users write: comments, blank lines, odd spacing,
// tabs, quotes, a CRLF line and no final newline.
const userConfig = "# My container\n" +
	"\n" +
	"lxc.uts.name\t=\t\"web1\"\n" +
	"lxc.rootfs.path = dir:/var/lib/lxc/web1/rootfs\n" +
	"   # indented comment\n" +
	"lxc.cap.drop = sys_module\n" +
	"lxc.cap.drop=mknod   \n" +
	"lxc.tty.max = 4\r\n" +
	"lxc.net.0.type = veth\n" +
	"lxc.net.0.hwaddr = 00:16:3e:xx:xx:xx\n" +
	"not a key line\n" +
	"lxc.environment = 'A=b c'"

func TestDocumentRoundTrip(t *testing.T) {
	for _, text := range []string{userConfig, "", "\n", "\n\n", "x", "lxc.a = b\r\n", "a\nb\n\r\n"} {
		if got := ParseDocument([]byte(text)).Bytes(); string(got) != text {
			t.Errorf("round trip of %q gave %q", text, got)
		}
	}
}

// diffLines returns the lines of b that differ from a's at the same index,
// for edits that keep the line count.
func diffLines(t *testing.T, a, b string) []string {
	t.Helper()
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	if len(la) != len(lb) {
		t.Fatalf("line count %d -> %d:\n%s", len(la), len(lb), b)
	}
	var d []string
	for i := range la {
		if la[i] != lb[i] {
			d = append(d, lb[i])
		}
	}
	return d
}

func TestDocumentSet(t *testing.T) {
	tests := []struct {
		key, value string
		want       []string // the changed lines
	}{
		{"lxc.uts.name", "web2", []string{"lxc.uts.name\t=\t\"web2\""}},
		{"lxc.rootfs.path", "dir:/srv/web1", []string{"lxc.rootfs.path = dir:/srv/web1"}},
		{"lxc.tty.max", "8", []string{"lxc.tty.max = 8\r"}},
		{"lxc.environment", "A=d", []string{"lxc.environment = 'A=d'"}},
		{"lxc.rootfs.path", " padded ", []string{`lxc.rootfs.path = " padded "`}},
		{"lxc.rootfs.path", "", []string{"lxc.rootfs.path ="}},
	}
	for _, tt := range tests {
		t.Run(tt.key+"="+tt.value, func(t *testing.T) {
			d := ParseDocument([]byte(userConfig))
			d.Set(tt.key, tt.value)
			got := diffLines(t, userConfig, string(d.Bytes()))
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Fatalf("changed lines %q, want %q", got, tt.want)
			}
			if vs := d.Values(tt.key); len(vs) != 1 || vs[0] != tt.value {
				t.Fatalf("Values = %q, want [%q]", vs, tt.value)
			}
		})
	}
	t.Run("later duplicates go", func(t *testing.T) {
		d := ParseDocument([]byte(userConfig))
		d.Set("lxc.cap.drop", "sys_time")
		want := strings.Replace(userConfig, "lxc.cap.drop = sys_module\nlxc.cap.drop=mknod   \n", "lxc.cap.drop = sys_time\n", 1)
		if got := string(d.Bytes()); got != want {
			t.Fatalf("got\n%q\nwant\n%q", got, want)
		}
	})
	t.Run("new key appended in the file's spacing", func(t *testing.T) {
		d := ParseDocument([]byte("lxc.a=1\nlxc.b=2\n"))
		d.Set("lxc.c", "3")
		if got := string(d.Bytes()); got != "lxc.a=1\nlxc.b=2\nlxc.c=3\n" {
			t.Fatalf("got %q", got)
		}
	})
	t.Run("after a last line without newline", func(t *testing.T) {
		d := ParseDocument([]byte(userConfig))
		d.Set("lxc.autodev", "0")
		if got := string(d.Bytes()); got != userConfig+"\nlxc.autodev = 0" {
			t.Fatalf("got %q", got)
		}
	})
	t.Run("append after the key's last line", func(t *testing.T) {
		d := ParseDocument([]byte(userConfig))
		d.Append("lxc.cap.drop", "sys_time")
		want := strings.Replace(userConfig, "lxc.cap.drop=mknod   \n", "lxc.cap.drop=mknod   \nlxc.cap.drop=sys_time\n", 1)
		if got := string(d.Bytes()); got != want {
			t.Fatalf("got\n%q\nwant\n%q", got, want)
		}
	})
	t.Run("unset", func(t *testing.T) {
		d := ParseDocument([]byte(userConfig))
		if n := d.Unset("lxc.cap.drop"); n != 2 {
			t.Fatalf("Unset removed %d lines, want 2", n)
		}
		if bytes.Contains(d.Bytes(), []byte("cap.drop")) {
			t.Fatalf("lines left: %q", d.Bytes())
		}
	})
}

func TestSetAndSave(t *testing.T) {
	dir := t.TempDir()
	inc := writeFile(t, dir, "common.conf", "lxc.cap.drop = sys_time\n")
	text := "# web\nlxc.include = " + inc + "\nlxc.uts.name = web1 # not a comment\n\nlxc.cap.drop = mknod\n"
	path := writeFile(t, dir, "config", text)
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SetAndSave("lxc.uts.name", "web2"); err != nil {
		t.Fatal(err)
	}
	if err := c.SetAndSave("lxc.cap.drop", "sys_module"); err != nil {
		t.Fatal(err)
	}
	if err := c.SetAndSave("lxc.tty.max", "bad"); err == nil {
		t.Fatal("SetAndSave accepted an invalid value")
	}
	want := "# web\nlxc.include = " + inc + "\nlxc.uts.name = web2\n\nlxc.cap.drop = mknod\nlxc.cap.drop = sys_module\n"
	b, _ := os.ReadFile(path)
	if string(b) != want {
		t.Fatalf("saved\n%q\nwant\n%q", b, want)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600 kept", st.Mode().Perm())
	}
	// Clearing a list key whose values also come from an include writes
	// an empty line, so the saved file means what c means.
	if err := c.SetAndSave("lxc.cap.drop", ""); err != nil {
		t.Fatal(err)
	}
	again, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(again.CapDrop) != 0 || again.UTSName != "web2" || len(c.CapDrop) != 0 {
		t.Fatalf("reloaded CapDrop %q UTSName %q", again.CapDrop, again.UTSName)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Fatalf("temporary files left: %v", entries)
	}
	if err := New().SetAndSave("lxc.uts.name", "x"); err == nil {
		t.Fatal("SetAndSave on a Config not read from a file succeeded")
	}
}

func TestFillHwaddrs(t *testing.T) {
	text := "lxc.net.0.hwaddr = 00:16:3e:xx:xx:xx\nlxc.net.1.hwaddr = 4a:49:43:49:79:bf\n# lxc.net.2.hwaddr = xx:xx:xx:xx:xx:xx\nlxc.net.3.hwaddr = 'xX:00:00:00:00:00'\n"
	d := ParseDocument([]byte(text))
	changed, err := d.FillHwaddrs(bytes.NewReader(bytes.Repeat([]byte{0xff}, 64)))
	if err != nil || !changed {
		t.Fatalf("FillHwaddrs = %v, %v", changed, err)
	}
	want := "lxc.net.0.hwaddr = 00:16:3e:ff:ff:ff\nlxc.net.1.hwaddr = 4a:49:43:49:79:bf\n# lxc.net.2.hwaddr = xx:xx:xx:xx:xx:xx\nlxc.net.3.hwaddr = 'fe:00:00:00:00:00'\n"
	if got := string(d.Bytes()); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	// Twice the same template gives two addresses, and a file without
	// templates is not rewritten.
	dir := t.TempDir()
	path := writeFile(t, dir, "config", "lxc.net.0.type = veth\nlxc.net.0.hwaddr = 00:16:3e:xx:xx:xx\n")
	if err := FillHwaddrsFile(path); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^00:16:3e:[0-9a-f]{2}:[0-9a-f]{2}:[0-9a-f]{2}$`).MatchString(c.Net[0].Hwaddr) {
		t.Fatalf("hwaddr %q", c.Net[0].Hwaddr)
	}
	st1, _ := os.Stat(path)
	if err := FillHwaddrsFile(path); err != nil {
		t.Fatal(err)
	}
	if st2, _ := os.Stat(path); !os.SameFile(st1, st2) {
		t.Fatal("a config without templates was rewritten")
	}
	if err := FillHwaddrsFile(filepath.Join(dir, "nope")); err == nil {
		t.Fatal("no error for a missing file")
	}
}
