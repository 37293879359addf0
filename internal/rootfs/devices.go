package rootfs

import (
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// DefaultDevices are the nodes every container's /dev gets (runtime-spec
// config-linux.md, "Default Devices"; LXC's autodev makes the same six),
// each 0666. A new slice each call: callers append to it.
func DefaultDevices() []specs.LinuxDevice {
	nodes := []struct {
		path         string
		major, minor int64
	}{{"/dev/null", 1, 3}, {"/dev/zero", 1, 5}, {"/dev/full", 1, 7}, {"/dev/random", 1, 8}, {"/dev/urandom", 1, 9}, {"/dev/tty", 5, 0}}
	out := make([]specs.LinuxDevice, len(nodes))
	for i, n := range nodes {
		mode := os.FileMode(0o666)
		out[i] = specs.LinuxDevice{Path: n.path, Type: "c", Major: n.major, Minor: n.minor, FileMode: &mode}
	}
	return out
}
