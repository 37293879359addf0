package cli

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/golxc/golxc/internal/cgroup"
	"github.com/golxc/golxc/internal/config"
	"github.com/golxc/golxc/internal/lxc"
	"github.com/golxc/golxc/internal/monitor"
	"github.com/golxc/golxc/internal/network"
)

type infoCmd struct {
	common
	// -s, -p, -i and -S count their occurrences: LXC prints a bare value
	// when -H comes with exactly one of them, and "-s -s -H" is two.
	state, pid, ips, stats int
	humanOff               bool
	keys                   []string
	format                 string
}

func newInfo() *cobra.Command {
	i := &infoCmd{}
	cmd := &cobra.Command{
		Use:   "-n NAME [-s] [-p] [-i] [-S] [-H] [-c KEY]... [--format table|json]",
		Short: "show a container's state and usage",
		Long: "Show container NAME's state, init PID, CPU, block I/O and memory use. -s, -p, -i, -S pick what to show; " +
			"-H prints raw numbers, and with exactly one of -s, -p, -i the bare value (pid=$(lxc-info -n c1 -p -H)); " +
			"-c KEY prints a config value (bare with -H when it is the only key).",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return i.run(args) },
	}
	i.register(cmd, true)
	i.registerRCFile(cmd, "")
	f := cmd.Flags()
	f.CountVarP(&i.state, "state", "s", "show the state")
	f.CountVarP(&i.pid, "pid", "p", "show the init PID")
	f.CountVarP(&i.ips, "ips", "i", "show the IP addresses")
	f.CountVarP(&i.stats, "stats", "S", "show usage")
	f.BoolVarP(&i.humanOff, "no-humanize", "H", false, "raw numbers; the bare value with one of -s, -p, -i")
	f.StringArrayVarP(&i.keys, "config", "c", nil, "show config KEY (repeatable)")
	f.StringVar(&i.format, "format", "table", "output format: table or json")
	return cmd
}

// infoJSON is lxc-info --format json: stable names, raw numbers.
type infoJSON struct {
	Name        string                `json:"name"`
	State       string                `json:"state"`
	Pid         int                   `json:"pid,omitempty"`
	CPUNanos    *uint64               `json:"cpu_use_ns,omitempty"`
	BlkIOBytes  *uint64               `json:"blkio_use_bytes,omitempty"`
	MemoryBytes *uint64               `json:"memory_use_bytes,omitempty"`
	KMemBytes   *uint64               `json:"kmem_use_bytes,omitempty"`
	OOM         *uint64               `json:"oom_events,omitempty"`
	OOMKill     *uint64               `json:"oom_kills,omitempty"`
	Pressure    map[string]cgroup.PSI `json:"pressure,omitempty"`
	IPs         []string              `json:"ips"`
	Config      map[string]string     `json:"config,omitempty"`
	RunBy       string                `json:"run_by,omitempty"` // "lxc": LXC's own tools run it
}

// say prints a diagnostic as LXC's lxc-info words it, without the tool's
// name, unless -q.
func (i *infoCmd) say(format string, a ...any) {
	if !i.quiet {
		fmt.Fprintf(os.Stderr, format+"\n", a...)
	}
}

