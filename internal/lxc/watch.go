package lxc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/golxc/golxc/internal/monitor"
)

// StateChange is one state change lxc-monitor prints.
type StateChange struct {
	Name    string
	LXCPath string
	State   string
	Time    time.Time
}

// Watcher follows the state changes of every container whose name
// matches a pattern in some lxcpaths: the ones running when it starts
// and the ones started after. Each monitor streams its own changes
// ("watch"); new monitors are found through inotify on the monitors'
// socket directory, so nothing is polled. A monitor found after it
// started tells its changes from STARTING, each once.
type Watcher struct {
	match    *regexp.Regexp
	lxcpaths []string
	out      func(StateChange)
	outMu    sync.Mutex
	mu       sync.Mutex
	// active are the monitors followed, by socket path and inode: a
	// monitor found twice (at start and by its socket's creation) is
	// followed once; a new monitor of the same container has a new
	// socket file.
	active map[socketKey]bool
	wg     sync.WaitGroup
}

type socketKey struct {
	path string
	ino  uint64
}

// NewWatcher returns a watcher of the containers under lxcpaths whose
// whole name matches pattern (a regular expression, as lxc-monitor -n).
func NewWatcher(pattern string, lxcpaths []string, out func(StateChange)) (*Watcher, error) {
	re, err := regexp.Compile("^(?:" + pattern + ")$")
	if err != nil {
		return nil, fmt.Errorf("bad name pattern %q: %w", pattern, err)
	}
	w := &Watcher{match: re, out: out, active: map[socketKey]bool{}}
	for _, p := range lxcpaths {
		abs, err := filepath.Abs(p)
		if err != nil {
			return nil, fmt.Errorf("lxcpath %s: %w", p, err)
		}
		resolved, err := ResolveLXCPath(abs)
		if err != nil {
			return nil, err
		}
		w.lxcpaths = append(w.lxcpaths, resolved)
	}
	return w, nil
}

// Run follows state changes until ctx ends (never, for a context that
// cannot end).
func (w *Watcher) Run(ctx context.Context) error {
	dir, err := monitor.PrepareSocketDir()
	if err != nil {
		return err
	}
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return fmt.Errorf("inotify: %w", err)
	}
	defer unix.Close(fd)
	if _, err := unix.InotifyAddWatch(fd, dir, unix.IN_CREATE|unix.IN_MOVED_TO); err != nil {
		return fmt.Errorf("watch %s: %w", dir, err)
	}
	// Watching first, then the running ones: a monitor that starts in
	// between is found by both, and followed once.
	for _, c := range w.candidates() {
		w.follow(c, false)
	}
	buf := make([]byte, 64<<10)
	// A context that can end is checked a few times a second; one that
	// cannot (lxc-monitor, which a signal ends) costs no wake-up at all.
	timeout := -1
	if ctx.Done() != nil {
		timeout = 200
	}
	for ctx.Err() == nil {
		names, err := readInotify(fd, buf, timeout)
		if err != nil {
			return err
		}
		if len(names) == 0 {
			continue
		}
		created := map[string]bool{}
		for _, name := range names {
			created[name] = true
		}
		for _, c := range w.candidates() {
			if created[filepath.Base(monitor.SocketPath(c.LXCPath, c.Name))] {
				w.follow(c, true)
			}
		}
	}
	return nil
}

// candidates are the containers under the lxcpaths whose name matches.
func (w *Watcher) candidates() []*Container {
	var cs []*Container
	for _, p := range w.lxcpaths {
		names, _ := List(p)
		for _, n := range names {
			if w.match.MatchString(n) {
				cs = append(cs, &Container{Name: n, LXCPath: p, typed: p})
			}
		}
	}
	return cs
}

// follow streams the changes of c's monitor, if one listens and is not
// followed already; history says to tell its changes from the start.
func (w *Watcher) follow(c *Container, history bool) {
	path := monitor.SocketPath(c.LXCPath, c.Name)
	var conn *monitor.Conn
	var err error
	// The socket file comes at bind, the listening at listen(2) just
	// after: a refusal in between is retried briefly.
	for i := 0; i < 20; i++ {
		if conn, err = monitor.DialPath(path, c.Name); err == nil || !history {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err != nil {
		return
	}
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		conn.Close()
		return
	}
	key := socketKey{path, st.Ino}
	w.mu.Lock()
	if w.active[key] {
		w.mu.Unlock()
		conn.Close()
		return
	}
	w.active[key] = true
	w.mu.Unlock()
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		defer conn.Close()
		first := !history // the current state, not a change
		last := ""
		err := conn.Watch(history, time.Time{}, func(r *monitor.Response) bool {
			if first {
				first = false
				last = r.State
				return true
			}
			last = r.State
			w.emit(StateChange{Name: c.Name, LXCPath: c.LXCPath, State: r.State, Time: time.Unix(0, r.Time)})
			return true
		})
		if last != monitor.Stopped && (err == nil || errors.Is(err, io.EOF)) {
			// The monitor went without telling STOPPED (killed): the
			// container is stopped all the same.
			w.emit(StateChange{Name: c.Name, LXCPath: c.LXCPath, State: monitor.Stopped, Time: time.Now()})
		}
		w.mu.Lock()
		delete(w.active, key)
		w.mu.Unlock()
	}()
}

func (w *Watcher) emit(s StateChange) {
	w.outMu.Lock()
	defer w.outMu.Unlock()
	w.out(s)
}
