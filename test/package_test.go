package test

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// The packaging tests: man pages and completions generated from the
// tools, make install/uninstall into a DESTDIR, the .deb installed and
// purged in a scratch root (never the host's dpkg database), make split.
// They use the built binary (GOLXC_BIN) and never rebuild bin/, which
// other tests run from.

// repoRoot is the source tree the tests belong to.
func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot find the test's source file")
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), ".."))
}

// command runs name in the repo's root with env added, failing the test
// unless it exits 0; it returns stdout.
func command(t *testing.T, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = repoRoot(t)
	cmd.Env = append(os.Environ(), env...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\nstdout: %s\nstderr: %s", name, shellJoin(args), err, out.String(), errb.String())
	}
	return out.String()
}

// toolList is what the binary says it provides.
func toolList(t *testing.T) []string {
	t.Helper()
	out, _, code := run(t, "golxc", "--list-tools")
	if code != 0 || out == "" {
		t.Fatalf("golxc --list-tools: exit %d, %q", code, out)
	}
	return strings.Fields(out)
}

// docsDir runs mangen: man pages and completion scripts under a
// temporary build directory.
func docsDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	command(t, nil, "go", "run", "./internal/tools/mangen", "-out", dir)
	return dir
}

// TestManPagesRender: every tool has a man page and the two config pages
// list the keys of the key tables, and man -l renders them all without a
// warning.
func TestManPagesRender(t *testing.T) {
	dir := docsDir(t)
	pages := map[string][]string{
		"man5/lxc.container.conf.5": {"lxc.rootfs.path", "lxc.net.N.type", "lxc.cgroup2.", "lxc.signal.halt", "Default: 30"},
		"man5/lxc.system.conf.5":    {"lxc.lxcpath", "/var/lib/lxc", "lxc.cgroup.pattern"},
	}
	for _, tool := range toolList(t) {
		pages["man1/"+tool+".1"] = []string{"NAME", tool + " - ", "SYNOPSIS", "--help", "--usage", "--version"}
	}
	for page, want := range pages {
		cmd := exec.Command("man", "--warnings", "-l", filepath.Join(dir, "man", page))
		cmd.Env = append(os.Environ(), "MANWIDTH=200", "MANPAGER=cat", "PAGER=cat", "LC_ALL=C.UTF-8")
		var out, errb strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil || errb.Len() > 0 {
			t.Errorf("man -l %s: %v, stderr %q", page, err, errb.String())
			continue
		}
		// man renders hyphens as U+2010 where it breaks words: compare plain.
		text := strings.ReplaceAll(out.String(), "\u2010", "-")
		for _, w := range want {
			if !strings.Contains(text, w) {
				t.Errorf("man -l %s: no %q in\n%s", page, w, text)
			}
		}
	}
}

