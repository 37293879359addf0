// Command golxc is every lxc-* tool in one binary: run it through a link
// named after the tool (lxc-start, lxc-info ...) or as "golxc TOOL".
package main

//go:generate go run ../../internal/tools/genmains -root ../..

import (
	"os"

	"github.com/golxc/golxc/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args))
}
