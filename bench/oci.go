package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"time"
)

// ociCycle times create + start + delete of one busybox bundle through
// golxc-runc and, when it is installed, runc (Debian's package), in turn
// (A B A B ...), so that a drift of the machine's speed weighs on both.
func ociCycle(bin, dir string, runs int) error {
	bundle := filepath.Join(dir, "oci-bundle")
	rootfs := filepath.Join(bundle, "rootfs")
	for _, d := range []string{"bin", "proc", "sys", "dev", "tmp", "etc"} {
		if err := os.MkdirAll(filepath.Join(rootfs, d), 0o755); err != nil {
			return err
		}
	}
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(rootfs, "bin/busybox"), bb, 0o755); err != nil {
		return err
	}
	if err := os.Symlink("busybox", filepath.Join(rootfs, "bin/true")); err != nil {
		return err
	}
	golxc := filepath.Join(bin, "golxc-runc")
	if out, err := exec.Command(golxc, "spec", "--bundle", bundle).CombinedOutput(); err != nil {
		return fmt.Errorf("golxc-runc spec: %v (%s)", err, out)
	}
	var cfg map[string]any
	raw, err := os.ReadFile(filepath.Join(bundle, "config.json"))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return err
	}
	proc := cfg["process"].(map[string]any)
	proc["terminal"] = false
	proc["args"] = []string{"true"}
	// An absolute cgroup path: a relative one is below the caller's own
	// cgroup for runc.
	parent := fmt.Sprintf("golxc-bench-%d", os.Getpid())
	cfg["linux"].(map[string]any)["cgroupsPath"] = "/" + parent + "/b1"
	defer func() {
		// runc leaves the parent it made in every hierarchy.
		dirs, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup", "*", parent))
		for _, d := range dirs {
			_ = os.Remove(d)
		}
	}()
	if raw, err = json.Marshal(cfg); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(bundle, "config.json"), raw, 0o644); err != nil {
		return err
	}
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer null.Close()
	cycle := func(rt string) (time.Duration, error) {
		root := filepath.Join(dir, "oci-root-"+filepath.Base(rt))
		t0 := time.Now()
		for _, args := range [][]string{{"create", "--bundle", bundle, "b1"}, {"start", "b1"}, {"delete", "--force", "b1"}} {
			cmd := exec.Command(rt, append([]string{"--root", root}, args...)...)
			// The container inherits create's stdio.
			cmd.Stdin, cmd.Stdout, cmd.Stderr = null, null, null
			if err := cmd.Run(); err != nil {
				return 0, fmt.Errorf("%s %v: %w", rt, args, err)
			}
		}
		return time.Since(t0), nil
	}
	runc, _ := exec.LookPath("runc")
	var a, b, ratio []float64
	for i := 0; i < runs; i++ {
		d, err := cycle(golxc)
		if err != nil {
			return err
		}
		a = append(a, d.Seconds())
		if runc == "" {
			continue
		}
		e, err := cycle(runc)
		if err != nil {
			return err
		}
		b = append(b, e.Seconds())
		ratio = append(ratio, d.Seconds()/e.Seconds())
	}
	med := func(v []float64) (float64, float64, float64) {
		sort.Float64s(v)
		return v[len(v)/2], v[0], v[len(v)-1]
	}
	m, lo, hi := med(a)
	fmt.Printf("  %-36s %10.1f ms  (%.1f ms .. %.1f ms)\n", "golxc-runc create+start+delete", m*1000, lo*1000, hi*1000)
	if runc == "" {
		fmt.Println("  (runc not installed: no side-by-side figure)")
		return nil
	}
	m, lo, hi = med(b)
	fmt.Printf("  %-36s %10.1f ms  (%.1f ms .. %.1f ms)\n", "runc create+start+delete", m*1000, lo*1000, hi*1000)
	m, lo, hi = med(ratio)
	fmt.Printf("  %-36s %10.2f     (%.2f .. %.2f), pair by pair\n", "golxc-runc / runc", m, lo, hi)
	return nil
}