func (i *infoCmd) run(args []string) error {
	if i.format != "table" && i.format != "json" {
		return i.fail(fmt.Errorf("unknown format %q (table or json)", i.format))
	}
	// Not container(): RecoverInfo makes the re-adoption check itself,
	// asking a running container's monitor its state first and keeping
	// the answer, so that the monitor is asked once.
	ct, err := i.lookup(args)
	if err != nil {
		return err
	}
	all := i.state+i.pid+i.ips+i.stats == 0 && len(i.keys) == 0
	info, removed, infoErr := ct.RecoverInfo(all || i.stats > 0 || i.format == "json")
	if removed {
		// An ephemeral container whose monitor was killed, ended by
		// this look-up: its directory is gone.
		infoErr = &lxc.ErrNotDefined{Name: ct.Name}
	}
	// The config is read before the answer is looked at, as LXC does: a
	// container whose config does not load is an error whatever was
	// asked, and --rcfile makes a container that has no directory one to
	// show (STOPPED).
	var cfg *config.Config
	switch {
	case i.rcfile != "":
		if cfg, err = ct.LoadConfig(i.rcfile, nil); err != nil {
			return i.fail(fmt.Errorf("load rcfile: %w", err))
		}
	case !ct.Defined():
		i.say("%s doesn't exist", ct.Name)
		return i.failCode(1, nil)
	default:
		if cfg, err = ct.LoadConfig("", nil); err != nil {
			return i.fail(fmt.Errorf("Failed to load config for %s: %w", ct.Name, err))
		}
	}
	err = infoErr
	var nd *lxc.ErrNotDefined
	switch {
	case errors.As(err, &nd) && i.rcfile != "":
		info = &lxc.Info{Name: ct.Name, State: monitor.Stopped}
	case errors.As(err, &nd):
		// Destroyed since the config was read.
		i.say("%s doesn't exist", ct.Name)
		return i.failCode(1, nil)
	case err != nil:
		return i.fail(err)
	}
	values := map[string]string{}
	var good []string
	for _, k := range i.keys {
		v, err := lxcInfoValue(cfg, k)
		if err != nil {
			// LXC says only this, on stderr, and goes on (exit 0).
			i.say("%s invalid", k)
			continue
		}
		values[k] = v
		good = append(good, k)
	}
	if i.format == "json" {
		return i.fail(i.printJSON(info, values))
	}
	// All of it is written at once: a write per line cost as much as
	// reading the container's usage.
	out := bufio.NewWriterSize(os.Stdout, 4096)
	i.printTable(out, ct, cfg, info, good, values)
	if err := out.Flush(); err != nil {
		return i.fail(fmt.Errorf("write to standard output: %w", err))
	}
	return nil
}

// printTable prints info as LXC's lxc-info does, then the config keys
// good (with their values).
func (i *infoCmd) printTable(out *bufio.Writer, ct *lxc.Container, cfg *config.Config, info *lxc.Info, good []string, values map[string]string) {
	all := i.state+i.pid+i.ips+i.stats == 0 && len(i.keys) == 0
	// LXC prints the bare value of a State, PID or IP line when -H comes
	// with exactly one of -s, -p, -i, -S (counting repeats), the idiom
	// pid=$(lxc-info -n c1 -p -H).
	bare := i.humanOff && i.state+i.pid+i.ips+i.stats == 1
	stat := func(label, value string) { fmt.Fprintf(out, "%-16s%s\n", label+":", value) }
	line := func(label, value string) {
		if bare {
			out.WriteString(value + "\n")
		} else {
			stat(label, value)
		}
	}
	if all {
		stat("Name", info.Name)
	}
	if all || i.state > 0 {
		line("State", info.State)
	}
	if all && info.RunByLXC {
		stat("Run by", "LXC's own tools (lxc-start), not golxc")
	}
	if info.Pid > 0 {
		if all || i.pid > 0 {
			line("PID", strconv.Itoa(info.Pid))
		}
		if all || i.ips > 0 {
			// Global addresses outside loopback, as LXC lists them. A
			// container sharing the host's network lists the host's.
			v4, v6, _ := network.Addresses(info.Pid)
			for _, ip := range append(v4, v6...) {
				line("IP", ip)
			}
		}
		if s := info.Stats; s != nil && (all || i.stats > 0) {
			if s.HasCPU {
				if i.humanOff {
					stat("CPU use", strconv.FormatUint(s.CPUNanos, 10))
				} else {
					stat("CPU use", fmt.Sprintf("%.2f seconds", float64(s.CPUNanos)/1e9))
				}
			}
			if s.HasBlkIO {
				stat("BlkIO use", i.size(s.BlkIOBytes))
			}
			if s.HasMemory {
				stat("Memory use", i.size(s.MemoryBytes))
			}
			if s.HasKMem {
				stat("KMem use", i.size(s.KMemBytes))
			}
		}
		if e := info.Events; e != nil && (all || i.stats > 0) {
			i.printEvents(e, stat)
		}
		if all || i.stats > 0 {
			i.linkStats(ct, cfg, info, stat)
		}
	}
	// One key with -H is its bare value; otherwise "KEY = VALUE", and an
	// empty value is "KEY =" with no trailing blank, as LXC prints them.
	for _, k := range good {
		v := values[k]
		switch {
		case i.humanOff && len(i.keys) == 1:
			out.WriteString(v + "\n")
		case v == "":
			out.WriteString(k + " =\n")
		default:
			out.WriteString(k + " = " + v + "\n")
		}
	}
}

