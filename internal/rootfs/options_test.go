package rootfs

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestParseOptions(t *testing.T) {
	tests := []struct {
		name string
		in   []string
		want Options
	}{
		{name: "none", in: nil, want: Options{}},
		{name: "defaults", in: []string{"defaults"}, want: Options{}},
		{name: "ro", in: []string{"ro"}, want: Options{Flags: unix.MS_RDONLY}},
		{name: "ro then rw", in: []string{"ro", "rw"}, want: Options{}},
		{name: "rw then ro", in: []string{"rw", "ro"}, want: Options{Flags: unix.MS_RDONLY}},
		{name: "nosuid nodev noexec", in: []string{"nosuid", "nodev", "noexec"}, want: Options{Flags: unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC}},
		{name: "suid clears nosuid", in: []string{"nosuid", "suid"}, want: Options{}},
		{name: "dev exec clear", in: []string{"nodev", "noexec", "dev", "exec"}, want: Options{}},
		{name: "bind", in: []string{"bind"}, want: Options{Flags: unix.MS_BIND}},
		{name: "rbind", in: []string{"rbind"}, want: Options{Flags: unix.MS_BIND | unix.MS_REC}},
		{name: "bind ro", in: []string{"bind", "ro"}, want: Options{Flags: unix.MS_BIND | unix.MS_RDONLY}},
		{name: "atime family", in: []string{"noatime", "nodiratime", "relatime", "strictatime"}, want: Options{Flags: unix.MS_NOATIME | unix.MS_NODIRATIME | unix.MS_RELATIME | unix.MS_STRICTATIME}},
		{name: "sync async", in: []string{"sync", "async"}, want: Options{}},
		{name: "remount", in: []string{"remount"}, want: Options{Flags: unix.MS_REMOUNT}},
		{name: "private", in: []string{"private"}, want: Options{Propagation: unix.MS_PRIVATE}},
		{name: "rprivate", in: []string{"rprivate"}, want: Options{Propagation: unix.MS_PRIVATE | unix.MS_REC}},
		{name: "rslave", in: []string{"rslave"}, want: Options{Propagation: unix.MS_SLAVE | unix.MS_REC}},
		{name: "shared", in: []string{"shared"}, want: Options{Propagation: unix.MS_SHARED}},
		{name: "runbindable", in: []string{"runbindable"}, want: Options{Propagation: unix.MS_UNBINDABLE | unix.MS_REC}},
		{name: "rbind rslave", in: []string{"rbind", "rslave"}, want: Options{Flags: unix.MS_BIND | unix.MS_REC, Propagation: unix.MS_SLAVE | unix.MS_REC}},
		{name: "create=dir", in: []string{"bind", "create=dir"}, want: Options{Flags: unix.MS_BIND, CreateDir: true}},
		{name: "create=file", in: []string{"bind", "create=file"}, want: Options{Flags: unix.MS_BIND, CreateFile: true}},
		{name: "optional", in: []string{"bind", "optional"}, want: Options{Flags: unix.MS_BIND, Optional: true}},
		{name: "data in order", in: []string{"nosuid", "size=10m", "nodev", "mode=755"}, want: Options{Flags: unix.MS_NOSUID | unix.MS_NODEV, Data: "size=10m,mode=755"}},
		{name: "devpts data", in: []string{"newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}, want: Options{Data: "newinstance,ptmxmode=0666,mode=0620,gid=5"}},
		{name: "blanks and empties", in: []string{" ro ", "", "  ", " size=1m"}, want: Options{Flags: unix.MS_RDONLY, Data: "size=1m"}},
		{name: "case matters", in: []string{"RO"}, want: Options{Data: "RO"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ParseOptions(tt.in); got != tt.want {
				t.Errorf("ParseOptions(%q)\n got %+v\nwant %+v", tt.in, got, tt.want)
			}
		})
	}
}
