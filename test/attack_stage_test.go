package test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// golxc's hidden stages are for golxc's own children only: a caller of a
// tool (say through a sudo rule for lxc-info) cannot reach them by
// argument to remove a tree or run a command as root.
func TestAttackHiddenStages(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	victim := filepath.Join(l.aux, "victim")
	if err := os.MkdirAll(filepath.Join(victim, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(l.aux, "ran")
	for _, args := range [][]string{
		{"__golxc-remove-tree", victim},
		{"__golxc-userns-stage", "0", "/bin/touch", "touch", marker},
		{"__init"},
		{"__attach"},
		{"__golxc-netkeeper"},
		{"__golxc-unshare-stage", "0:0", "", "false", "/bin/touch", "touch", marker},
	} {
		for _, tool := range []string{"lxc-info", "lxc-ls"} {
			_, errs, code := run(t, tool, args...)
			if code == 0 || !strings.Contains(errs, "internal stage") && !strings.Contains(errs, "unknown") && !strings.Contains(errs, "invalid") {
				t.Errorf("%s %s: exit %d, stderr %q; want a refusal", tool, strings.Join(args, " "), code, errs)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(victim, "sub")); err != nil {
		t.Errorf("a hidden stage reached through a tool removed %s: %v", victim, err)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Errorf("a hidden stage reached through a tool ran a command")
	}
}
