package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/golxc/golxc/internal/cgroup"
	"github.com/golxc/golxc/internal/config"
	"github.com/golxc/golxc/internal/lxc"
)

type topCmd struct {
	common
	delay   float64
	batch   bool
	sortBy  string
	reverse bool
	rounds  int
	format  string
}

func newTop() *cobra.Command {
	t := &topCmd{}
	cmd := &cobra.Command{
		Use:   "[-d DELAY] [-s n|c|b|m|s|k] [-r] [-b [-n ROUNDS]] [--format text|json]",
		Short: "show the running containers' resource use, refreshed",
		Long: "A table of the running containers of LXCPATH: CPU time (used, system, user, in seconds), block I/O " +
			"(total, read, write), memory, memory+swap and kernel memory, with a TOTAL line, refreshed every DELAY seconds " +
			"(default 3). -s sorts by name (n), CPU (c), block I/O (b), memory (m), memory+swap (s) or kernel memory (k); " +
			"-r descending. -b prints plain rounds one after the other and needs no terminal (nor does a run without one); " +
			"-n stops after ROUNDS rounds. --format json (batch) prints one JSON object a round. On a terminal, keys: " +
			"n, c, b, m, s, k sort, r reverses, q quits.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return t.run() },
	}
	t.register(cmd, false)
	f := cmd.Flags()
	f.Float64VarP(&t.delay, "delay", "d", 3, "seconds between refreshes")
	f.BoolVarP(&t.batch, "batch", "b", false, "plain output, no terminal needed")
	f.StringVarP(&t.sortBy, "sort", "s", "n", "sort by n (name), c (CPU), b (block I/O), m (memory), s (memory+swap), k (kernel memory)")
	f.BoolVarP(&t.reverse, "reverse", "r", false, "sort in descending order")
	f.IntVarP(&t.rounds, "rounds", "n", 0, "stop after ROUNDS refreshes (0: never)")
	f.StringVar(&t.format, "format", "text", "output format: text or json (json implies -b)")
	return cmd
}

// topRow is one container's line of lxc-top (and of its JSON).
type topRow struct {
	Name       string `json:"name"`
	CPUNanos   uint64 `json:"cpu_ns"`
	SysNanos   uint64 `json:"cpu_sys_ns"`
	UserNanos  uint64 `json:"cpu_user_ns"`
	BlkIO      uint64 `json:"blkio_bytes"`
	BlkRead    uint64 `json:"blkio_read_bytes"`
	BlkWrite   uint64 `json:"blkio_write_bytes"`
	Memory     uint64 `json:"memory_bytes"`
	MemorySwap uint64 `json:"memsw_bytes"`
	KMem       uint64 `json:"kmem_bytes"`
}

// topRound is one refresh of lxc-top --format json.
type topRound struct {
	Time       string   `json:"time"`
	Containers []topRow `json:"containers"`
	Total      topRow   `json:"total"`
	Defined    int      `json:"defined"`
}

func (t *topCmd) run() error {
	if !strings.Contains("ncbmsk", t.sortBy) || len(t.sortBy) != 1 {
		return t.fail(fmt.Errorf("invalid sort key %q (n, c, b, m, s or k)", t.sortBy))
	}
	if t.delay <= 0 || t.delay > 1e6 {
		return t.fail(fmt.Errorf("invalid delay %v (seconds, more than 0)", t.delay))
	}
	if t.rounds < 0 {
		return t.fail(fmt.Errorf("invalid rounds %d", t.rounds))
	}
	if t.format != "text" && t.format != "json" {
		return t.fail(fmt.Errorf("unknown format %q (text or json)", t.format))
	}
	path, err := t.path()
	if err != nil {
		return err
	}
	layout, err := cgroup.Detect()
	if err != nil {
		return t.fail(err)
	}
	// The containers' cgroups are only in lxc.cgroup.use's hierarchies.
	sys, err := config.LoadSystem()
	if err != nil {
		return t.fail(err)
	}
	layout = layout.Use(sys.CgroupControllers())
	// The screen is redrawn only on a terminal; anywhere else every
	// round is printed after the last, as with -b.
	screen := !t.batch && t.format == "text" && isTerminal(os.Stdout)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var keys <-chan byte
	if screen && isTerminal(os.Stdin) {
		// Keys as LXC's lxc-top takes them: a sort letter, r to
		// reverse, q to quit; each redraws at once.
		restore, ch := readKeys(os.Stdin)
		defer restore()
		keys = ch
	}
	tick := time.NewTicker(time.Duration(t.delay * float64(time.Second)))
	defer tick.Stop()
	for n := 1; ; n++ {
		round, err := t.collect(path, layout)
		if err != nil {
			return t.fail(err)
		}
		var b strings.Builder
		if screen {
			b.WriteString("\033[H\033[J")
		}
		if t.format == "json" {
			j, _ := json.Marshal(round)
			b.Write(append(j, '\n'))
		} else {
			t.table(&b, round, n > 1 && !screen)
		}
		if _, err := io.WriteString(os.Stdout, b.String()); err != nil {
			return t.fail(fmt.Errorf("write: %w", err))
		}
		if t.rounds > 0 && n >= t.rounds {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		case k, ok := <-keys:
			switch {
			case !ok || k == 'q':
				return nil
			case k == 'r':
				t.reverse = !t.reverse
			case strings.IndexByte("ncbmsk", k) >= 0:
				t.sortBy = string(k)
			}
		}
	}
}

