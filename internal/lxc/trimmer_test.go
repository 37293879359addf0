package lxc

import (
	"sync/atomic"
	"testing"
	"time"
)

// TestTrimmerWaitsForPause: a burst of starts gets one trim, after it
// pauses, not one a second during it.
func TestTrimmerWaitsForPause(t *testing.T) {
	var freed atomic.Int32
	trim, stop := trimmer(func() { freed.Add(1) }, 500*time.Millisecond, time.Hour)
	defer stop()
	for range 10 {
		trim()
		time.Sleep(20 * time.Millisecond)
		if n := freed.Load(); n != 0 {
			t.Fatalf("trimmed %d times during the burst", n)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for freed.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(time.Second)
	if n := freed.Load(); n != 1 {
		t.Fatalf("trimmed %d times after the burst paused, want 1", n)
	}
}

// TestTrimmerLatest: starts that never pause (one just inside the quiet
// time, for ever) still get a trim, by the latest bound.
func TestTrimmerLatest(t *testing.T) {
	var freed atomic.Int32
	trim, stop := trimmer(func() { freed.Add(1) }, 200*time.Millisecond, 500*time.Millisecond)
	defer stop()
	start := time.Now()
	for time.Since(start) < 2*time.Second && freed.Load() == 0 {
		trim()
		time.Sleep(50 * time.Millisecond)
	}
	if freed.Load() == 0 {
		t.Fatal("no trim in 2 s of starts 50 ms apart with a 500 ms bound")
	}
}

// TestTrimmerStop: nothing is trimmed once stopped, asked or not, and a
// second stop is harmless.
func TestTrimmerStop(t *testing.T) {
	var freed atomic.Int32
	trim, stop := trimmer(func() { freed.Add(1) }, 50*time.Millisecond, time.Hour)
	trim()
	stop()
	stop()
	trim()
	time.Sleep(200 * time.Millisecond)
	if n := freed.Load(); n != 0 {
		t.Fatalf("trimmed %d times after stop", n)
	}
}
