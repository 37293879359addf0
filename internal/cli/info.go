package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"

	"github.com/spf13/cobra"
)

type infoCmd struct {
	common
	state, pid, ips, stats, humanOff bool
	keys                             []string
	format                           string
}

func newInfo() *cobra.Command {
	i := &infoCmd{}
	cmd := &cobra.Command{
		Use:   "-n NAME [-s] [-p] [-i] [-S] [-H] [-c KEY]... [--format table|json]",
		Short: "show a container's state and usage",
		Long:  "Show container NAME's state, init PID, CPU, block I/O and memory use. -s, -p, -i, -S pick what to show; -H prints raw numbers; -c KEY prints a config value.",
		Args:  cobra.MaximumNArgs(1),
		RunE:  func(cmd *cobra.Command, args []string) error { return i.run(args) },
	}
	i.register(cmd, true)
	i.registerRCFile(cmd, "")
	f := cmd.Flags()
	f.BoolVarP(&i.state, "state", "s", false, "show the state")
	f.BoolVarP(&i.pid, "pid", "p", false, "show the init PID")
	f.BoolVarP(&i.ips, "ips", "i", false, "show the IP addresses")
	f.BoolVarP(&i.stats, "stats", "S", false, "show usage")
	f.BoolVarP(&i.humanOff, "no-humanize", "H", false, "raw numbers")
	f.StringArrayVarP(&i.keys, "config", "c", nil, "show config KEY (repeatable)")
	f.StringVar(&i.format, "format", "table", "output format: table or json")
	return cmd
}

// infoJSON is lxc-info --format json: stable names, raw numbers.
type infoJSON struct {
	Name        string            `json:"name"`
	State       string            `json:"state"`
	Pid         int               `json:"pid,omitempty"`
	CPUNanos    *uint64           `json:"cpu_use_ns,omitempty"`
	BlkIOBytes  *uint64           `json:"blkio_use_bytes,omitempty"`
	MemoryBytes *uint64           `json:"memory_use_bytes,omitempty"`
	KMemBytes   *uint64           `json:"kmem_use_bytes,omitempty"`
	IPs         []string          `json:"ips"`
	Config      map[string]string `json:"config,omitempty"`
	RunBy       string            `json:"run_by,omitempty"` // "lxc": LXC's own tools run it
}

func (i *infoCmd) run(args []string) error {
	if i.format != "table" && i.format != "json" {
		return i.fail(fmt.Errorf("unknown format %q (table or json)", i.format))
	}
	ct, err := i.container(args)
	if err != nil {
		return err
	}
	all := !i.state && !i.pid && !i.ips && !i.stats && len(i.keys) == 0
	info, err := ct.Info(all || i.stats || i.format == "json")
	if err != nil {
		return i.fail(err)
	}
	values := map[string]string{}
	if len(i.keys) > 0 {
		cfg, err := ct.LoadConfig(i.rcfile, nil)
		if err != nil {
			return i.fail(err)
		}
		for _, k := range i.keys {
			v, err := cfg.Get(k)
			if err != nil {
				return i.fail(err)
			}
			values[k] = v
		}
	}
	if i.format == "json" {
		j := infoJSON{Name: info.Name, State: info.State, Pid: info.Pid, IPs: []string{}, RunBy: runBy(info)}
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
		if len(values) > 0 {
			j.Config = values
		}
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return i.fail(enc.Encode(j))
	}
	line := func(label, value string) { fmt.Printf("%-16s%s\n", label+":", value) }
	if all {
		line("Name", info.Name)
	}
	if all || i.state {
		line("State", info.State)
	}
	if all && info.RunByLXC {
		line("Run by", "LXC's own tools (lxc-start), not golxc")
	}
	if info.Pid > 0 {
		if all || i.pid {
			line("PID", strconv.Itoa(info.Pid))
		}
		if s := info.Stats; s != nil && (all || i.stats) {
			if s.HasCPU {
				if i.humanOff {
					line("CPU use", strconv.FormatUint(s.CPUNanos, 10))
				} else {
					line("CPU use", fmt.Sprintf("%.2f seconds", float64(s.CPUNanos)/1e9))
				}
			}
			if s.HasBlkIO {
				line("BlkIO use", i.size(s.BlkIOBytes))
			}
			if s.HasMemory {
				line("Memory use", i.size(s.MemoryBytes))
			}
			if s.HasKMem {
				line("KMem use", i.size(s.KMemBytes))
			}
		}
	}
	for _, k := range i.keys {
		if i.humanOff {
			fmt.Println(values[k])
		} else {
			fmt.Printf("%s = %s\n", k, values[k])
		}
	}
	return nil
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
