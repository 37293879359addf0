package cli

import "github.com/golxc/golxc/internal/lxc"

// runBy is who runs a container, for --format json: "lxc" when LXC's own
// tools do (golxc can only show it), nothing when golxc does or nobody.
func runBy(info *lxc.Info) string {
	if info.RunByLXC {
		return "lxc"
	}
	return ""
}

// stateCell is lxc-ls -f's STATE: a container LXC's own tools run is
// marked, so nobody takes it for one golxc can stop.
func stateCell(state, runBy string) string {
	if runBy == "lxc" {
		return state + " (LXC)"
	}
	return state
}

// lxcScanFor is the one look at LXC's monitors that every container of a
// listing shares (nil when no state is shown).
func lxcScanFor(needState bool) *lxc.LXCScan {
	if !needState {
		return nil
	}
	return lxc.ScanLXC()
}
