package cli

import (
	"errors"
	"os"

	"github.com/spf13/cobra"

	"github.com/golxc/golxc/internal/lxc"
)

type consoleCmd struct {
	common
	tty           int
	escape        string
	buffer, clear bool
}

func newConsole() *cobra.Command {
	s := &consoleCmd{}
	cmd := &cobra.Command{
		Use:   "-n NAME [-t TTY] [-e ESCAPE] | -n NAME --buffer [--clear]",
		Short: "attach this terminal to a container's tty",
		Long: "Attach this terminal to tty TTY of container NAME (0: its /dev/console; by default the first free one of lxc.tty.max), until <Ctrl+a q> is typed or the container stops. " +
			"-e '^b' (or a single character) changes the prefix; the prefix typed twice sends it once. A tty in use by another lxc-console is refused. " +
			"Without a terminal on stdin the tty is a plain pipe: input goes to it as it is (the escape sequence still ends the session), and once the input ends, output is relayed until the tty has been quiet for a second. " +
			"--buffer prints the console's ring buffer (lxc.console.buffer.size) the monitor keeps, --clear empties it too: golxc's own, LXC offers that only through its API.",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return s.run(cmd, args) },
	}
	s.register(cmd, true)
	s.registerRCFile(cmd, "")
	f := cmd.Flags()
	f.IntVarP(&s.tty, "tty", "t", -1, "tty number, 0 for the console (default: the first free tty)")
	f.StringVarP(&s.escape, "escape", "e", "^a", "escape prefix: ^ and a letter, or one character")
	f.BoolVar(&s.buffer, "buffer", false, "print the console ring buffer (golxc's own)")
	f.BoolVar(&s.clear, "clear", false, "with --buffer: empty the ring buffer once printed")
	return cmd
}

func (s *consoleCmd) run(cmd *cobra.Command, args []string) error {
	if s.clear && !s.buffer {
		return s.fail(errors.New("--clear goes with --buffer"))
	}
	if s.buffer && (cmd.Flags().Changed("tty") || cmd.Flags().Changed("escape")) {
		return s.fail(errors.New("--buffer takes neither -t nor -e"))
	}
	if s.tty < -1 {
		return s.fail(errors.New("invalid tty number"))
	}
	esc, err := lxc.ParseEscape(s.escape)
	if err != nil {
		return s.fail(err)
	}
	ct, err := s.container(args)
	if err != nil {
		return err
	}
	if s.buffer {
		b, err := ct.ConsoleBuffer(s.clear)
		if err != nil {
			return s.fail(err)
		}
		_, err = os.Stdout.Write(b)
		return s.fail(err)
	}
	o := lxc.ConsoleOptions{TTY: s.tty, Escape: esc, In: os.Stdin, Out: os.Stdout}
	if !s.quiet {
		o.Notice = os.Stderr
	}
	return s.fail(ct.Console(o))
}