// TestBashCompletion: bash (with the bash-completion package, as users
// have it) loads an installed tool's script through its loader and
// completes container names from the lxcpath: lxc-start -n the stopped
// ones, lxc-stop -n the running ones; and a config key after -s.
func TestBashCompletion(t *testing.T) {
	l := newLab(t)
	if _, err := os.Stat("/usr/share/bash-completion/bash_completion"); err != nil {
		t.Fatalf("bash-completion is not installed (apt-get install bash-completion; .ci/run does it): %v", err)
	}
	dir := docsDir(t)
	// The loader finds completions/<tool> under $XDG_DATA_DIRS/bash-completion.
	share := t.TempDir()
	if err := os.Symlink(filepath.Join(dir, "completions", "bash"), filepath.Join(share, "completions")); err != nil {
		t.Fatal(err)
	}
	xdg := filepath.Join(t.TempDir(), "share")
	if err := os.MkdirAll(xdg, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(share, filepath.Join(xdg, "bash-completion")); err != nil {
		t.Fatal(err)
	}
	running := l.startBusybox()
	stopped := l.createBusybox()
	complete := func(words ...string) []string {
		t.Helper()
		script := `source /usr/share/bash-completion/bash_completion
__load_completion "$1" || { echo "no completion loaded for $1" >&2; exit 1; }
complete -p "$1" >/dev/null || exit 1
COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
"$(complete -p "$1" | sed -n 's/.*-F \([^ ]*\) .*/\1/p')" "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}" 2>/dev/null
printf '%s\n' "${COMPREPLY[@]}"`
		cmd := exec.Command("bash", append([]string{"-c", script, "bash"}, words...)...)
		cmd.Env = append(os.Environ(), "PATH="+binDir(t)+":"+os.Getenv("PATH"), "XDG_DATA_DIRS="+xdg, "BASH_COMPLETION_USER_DIR=/nonexistent")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("bash completion of %q: %v: %s", words, err, out)
		}
		return strings.Fields(string(out))
	}
	if got := complete("lxc-start", "-P", l.path, "-n", ""); !slices.Equal(got, []string{stopped}) {
		t.Errorf("lxc-start -n <TAB> = %q, want the stopped %q", got, stopped)
	}
	if got := complete("lxc-stop", "-P", l.path, "-n", ""); !slices.Equal(got, []string{running}) {
		t.Errorf("lxc-stop -n <TAB> = %q, want the running %q", got, running)
	}
	if got := complete("lxc-info", "-P", l.path, "-n", ""); !slices.Equal(got, sorted(running, stopped)) {
		t.Errorf("lxc-info -n <TAB> = %q, want both", got)
	}
	if got := complete("lxc-start", "-P", l.path, "-n", stopped, "-s", "lxc.uts.n"); !slices.Equal(got, []string{"lxc.uts.name="}) {
		t.Errorf("lxc-start -s lxc.uts.n<TAB> = %q, want lxc.uts.name=", got)
	}
	// Completing asked the monitor only: the container still runs.
	if s := l.state(running); s != "RUNNING" {
		t.Errorf("%s is %s after completions", running, s)
	}
}

func sorted(s ...string) []string {
	slices.Sort(s)
	return s
}

// installEnv is the environment of packaging/install.sh for DESTDIR.
func installEnv(t *testing.T, destdir string) []string {
	t.Helper()
	return []string{"DESTDIR=" + destdir, "PREFIX=/usr/local", "GOLXC=" + filepath.Join(binDir(t), "golxc"), "BUILD=" + docsDir(t)}
}

