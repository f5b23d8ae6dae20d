package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
)

func newRmCmd(o *options) *cobra.Command {
	return &cobra.Command{
		Use:   "rm ID...",
		Short: "Remove layers from the store",
		Long: `rm removes layers: each layer directory is renamed to <ID>-removing (the
layer is gone at that instant) and then deleted. Removing a layer that does not
exist is not an error. If deletion is interrupted, 'winlayer cleanup' (or the
next command that opens the store) finishes it. rm does not check whether
other layers name the layer as a parent.`,
		Example: `  winlayer rm app base`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageError{errors.New("rm needs at least one layer ID")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := o.openStore()
			if err != nil {
				return err
			}
			var errs []error
			for _, id := range args {
				if err := s.Remove(id); err != nil {
					errs = append(errs, err)
					continue
				}
				fmt.Fprintln(o.stdout, id)
			}
			return errors.Join(errs...)
		},
	}
}

func newCleanupCmd(o *options) *cobra.Command {
	return &cobra.Command{
		Use:   "cleanup",
		Short: "Remove what interrupted imports and removals left in the store",
		Long: `cleanup deletes <ID>-removing directories and the staging directories of
imports that are no longer running (a running import holds a lock on its
staging directory and is left alone). Every command that opens the store does
this too; cleanup does only this.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := o.openStore()
			if err != nil {
				return err
			}
			return s.Cleanup()
		},
	}
}