// collect reads the usage of every running container of path.
func (t *topCmd) collect(path string, layout *cgroup.Layout) (*topRound, error) {
	names, err := lxc.List(path)
	if err != nil {
		return nil, err
	}
	round := &topRound{Time: time.Now().UTC().Format(time.RFC3339Nano), Containers: []topRow{}, Defined: len(names)}
	for _, n := range names {
		ct, err := lxc.New(path, n)
		if err != nil {
			continue
		}
		info, err := ct.Info(true)
		// A container that stopped, or went, between the listing and
		// the question is simply not in this round.
		if err != nil || info.Pid == 0 || info.Stats == nil || info.Cgroup == "" {
			continue
		}
		s := info.Stats
		row := topRow{Name: n, CPUNanos: s.CPUNanos, BlkIO: s.BlkIOBytes, Memory: s.MemoryBytes, MemorySwap: s.MemoryBytes + s.SwapBytes, KMem: s.KMemBytes}
		if d, err := layout.Group(info.Cgroup).Detail(); err == nil {
			row.SysNanos, row.UserNanos, row.BlkRead, row.BlkWrite = d.SysNanos, d.UserNanos, d.ReadBytes, d.WriteBytes
		}
		round.Containers = append(round.Containers, row)
		tot := &round.Total
		tot.CPUNanos += row.CPUNanos
		tot.SysNanos += row.SysNanos
		tot.UserNanos += row.UserNanos
		tot.BlkIO += row.BlkIO
		tot.BlkRead += row.BlkRead
		tot.BlkWrite += row.BlkWrite
		tot.Memory += row.Memory
		tot.MemorySwap += row.MemorySwap
		tot.KMem += row.KMem
	}
	round.Total.Name = fmt.Sprintf("TOTAL %d of %d", len(round.Containers), len(names))
	key := map[string]func(r topRow) uint64{
		"c": func(r topRow) uint64 { return r.CPUNanos },
		"b": func(r topRow) uint64 { return r.BlkIO },
		"m": func(r topRow) uint64 { return r.Memory },
		"s": func(r topRow) uint64 { return r.MemorySwap },
		"k": func(r topRow) uint64 { return r.KMem },
	}[t.sortBy]
	sort.SliceStable(round.Containers, func(i, j int) bool {
		a, b := round.Containers[i], round.Containers[j]
		if t.reverse {
			a, b = b, a
		}
		if key == nil || key(a) == key(b) {
			return a.Name < b.Name
		}
		return key(a) < key(b)
	})
	return round, nil
}

// table writes a round as LXC's lxc-top lays it out: two header lines, a
// line per container, the TOTAL line; rounds after the first of a batch
// are set apart by a blank line.
func (t *topCmd) table(w io.Writer, r *topRound, sep bool) {
	if sep {
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "%-20s %10s %10s %10s %32s %11s %11s %11s\n", "Container", "CPU", "CPU", "CPU", "BlkIO", "Mem", "MemSw", "KMem")
	fmt.Fprintf(w, "%-20s %10s %10s %10s %32s %11s %11s %11s\n", "Name", "Used", "Sys", "User", "Total(Read/Write)", "Used", "Used", "Used")
	line := func(row topRow) {
		blk := fmt.Sprintf("%s (%s/%s)", humanSize(row.BlkIO), humanSize(row.BlkRead), humanSize(row.BlkWrite))
		fmt.Fprintf(w, "%-20s %10.2f %10.2f %10.2f %32s %11s %11s %11s\n", row.Name,
			float64(row.CPUNanos)/1e9, float64(row.SysNanos)/1e9, float64(row.UserNanos)/1e9,
			blk, humanSize(row.Memory), humanSize(row.MemorySwap), humanSize(row.KMem))
	}
	for _, row := range r.Containers {
		line(row)
	}
	line(r.Total)
}

// readKeys turns off line editing and echo on the terminal in (signals
// stay: Ctrl-C still ends lxc-top) and sends each key read; restore puts
// the terminal back as it was.
func readKeys(in *os.File) (restore func(), keys <-chan byte) {
	fd := int(in.Fd())
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return func() {}, nil
	}
	cbreak := *old
	cbreak.Lflag &^= unix.ICANON | unix.ECHO
	cbreak.Cc[unix.VMIN] = 1
	cbreak.Cc[unix.VTIME] = 0
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &cbreak); err != nil {
		return func() {}, nil
	}
	ch := make(chan byte, 16)
	go func() {
		defer close(ch)
		b := make([]byte, 16)
		for {
			n, err := in.Read(b)
			for _, k := range b[:n] {
				ch <- k
			}
			if err != nil {
				return
			}
		}
	}()
	return func() { _ = unix.IoctlSetTermios(fd, unix.TCSETS, old) }, ch
}
