package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

type snapshotCmd struct {
	common
	comment, restore, newName, newPath, destroy string
	list, showComments                          bool
}

func newSnapshot() *cobra.Command {
	s := &snapshotCmd{}
	cmd := &cobra.Command{
		Use:   "-n NAME [-c COMMENTFILE] | -L [-C] | -r SNAP [-N NEWNAME] [--newpath PATH] | -d SNAP|ALL",
		Short: "snapshot a container",
		Long:  "Snapshot container NAME into LXCPATH/NAME/snaps/snapN (a copy of a dir rootfs, a snapshot of an overlay or btrfs one), list its snapshots (-L, with comments -C), restore one (-r, in place or as NEWNAME) or destroy one or ALL (-d).",
		Args:  cobra.MaximumNArgs(1),
		RunE:  func(cmd *cobra.Command, args []string) error { return s.run(args) },
	}
	s.register(cmd, true)
	f := cmd.Flags()
	f.StringVarP(&s.comment, "comment", "c", "", "file whose text is the snapshot's comment")
	f.BoolVarP(&s.list, "list", "L", false, "list the snapshots")
	f.BoolVarP(&s.showComments, "showcomments", "C", false, "with -L: show the comments")
	f.StringVarP(&s.restore, "restore", "r", "", "restore snapshot SNAP")
	f.StringVarP(&s.newName, "newname", "N", "", "with -r: the restored container's name")
	f.StringVar(&s.newPath, "newpath", "", "with -r: the restored container's lxcpath")
	f.StringVarP(&s.destroy, "destroy", "d", "", "destroy snapshot SNAP, or ALL")
	return cmd
}

func (s *snapshotCmd) run(args []string) error {
	ct, err := s.container(args)
	if err != nil {
		return err
	}
	n := 0
	for _, set := range []bool{s.list, s.restore != "", s.destroy != ""} {
		if set {
			n++
		}
	}
	if n > 1 {
		return s.fail(errors.New("-L, -r and -d go alone"))
	}
	if (s.newName != "" || s.newPath != "") && s.restore == "" {
		return s.fail(errors.New("-N and --newpath go with -r"))
	}
	switch {
	case s.list:
		snaps, err := ct.Snapshots()
		if err != nil {
			return s.fail(err)
		}
		if len(snaps) == 0 {
			fmt.Println("No snapshots")
			return nil
		}
		for _, sn := range snaps {
			fmt.Printf("%s (%s) %s\n", sn.Name, sn.Dir, sn.Time)
			if s.showComments && sn.Comment != "" {
				fmt.Println(strings.TrimRight(sn.Comment, "\n"))
			}
		}
		return nil
	case s.restore != "":
		return s.fail(ct.RestoreSnapshot(s.restore, s.newName, s.newPath))
	case s.destroy != "":
		return s.fail(ct.DestroySnapshot(s.destroy))
	}
	_, err = ct.Snapshot(s.comment)
	return s.fail(err)
}
