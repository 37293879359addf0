package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

type cgroupCmd struct {
	common
	format string
}

func newCgroup() *cobra.Command {
	c := &cgroupCmd{}
	cmd := &cobra.Command{
		Use:   "-n NAME KEY [VALUE] [--format text|json]",
		Short: "read or write a running container's cgroup file",
		Long: "Print the value of cgroup file KEY of running container NAME, or write VALUE to it. KEY is a v1 name " +
			"(memory.limit_in_bytes: the v1 hierarchy of the controller it starts with, as LXC picks it) or a cgroup2 " +
			"file name (cgroup.freeze, memory.max where memory is on cgroup2). A bad key or value: one line, exit 1.",
		Args: cobra.RangeArgs(1, 3),
		RunE: func(cmd *cobra.Command, args []string) error { return c.run(args) },
	}
	c.register(cmd, true)
	c.registerRCFile(cmd, "")
	cmd.Flags().StringVar(&c.format, "format", "text", "output format of a read: text or json")
	return cmd
}

func (c *cgroupCmd) run(args []string) error {
	if c.format != "text" && c.format != "json" {
		return c.fail(fmt.Errorf("unknown format %q (text or json)", c.format))
	}
	// Without -n the name comes first, as LXC's getopt takes it.
	if c.name == "" && len(args) >= 2 {
		c.name, args = args[0], args[1:]
	}
	if len(args) < 1 || len(args) > 2 {
		return c.fail(errors.New("usage: lxc-cgroup -n NAME KEY [VALUE]"))
	}
	ct, err := c.container(nil)
	if err != nil {
		return err
	}
	key := args[0]
	g, err := ct.Group()
	if err != nil {
		return c.fail(err)
	}
	if len(args) == 2 {
		if err := g.WriteKey(key, args[1]); err != nil {
			return c.fail(fmt.Errorf("set %s of %s to %q: %w", key, ct.Name, args[1], err))
		}
		return nil
	}
	v, err := g.ReadKey(key)
	if err != nil {
		return c.fail(fmt.Errorf("get %s of %s: %w", key, ct.Name, err))
	}
	if c.format == "json" {
		return c.fail(json.NewEncoder(os.Stdout).Encode(map[string]string{"name": ct.Name, "key": key, "value": v}))
	}
	fmt.Println(v)
	return nil
}