// printEvents prints the OOM counts (golxc's own lines: LXC has none)
// and the pressure of each resource, "some" then "full" as the kernel
// words them.
func (i *infoCmd) printEvents(e *cgroup.Events, stat func(label, value string)) {
	if e.HasOOM {
		stat("OOM events", strconv.FormatUint(e.OOM, 10))
	}
	if e.HasKill {
		stat("OOM kills", strconv.FormatUint(e.OOMKill, 10))
	}
	for _, r := range [][2]string{{"cpu", "CPU PSI"}, {"io", "IO PSI"}, {"memory", "Memory PSI"}} {
		p, ok := e.Pressure[r[0]]
		if !ok {
			continue
		}
		line := psiLine("some", p.Some)
		if p.Full != nil {
			line += " " + psiLine("full", *p.Full)
		}
		stat(r[1], line)
	}
}

func psiLine(kind string, p cgroup.Pressure) string {
	return fmt.Sprintf("%s avg10=%.2f avg60=%.2f avg300=%.2f total=%d", kind, p.Avg10, p.Avg60, p.Avg300, p.TotalUS)
}

// linkStats prints the counters of the host interface of each of the
// container's networks (lxc.Container.HostLinks): its TX is what the
// container sent, which the host end of a veth received, as LXC prints
// them. A container LXC's tools run has no record of golxc's: its veths
// are found from inside its network namespace.
func (i *infoCmd) linkStats(ct *lxc.Container, cfg *config.Config, info *lxc.Info, stat func(label, value string)) {
	var links []network.LinkStats
	ends, found := ct.HostLinks(cfg.Net)
	if !found {
		// No record of host ends (LXC's tools run it, or an older
		// golxc's monitor): found from inside its network namespace.
		links, _ = network.HostLinks(info.Pid)
	} else {
		for _, e := range ends {
			if l, ok := network.HostLinkStats(e.Name, e.Index); ok {
				links = append(links, l)
			}
		}
	}
	for _, l := range links {
		stat("Link", l.Name)
		stat(" TX bytes", i.size(l.RxBytes))
		stat(" RX bytes", i.size(l.TxBytes))
		stat(" Total bytes", i.size(l.RxBytes+l.TxBytes))
	}
}

func (i *infoCmd) printJSON(info *lxc.Info, values map[string]string) error {
	j := infoJSON{Name: info.Name, State: info.State, Pid: info.Pid, IPs: []string{}, RunBy: runBy(info)}
	if info.Pid > 0 {
		if v4, v6, err := network.Addresses(info.Pid); err == nil {
			j.IPs = append(append(j.IPs, v4...), v6...)
		}
	}
	if s := info.Stats; s != nil {
		if s.HasCPU {
			j.CPUNanos = &s.CPUNanos
		}
		if s.HasBlkIO {
			j.BlkIOBytes = &s.BlkIOBytes
		}
		if s.HasMemory {
			j.MemoryBytes = &s.MemoryBytes
		}
		if s.HasKMem {
			j.KMemBytes = &s.KMemBytes
		}
	}
	if e := info.Events; e != nil {
		if e.HasOOM {
			j.OOM = &e.OOM
		}
		if e.HasKill {
			j.OOMKill = &e.OOMKill
		}
		j.Pressure = e.Pressure
	}
	if len(values) > 0 {
		// JSON has no use for the newline LXC's text ends a list with.
		j.Config = map[string]string{}
		for k, v := range values {
			j.Config[k] = strings.TrimSuffix(v, "\n")
		}
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(j)
}

func (i *infoCmd) size(n uint64) string {
	if i.humanOff {
		return strconv.FormatUint(n, 10)
	}
	return humanSize(n)
}

// humanSize prints a byte count as LXC does: "0 bytes", "704.00 KiB".
func humanSize(n uint64) string {
	units := []string{"KiB", "MiB", "GiB", "TiB", "PiB"}
	if n < 1024 {
		return strconv.FormatUint(n, 10) + " bytes"
	}
	v := float64(n) / 1024
	u := 0
	// Compare with what %.2f prints, so 1048575 bytes is "1.00 MiB"
	// rather than "1024.00 KiB".
	for v >= 1023.995 && u < len(units)-1 {
		v /= 1024
		u++
	}
	return fmt.Sprintf("%.2f %s", v, units[u])
}
