package cli

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/golxc/golxc/internal/config"
)

type updateConfigCmd struct {
	file string
}

func newUpdateConfig() *cobra.Command {
	u := &updateConfigCmd{}
	cmd := &cobra.Command{
		Use:   "-c CONFIG",
		Short: "rewrite a container config's legacy keys to their current names",
		Long: "Rewrite every legacy key of CONFIG (lxc.network.*, lxc.utsname, lxc.rootfs, lxc.tty, lxc.id_map, lxc.aa_profile ...) " +
			"to its current form, numbering unnumbered networks in order. Comments and other lines stay as written. " +
			"CONFIG is first copied to CONFIG.backup, on every run; a config with nothing to update is left as it is, so a second run changes nothing.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if u.file == "" {
				return cmd.Help()
			}
			return u.run()
		},
	}
	cmd.Flags().StringVarP(&u.file, "config", "c", "", "the container configuration to update")
	return cmd
}

func (u *updateConfigCmd) run() error {
	fail := func(err error) error { return &exitError{code: 1, err: err} }
	orig, err := os.ReadFile(u.file)
	if err != nil {
		return fail(err)
	}
	st, err := os.Stat(u.file)
	if err != nil {
		return fail(err)
	}
	// LXC's lxc-update-config copies FILE to FILE.backup first, on
	// every run, whatever the file holds: scripts look for it.
	if err := os.WriteFile(u.file+".backup", orig, st.Mode().Perm()); err != nil {
		return fail(fmt.Errorf("keep a backup: %w", err))
	}
	d := config.ParseDocument(orig)
	n, err := config.UpdateLegacy(d)
	if err != nil {
		var pe *config.ParseError
		if errors.As(err, &pe) {
			pe.File = u.file
		}
		return fail(err)
	}
	if n == 0 {
		return nil
	}
	if err := d.WriteFile(u.file); err != nil {
		return fail(err)
	}
	return nil
}
