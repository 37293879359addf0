package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/golxc/golxc/internal/config"
)

type configCmd struct {
	list bool
}

// configUsage is lxc-config(1)'s own usage text, printed when no item is
// given.
const configUsage = "Usage: lxc-config -l: list all available configuration items\n       lxc-config item: print configuration item\n"

func newConfig() *cobra.Command {
	c := &configCmd{}
	cmd := &cobra.Command{
		Use:   "[-l | ITEM]",
		Short: "query the system configuration",
		Long: "Print the value of ITEM of the system configuration (lxc.system.conf(5)), or its default, or with -l list the items. " +
			"The file is /etc/lxc/lxc.conf (~/.config/lxc/lxc.conf for a user), or $" + config.SystemConfigEnv + " when set.",
		// LXC's looks at the first item only.
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return c.run(args) },
	}
	cmd.Flags().BoolVarP(&c.list, "list", "l", false, "list all available configuration items")
	return cmd
}

func (c *configCmd) run(args []string) error {
	if c.list {
		fmt.Print(strings.Join(config.SystemKeys(), "\n") + "\n")
		return nil
	}
	if len(args) == 0 {
		fmt.Print(configUsage)
		return nil
	}
	sys, err := config.LoadSystem()
	if err != nil {
		return &exitError{code: 1, err: err}
	}
	v, set, err := sys.Get(args[0])
	if errors.Is(err, config.ErrUnsupportedKey) {
		// On stdout, as LXC's lxc-config prints it.
		fmt.Printf("Unknown configuration item: %s\n", args[0])
		return &exitError{code: 1}
	}
	if err != nil {
		return &exitError{code: 1, err: err}
	}
	if !set {
		fmt.Printf("%s is not set.\n", args[0])
		return nil
	}
	fmt.Println(v)
	return nil
}
