// Package lxclog is golxc's log format: logrus entries written as LXC
// writes its log (-o FILE -l LEVEL, lxc.log.file and lxc.log.level), one
// line each,
//
//	lxc-start c1 20261202014129.658 ERROR    monitor - monitor/monitor.go:run:663 - start of c1 failed: ...
//
// the tool, the container, the local time to the millisecond, the level
// padded to 8, the Go package, file:function:line and the message, so
// that what reads LXC's logs reads golxc's. LXC has nine levels and
// logrus seven: NOTICE, CRIT and ALERT are logrus levels with the
// Priority field set, and the formatter drops what is below the
// threshold.
package lxclog

import (
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"

	"github.com/sirupsen/logrus"
)

// Priority is an LXC log level, TRACE (0) to FATAL (8).
type Priority int

// The levels of lxc.container.conf(5), LOGGING.
const (
	Trace Priority = iota
	Debug
	Info
	Notice
	Warn
	Error
	Crit
	Alert
	Fatal
)

var names = [...]string{"TRACE", "DEBUG", "INFO", "NOTICE", "WARN", "ERROR", "CRIT", "ALERT", "FATAL"}

// Names lists the levels' names, TRACE first.
func Names() []string { return names[:] }

func (p Priority) String() string {
	if p < Trace || p > Fatal {
		return "UNKNOWN"
	}
	return names[p]
}

// PriorityField is the entry field that carries an LXC level logrus does
// not have: log.WithField(lxclog.PriorityField, lxclog.Notice).Info(...).
const PriorityField = "lxc.priority"

// ParsePriority takes a level name in any case, or its number.
func ParsePriority(s string) (Priority, error) {
	s = strings.ToUpper(strings.TrimSpace(s))
	if n, err := strconv.Atoi(s); err == nil && n >= int(Trace) && n <= int(Fatal) {
		return Priority(n), nil
	}
	for i, n := range names {
		if s == n {
			return Priority(i), nil
		}
	}
	return Error, fmt.Errorf("log priority %q: want one of %s, or 0 to 8", s, strings.Join(names[:], " "))
}

// logrusLevel is the most verbose logrus level that can hold entries of
// priority p or above.
func (p Priority) logrusLevel() logrus.Level {
	switch p {
	case Trace:
		return logrus.TraceLevel
	case Debug:
		return logrus.DebugLevel
	case Info, Notice:
		return logrus.InfoLevel
	case Warn:
		return logrus.WarnLevel
	case Error, Crit, Alert:
		return logrus.ErrorLevel
	}
	return logrus.FatalLevel
}

// entryPriority is the LXC level of an entry.
func entryPriority(e *logrus.Entry) Priority {
	if p, ok := e.Data[PriorityField].(Priority); ok {
		return p
	}
	switch e.Level {
	case logrus.TraceLevel:
		return Trace
	case logrus.DebugLevel:
		return Debug
	case logrus.InfoLevel:
		return Info
	case logrus.WarnLevel:
		return Warn
	case logrus.ErrorLevel:
		return Error
	}
	return Fatal
}

// Formatter writes entries in LXC's line format.
type Formatter struct {
	Tool string   // lxc-start ...
	Name string   // the container
	Min  Priority // entries below it are dropped
}

// Format renders one line; an entry below Min renders to nothing.
func (f *Formatter) Format(e *logrus.Entry) ([]byte, error) {
	p := entryPriority(e)
	if p < f.Min {
		return nil, nil
	}
	module, where := "golxc", "-"
	if c := e.Caller; c != nil {
		fn := c.Function // golxc/internal/monitor.(*mon).run
		pkg := fn
		if i := strings.LastIndexByte(fn, '/'); i >= 0 {
			pkg = fn[i+1:]
		}
		pkg, fn, _ = strings.Cut(pkg, ".")
		if j := strings.LastIndexByte(fn, '.'); j >= 0 {
			fn = fn[j+1:]
		}
		module = pkg
		where = path.Base(path.Dir(c.File)) + "/" + path.Base(c.File) + ":" + fn + ":" + strconv.Itoa(c.Line)
	}
	name := f.Name
	if name == "" {
		name = "-"
	}
	msg := strings.TrimRight(e.Message, "\n")
	return fmt.Appendf(nil, "%s %s %s %-8s %s - %s - %s\n", f.Tool, name, e.Time.Format("20060102150405.000"), p, module, where, msg), nil
}

// New returns a logger that writes to w the entries of priority min and
// above, in LXC's format, for tool acting on container name.
func New(w io.Writer, tool, name string, min Priority) *logrus.Logger {
	l := logrus.New()
	l.SetOutput(w)
	l.SetLevel(min.logrusLevel())
	l.SetReportCaller(true)
	l.SetFormatter(&Formatter{Tool: tool, Name: name, Min: min})
	return l
}
