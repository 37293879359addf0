// Command bench times golxc's tools as whole processes, as a sysadmin's
// script runs them, and measures what one more running container costs the
// host. With Debian's LXC installed it runs LXC's tools on the same
// containers, interleaved run by run, and prints golxc/LXC ratios. It
// prints medians (and min/max); it asserts nothing. Run as root:
//
//	make bench                 # the ratio suite (LXC beside when installed)
//	make bench-scale N=1000    # N containers at once, a plot of the way there
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "scale" {
		os.Exit(scaleMain(os.Args[2:]))
	}
	fs := flag.NewFlagSet("bench", flag.ExitOnError)
	runs := fs.Int("runs", 30, "runs per measurement")
	memN := fs.Int("containers", 50, "containers started for the memory and lxc-ls -f figures")
	ociRuns := fs.Int("oci-runs", 5, "runs of the lxc-create -t oci import")
	ociOnly := fs.Bool("oci-only", false, "time only the lxc-create -t oci import")
	vsLXC := choice("auto")
	fs.Var(&vsLXC, "vs-lxc", "run LXC's tools beside golxc's: yes (the bare flag), no, or auto (when "+lxcBin+"/lxc-start exists)")
	_ = fs.Parse(os.Args[1:])
	sets, err := toolsets(string(vsLXC))
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	if *ociOnly {
		sets = sets[:1]
	}
	if err := suite(sets, *runs, *memN, *ociRuns, *ociOnly); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// lxcBin is where Debian's lxc package puts LXC's tools.
const lxcBin = "/usr/bin"

// toolsets is golxc's (GOLXC_BIN, default bin/) and, when asked or found,
// LXC's.
func toolsets(vsLXC string) ([]*toolset, error) {
	bin := os.Getenv("GOLXC_BIN")
	if bin == "" {
		bin = "bin"
	}
	abs, err := filepath.Abs(bin)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(abs, "lxc-start")); err != nil {
		return nil, fmt.Errorf("no golxc tools in %s (make build first): %w", abs, err)
	}
	sets := []*toolset{{label: "golxc", bin: abs}}
	_, statErr := os.Stat(filepath.Join(lxcBin, "lxc-start"))
	switch vsLXC {
	case "no":
	case "yes":
		if statErr != nil {
			return nil, fmt.Errorf("-vs-lxc=yes but LXC is not installed (apt-get install -y lxc): %w", statErr)
		}
		sets = append(sets, &toolset{label: "LXC", bin: lxcBin})
	case "auto":
		if statErr == nil {
			sets = append(sets, &toolset{label: "LXC", bin: lxcBin})
		}
	default:
		return nil, fmt.Errorf("-vs-lxc takes yes, no or auto, not %q", vsLXC)
	}
	return sets, nil
}

// choice is -vs-lxc: yes, no or auto; the bare flag means yes.
type choice string

func (c *choice) String() string { return string(*c) }
func (c *choice) Set(s string) error {
	switch s {
	case "yes", "true", "1":
		*c = "yes"
	case "no", "false", "0":
		*c = "no"
	case "auto":
		*c = "auto"
	default:
		return fmt.Errorf("yes, no or auto, not %q", s)
	}
	return nil
}
func (c *choice) IsBoolFlag() bool { return true }
