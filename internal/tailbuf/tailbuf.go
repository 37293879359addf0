// Package tailbuf keeps the end of what a child process writes: the last
// line of a failing template, hook or stage is the one-line error a tool
// prints, and the rest must not grow without bound.
package tailbuf

import (
	"bytes"
	"strings"
)

// DefaultMax is what a Buffer with Max 0 keeps.
const DefaultMax = 64 << 10

// Buffer keeps the last Max bytes written to it (DefaultMax when 0).
type Buffer struct {
	Max int
	buf bytes.Buffer
}

func (t *Buffer) max() int {
	if t.Max > 0 {
		return t.Max
	}
	return DefaultMax
}

// Write keeps the end of p; it never fails.
func (t *Buffer) Write(p []byte) (int, error) {
	n, m := len(p), t.max()
	if len(p) > m {
		p = p[len(p)-m:]
	}
	if over := t.buf.Len() + len(p) - m; over > 0 {
		t.buf.Next(over)
	}
	t.buf.Write(p)
	return n, nil
}

// String is what is kept.
func (t *Buffer) String() string { return t.buf.String() }

// Bytes is what is kept (the Buffer's own slice).
func (t *Buffer) Bytes() []byte { return t.buf.Bytes() }

// LastLine is the last non-empty line kept, trimmed, at most 512 bytes of
// its end.
func (t *Buffer) LastLine() string { return LastLine(t.buf.String()) }

// LastLine is the last non-empty line of s, trimmed, at most 512 bytes of
// its end.
func LastLine(s string) string {
	s = strings.TrimRight(s, " \t\r\n")
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	s = strings.TrimSpace(s)
	if len(s) > 512 {
		s = s[len(s)-512:]
	}
	return s
}
