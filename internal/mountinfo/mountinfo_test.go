package mountinfo

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseLine(t *testing.T) {
	for _, c := range []struct {
		what, line string
		want       Mount
	}{
		{"private, no optional fields",
			`22 1 0:20 / /sys rw,nosuid,nodev,noexec,relatime - sysfs sysfs rw`,
			Mount{ID: 22, Parent: 1, Dev: "0:20", Root: "/", Point: "/sys", Options: "rw,nosuid,nodev,noexec,relatime", Optional: []string{}, FSType: "sysfs", Source: "sysfs", SuperOptions: "rw"}},
		{"optional fields",
			`36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 shared:7 - ext3 /dev/root rw,errors=continue`,
			Mount{ID: 36, Parent: 35, Dev: "98:0", Root: "/mnt1", Point: "/mnt2", Options: "rw,noatime", Optional: []string{"master:1", "shared:7"}, FSType: "ext3", Source: "/dev/root", SuperOptions: "rw,errors=continue"}},
		{"escaped space, tab, newline and backslash",
			`30 24 0:25 /a\040b /mnt/cpu\040bind\011x\012y\134z rw,relatime shared:11 - cgroup cgroup\040x rw,cpu,cpuacct`,
			Mount{ID: 30, Parent: 24, Dev: "0:25", Root: "/a b", Point: "/mnt/cpu bind\tx\ny\\z", Options: "rw,relatime", Optional: []string{"shared:11"}, FSType: "cgroup", Source: "cgroup x", SuperOptions: "rw,cpu,cpuacct"}},
		{"bind of a subdirectory",
			`612 29 8:1 /var/lib/data/sub /srv/data rw,relatime shared:1 - ext4 /dev/sda1 rw`,
			Mount{ID: 612, Parent: 29, Dev: "8:1", Root: "/var/lib/data/sub", Point: "/srv/data", Options: "rw,relatime", Optional: []string{"shared:1"}, FSType: "ext4", Source: "/dev/sda1", SuperOptions: "rw"}},
		{"a point spelled with a dash",
			`40 30 0:37 / /x\040-\040y rw - tmpfs tmpfs rw`,
			Mount{ID: 40, Parent: 30, Dev: "0:37", Root: "/", Point: "/x - y", Options: "rw", Optional: []string{}, FSType: "tmpfs", Source: "tmpfs", SuperOptions: "rw"}},
		{"an empty source (mount -t tmpfs \"\" X)",
			`159 139 0:62 / /m rw - tmpfs  rw`,
			Mount{ID: 159, Parent: 139, Dev: "0:62", Root: "/", Point: "/m", Options: "rw", Optional: []string{}, FSType: "tmpfs", Source: "", SuperOptions: "rw"}},
		{"a backslash that is no escape",
			`41 30 0:38 / /short\04 rw - tmpfs tmpfs rw`,
			Mount{ID: 41, Parent: 30, Dev: "0:38", Root: "/", Point: `/short\04`, Options: "rw", Optional: []string{}, FSType: "tmpfs", Source: "tmpfs", SuperOptions: "rw"}},
	} {
		t.Run(c.what, func(t *testing.T) {
			got, err := ParseLine(c.line)
			if err != nil {
				t.Fatalf("ParseLine: %v", err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("ParseLine(%q)\n = %+v\nwant %+v", c.line, got, c.want)
			}
		})
	}
}

func TestParseLineRefused(t *testing.T) {
	for _, line := range []string{
		`22 1 0:20 / /sys rw sysfs sysfs rw`,         // no separator
		`22 1 0:20 / /sys - sysfs sysfs rw`,          // no options
		`22 1 0:20 / /sys rw - sysfs sysfs`,          // no super options
		`x 1 0:20 / /sys rw - sysfs sysfs rw`,        // id
		`22 1 020 / /sys rw - sysfs sysfs rw`,        // device
		`22 1 0:20 / /sys rw - sysfs sysfs rw extra`, // too many after "-"
	} {
		if m, err := ParseLine(line); err == nil {
			t.Errorf("ParseLine(%q) = %+v; want an error", line, m)
		}
	}
}

func TestParse(t *testing.T) {
	ms, err := Parse(strings.NewReader("24 1 0:22 / / rw shared:1 - ext4 /dev/sda1 rw\n\n35 24 0:30 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || ms[0].Point != "/" || ms[1].Point != "/sys/fs/cgroup" || ms[1].Parent != ms[0].ID {
		t.Errorf("Parse = %+v", ms)
	}
	if _, err := Parse(strings.NewReader("24 1 0:22 / / rw - ext4 /dev/sda1 rw\nbroken\n")); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("Parse of a broken second line: %v; want an error naming line 2", err)
	}
}

// TestSelf: the process's own table has its root mount.
func TestSelf(t *testing.T) {
	ms, err := Self()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Point == "/" {
			return
		}
	}
	t.Errorf("no mount on / in %d mounts", len(ms))
}
