// Command mangen writes golxc's man pages and shell completions from the
// cobra tree of every tool (cli.Command) and from the config key tables
// (config.KeyDocs, config.SystemKeyDocs), so the docs cannot drift from the
// code. It is a build-time program, run by make; the installed binary
// holds none of it (cobra's doc package and its markdown renderer).
//
//	mangen -out DIR
//
// writes DIR/man/man1/<tool>.1, DIR/man/man5/lxc.container.conf.5 and
// lxc.system.conf.5, and DIR/completions/{bash/<tool>,zsh/_<tool>,fish/<tool>.fish}.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra/doc"

	"github.com/golxc/golxc/internal/cli"
	"github.com/golxc/golxc/internal/config"
)

func main() {
	out := flag.String("out", "build", "directory to write man/ and completions/ under")
	flag.Parse()
	if err := run(*out); err != nil {
		fmt.Fprintf(os.Stderr, "mangen: %v\n", err)
		os.Exit(1)
	}
}

func run(out string) error {
	date, err := buildDate()
	if err != nil {
		return err
	}
	source := "golxc " + cli.Version
	for _, name := range cli.ToolNames() {
		if err := writeTool(out, name, date, source); err != nil {
			return err
		}
	}
	man5 := filepath.Join(out, "man", "man5")
	if err := os.MkdirAll(man5, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(man5, "lxc.container.conf.5"), containerConfPage(date, source), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(man5, "lxc.system.conf.5"), systemConfPage(date, source), 0o644)
}

// buildDate is SOURCE_DATE_EPOCH when set (reproducible builds), else now.
func buildDate() (time.Time, error) {
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH %q: %w", s, err)
		}
		return time.Unix(n, 0).UTC(), nil
	}
	return time.Now().UTC(), nil
}

// writeTool writes one tool's man page and its three completion scripts.
func writeTool(out, name string, date time.Time, source string) error {
	cmd := cli.Command(name)
	cmd.DisableAutoGenTag = true
	var page bytes.Buffer
	hdr := &doc.GenManHeader{Title: strings.ToUpper(name), Section: "1", Date: &date, Source: source, Manual: "golxc"}
	if err := doc.GenMan(cmd, hdr, &page); err != nil {
		return fmt.Errorf("man page of %s: %w", name, err)
	}
	page.WriteString(".SH SEE ALSO\n.BR lxc.container.conf (5),\n.BR lxc.system.conf (5)\n")
	files := []struct {
		path string
		gen  func(*bytes.Buffer) error
	}{
		{filepath.Join("man", "man1", name+".1"), func(b *bytes.Buffer) error { _, err := b.Write(page.Bytes()); return err }},
		{filepath.Join("completions", "bash", name), func(b *bytes.Buffer) error { return cmd.GenBashCompletionV2(b, true) }},
		{filepath.Join("completions", "zsh", "_"+name), func(b *bytes.Buffer) error { return cmd.GenZshCompletion(b) }},
		{filepath.Join("completions", "fish", name+".fish"), func(b *bytes.Buffer) error { return cmd.GenFishCompletion(b, true) }},
	}
	for _, f := range files {
		var b bytes.Buffer
		if err := f.gen(&b); err != nil {
			return fmt.Errorf("%s: %w", f.path, err)
		}
		p := filepath.Join(out, f.path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// roff escapes text for a roff line: backslashes, and a leading . or '
// that would make it a request.
func roff(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	s = strings.ReplaceAll(s, "-", `\-`)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}

func header(b *bytes.Buffer, title string, date time.Time, source string) {
	fmt.Fprintf(b, ".TH %s 5 \"%s\" \"%s\" \"golxc\"\n", strings.ToUpper(title), date.Format("Jan 2006"), source)
}

// keyEntries writes one tagged paragraph per key.
func keyEntries(b *bytes.Buffer, docs []config.KeyDoc) {
	for _, d := range docs {
		fmt.Fprintf(b, ".TP\n.B %s\n%s\n", roff(d.Name), roff(d.Doc))
		var notes []string
		if d.Values != "" {
			notes = append(notes, "Values: "+d.Values+".")
		}
		if d.Default != "" {
			notes = append(notes, "Default: "+d.Default+".")
		}
		if d.List {
			notes = append(notes, "Repeatable: each line adds a value; an empty value clears the ones before.")
		}
		switch d.Support {
		case config.NotBuilt:
			notes = append(notes, "Not built yet: golxc's lxc-start refuses a config that sets it.")
		case config.OtherTools:
			notes = append(notes, "Read by other tools than lxc-start (which accepts it).")
		case config.NeedsAppArmor, config.NeedsSELinux:
			notes = append(notes, "Ignored with a warning on a host without that security module, refused on one with it.")
		}
		for _, n := range notes {
			fmt.Fprintf(b, ".br\n%s\n", roff(n))
		}
	}
}

func containerConfPage(date time.Time, source string) []byte {
	var b bytes.Buffer
	header(&b, "lxc.container.conf", date, source)
	b.WriteString(".SH NAME\nlxc.container.conf \\- the configuration of a golxc (LXC) container\n")
	b.WriteString(".SH DESCRIPTION\n" + roff("A container's configuration is the file LXCPATH/NAME/config, in LXC's format: "+
		"one KEY = VALUE per line, blanks around the = ignored, a value in single or double quotes has them removed, "+
		"lines starting with # are comments. A key given twice keeps its last value, but for repeatable keys, "+
		"where each line adds one. lxc.include reads another file (or a directory's *.conf files) at that point. "+
		"An unknown key is an error naming its file and line; a legacy key of older LXC releases names its replacement.") + "\n")
	b.WriteString(".SH KEYS\n")
	keyEntries(&b, config.KeyDocs())
	b.WriteString(".SH FILES\n.TP\n.I /etc/lxc/default.conf\n" + roff("the config lxc-create starts a new container's from (lxc.default_config of lxc.system.conf(5))") + "\n")
	b.WriteString(".SH SEE ALSO\n.BR lxc.system.conf (5),\n.BR lxc-create (1),\n.BR lxc-start (1)\n")
	return b.Bytes()
}

func systemConfPage(date time.Time, source string) []byte {
	var b bytes.Buffer
	header(&b, "lxc.system.conf", date, source)
	b.WriteString(".SH NAME\nlxc.system.conf \\- golxc's (LXC's) system configuration\n")
	b.WriteString(".SH DESCRIPTION\n" + roff("The system configuration holds the tools' defaults: /etc/lxc/lxc.conf for root, "+
		"~/.config/lxc/lxc.conf for another user, or the file $"+config.SystemConfigEnv+" names. "+
		"It has the syntax of lxc.container.conf(5); lxc-config -l lists its keys and lxc-config KEY prints one's value.") + "\n")
	b.WriteString(".SH KEYS\n")
	keyEntries(&b, config.SystemKeyDocs())
	b.WriteString(".SH SEE ALSO\n.BR lxc.container.conf (5),\n.BR lxc-config (1)\n")
	return b.Bytes()
}