// treeFiles lists what is under root (relative paths, directories with
// a trailing /), but for skip's subtree.
func treeFiles(t *testing.T, root, skip string) []string {
	t.Helper()
	var files []string
	err := filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "." {
			return nil
		}
		if skip != "" && (rel == skip || strings.HasPrefix(rel, skip+"/")) {
			return nil
		}
		if fi.IsDir() {
			rel += "/"
		}
		files = append(files, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestInstallUninstall: make install's layout (binary, a link per tool,
// templates, lxc-net in libexec, the unit, man pages, completions in each
// shell's directory, default.conf) fits in 10 MiB, and uninstall leaves
// the DESTDIR empty; a default.conf that was there is kept by both.
func TestInstallUninstall(t *testing.T) {
	requireRoot(t)
	dest := t.TempDir()
	env := installEnv(t, dest)
	command(t, env, "sh", "packaging/install.sh", "install")
	var size int64
	err := filepath.Walk(dest, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			size += fi.Size()
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("installed size: %d bytes (%.1f MiB)", size, float64(size)/(1<<20))
	if size > 10<<20 {
		t.Errorf("installed size %d bytes is over 10 MiB", size)
	}
	want := []string{"usr/local/bin/golxc", "usr/local/libexec/golxc/lxc-net", "usr/local/share/golxc/templates/lxc-busybox",
		"usr/local/lib/systemd/system/lxc-net.service", "usr/local/share/man/man5/lxc.container.conf.5",
		"usr/local/share/man/man5/lxc.system.conf.5", "etc/lxc/default.conf"}
	for _, tool := range toolList(t) {
		want = append(want, "usr/local/bin/"+tool, "usr/local/share/man/man1/"+tool+".1",
			"usr/local/share/bash-completion/completions/"+tool, "usr/local/share/zsh/vendor-completions/_"+tool,
			"usr/local/share/fish/vendor_completions.d/"+tool+".fish")
	}
	for _, w := range want {
		if _, err := os.Lstat(filepath.Join(dest, w)); err != nil {
			t.Errorf("install: %v", err)
		}
	}
	if target, err := os.Readlink(filepath.Join(dest, "usr/local/bin/lxc-start")); err != nil || target != "golxc" {
		t.Errorf("lxc-start links to %q (%v), want golxc", target, err)
	}
	unit, err := os.ReadFile(filepath.Join(dest, "usr/local/lib/systemd/system/lxc-net.service"))
	if err != nil || !strings.Contains(string(unit), "ExecStart=/usr/local/libexec/golxc/lxc-net start") {
		t.Errorf("lxc-net.service does not run the installed lxc-net: %q %v", unit, err)
	}
	command(t, env, "sh", "packaging/install.sh", "uninstall")
	if left := treeFiles(t, dest, ""); len(left) > 0 {
		t.Errorf("uninstall left %q", left)
	}

	// An admin's default.conf stays, through install and uninstall.
	conf := filepath.Join(dest, "etc/lxc/default.conf")
	if err := os.MkdirAll(filepath.Dir(conf), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(conf, []byte("lxc.net.0.type = empty\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	command(t, env, "sh", "packaging/install.sh", "install")
	command(t, env, "sh", "packaging/install.sh", "uninstall")
	if b, err := os.ReadFile(conf); err != nil || string(b) != "lxc.net.0.type = empty\n" {
		t.Errorf("the admin's default.conf became %q (%v)", b, err)
	}
	if left := treeFiles(t, dest, ""); !slices.Equal(left, []string{"etc/", "etc/lxc/", "etc/lxc/default.conf"}) {
		t.Errorf("uninstall left %q, want only the admin's default.conf", left)
	}
}

// scratchRoot is an empty root with a dpkg database of its own.
func scratchRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for _, d := range []string{"var/lib/dpkg/info", "var/lib/dpkg/updates", "var/lib/dpkg/triggers"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "var/lib/dpkg/status"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return root
}

// dpkg runs dpkg on the scratch root: its own database, no log of the
// host's, maintainer scripts outside a chroot (the root has no shell)
// with DPKG_ROOT set.
func dpkg(t *testing.T, root string, args ...string) string {
	t.Helper()
	return command(t, nil, "dpkg", append([]string{"--root=" + root, "--log=/dev/null", "--force-script-chrootless"}, args...)...)
}

// TestDebInstallPurge: make deb's package installs in a scratch root with
// the expected files, replaces a package named lxc that owns the same
// commands, seeds /etc/lxc/default.conf only when there is none, and
// purges to nothing.
func TestDebInstallPurge(t *testing.T) {
	requireRoot(t)
	if _, err := exec.LookPath("dpkg-deb"); err != nil {
		t.Fatalf("dpkg-deb: %v", err)
	}
	out := t.TempDir()
	env := installEnv(t, "")
	deb := strings.TrimSpace(command(t, append(env, "VERSION=v1.2.3-4-gabcdef", "DEB_COMPRESS=gzip"), "sh", "packaging/deb.sh", out))
	if filepath.Base(deb) != "golxc_1.2.3+4+gabcdef_"+strings.TrimSpace(command(t, nil, "dpkg", "--print-architecture"))+".deb" {
		t.Errorf("package file %s", deb)
	}
	fields := command(t, nil, "dpkg-deb", "-f", deb, "Package", "Conflicts", "Replaces")
	if fields != "Package: golxc\nConflicts: lxc, lxc-utils\nReplaces: lxc, lxc-utils\n" {
		t.Errorf("control fields:\n%s", fields)
	}

	root := scratchRoot(t)
	dpkg(t, root, "-i", deb)
	list := strings.Fields(dpkg(t, root, "-L", "golxc"))
	want := []string{"/usr/bin/golxc", "/usr/libexec/golxc/lxc-net", "/usr/share/golxc/templates/lxc-busybox",
		"/usr/lib/systemd/system/lxc-net.service", "/usr/share/golxc/default.conf",
		"/usr/share/man/man5/lxc.container.conf.5.gz", "/usr/share/man/man5/lxc.system.conf.5.gz"}
	for _, tool := range toolList(t) {
		want = append(want, "/usr/bin/"+tool, "/usr/share/man/man1/"+tool+".1.gz", "/usr/share/bash-completion/completions/"+tool,
			"/usr/share/zsh/vendor-completions/_"+tool, "/usr/share/fish/vendor_completions.d/"+tool+".fish")
	}
	for _, w := range want {
		if !slices.Contains(list, w) {
			t.Errorf("dpkg -L golxc lacks %s", w)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "etc/lxc/default.conf")); err != nil {
		t.Errorf("postinst made no default.conf: %v", err)
	}
	dpkg(t, root, "--purge", "golxc")
	if left := treeFiles(t, root, "var/lib/dpkg"); !slices.Equal(left, []string{"etc/", "var/", "var/lib/"}) {
		t.Errorf("purge left %q", left)
	}

	// An lxc package owning /usr/bin/lxc-start is replaced; an admin's
	// default.conf stays through install and purge.
	root = scratchRoot(t)
	fake := filepath.Join(t.TempDir(), "lxc")
	for _, d := range []string{"DEBIAN", "usr/bin"} {
		if err := os.MkdirAll(filepath.Join(fake, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	control := "Package: lxc\nVersion: 1:5.0.2-1\nArchitecture: all\nMaintainer: test <test@localhost>\nDescription: stand-in for Debian's lxc\n"
	if err := os.WriteFile(filepath.Join(fake, "DEBIAN/control"), []byte(control), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(fake, "usr/bin/lxc-start"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	command(t, nil, "dpkg-deb", "--root-owner-group", "--build", fake, fake+".deb")
	dpkg(t, root, "-i", fake+".deb")
	conf := filepath.Join(root, "etc/lxc/default.conf")
	if err := os.MkdirAll(filepath.Dir(conf), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(conf, []byte("# mine\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	dpkg(t, root, "-i", deb)
	if status := dpkg(t, root, "-l"); !strings.Contains(status, "ii  golxc") || strings.Contains(status, "ii  lxc ") {
		t.Errorf("after installing golxc over lxc:\n%s", status)
	}
	if target, err := os.Readlink(filepath.Join(root, "usr/bin/lxc-start")); err != nil || target != "golxc" {
		t.Errorf("/usr/bin/lxc-start is %q (%v), want the link to golxc", target, err)
	}
	dpkg(t, root, "--purge", "golxc")
	if b, err := os.ReadFile(conf); err != nil || string(b) != "# mine\n" {
		t.Errorf("the admin's default.conf became %q (%v)", b, err)
	}
}

// TestMakeSplit: make split builds a binary per tool; one of them runs on
// its own, as its tool whatever its name.
func TestMakeSplit(t *testing.T) {
	requireRoot(t)
	dir := t.TempDir()
	command(t, nil, "make", "--no-print-directory", "split", "SPLITDIR="+dir)
	for _, tool := range toolList(t) {
		if _, err := os.Stat(filepath.Join(dir, tool)); err != nil {
			t.Errorf("make split: %v", err)
		}
	}
	renamed := filepath.Join(dir, "renamed")
	if err := os.Rename(filepath.Join(dir, "lxc-ls"), renamed); err != nil {
		t.Fatal(err)
	}
	lxcpath := t.TempDir()
	if err := os.MkdirAll(filepath.Join(lxcpath, "c1"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(lxcpath, "c1", "config"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(renamed, "-1", "-P", lxcpath).Output()
	if err != nil || string(out) != "c1\n" {
		t.Errorf("split lxc-ls -1: %q %v", out, err)
	}
	out, err = exec.Command(filepath.Join(dir, "lxc-info"), "--version").Output()
	if first, _, _ := strings.Cut(string(out), "\n"); err != nil || first != "5.0.2" {
		t.Errorf("split lxc-info --version: %q %v", out, err)
	}
}
