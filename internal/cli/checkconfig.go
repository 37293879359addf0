package cli

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/golxc/golxc/internal/kernelcheck"
)

func newCheckconfig() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "",
		Short: "check the kernel for what containers need",
		Long: "Report whether the kernel has the namespaces, cgroups, devpts instances, network devices, seccomp and file systems " +
			"that containers use, from its build configuration (/proc/config.gz, /boot/config-RELEASE, or CONFIG=FILE for another kernel) " +
			"or, when none is readable, by probing the running kernel. The exit status is 0 when every essential feature is there, 1 otherwise.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runCheckconfig() },
	}
	return cmd
}

func runCheckconfig() error {
	var uts unix.Utsname
	if err := unix.Uname(&uts); err != nil {
		return &exitError{code: 1, err: fmt.Errorf("uname: %w", err)}
	}
	host := &kernelcheck.Host{Release: unix.ByteSliceToString(uts.Release[:])}
	override := os.Getenv("CONFIG")
	cfg, path, err := kernelcheck.FindConfig("", override, host.Release)
	if err != nil {
		return &exitError{code: 1, err: err}
	}
	host.Config, host.ConfigPath, host.Foreign = cfg, path, override != ""
	report := kernelcheck.Check(host)
	if err := report.Write(os.Stdout, isTerminal(os.Stdout)); err != nil {
		return &exitError{code: 1, err: err}
	}
	fmt.Print("\nNote : Before booting a new kernel, you can check its configuration\nusage : CONFIG=/path/to/config lxc-checkconfig\n")
	if !report.Essential {
		return &exitError{code: 1, err: fmt.Errorf("essential kernel features are missing (marked required above)")}
	}
	return nil
}

// isTerminal reports whether f is a terminal.
func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
