package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/winlayer/winlayer/image"
	"github.com/winlayer/winlayer/layer"
)

func newRmCmd(o *options) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "rm [--force] ID...",
		Short: "Remove layers from the store",
		Long: `rm removes layers: each layer directory is renamed to <ID>-removing (the
layer is gone at that instant) and then deleted. Removing a layer that does not
exist is not an error. If deletion is interrupted, 'winlayer cleanup' (or the
next command that writes to the store) finishes it.

A layer an image of the store uses is not removed, even with --force: rm names
the image; 'winlayer image rm' removes the image and the layers only it needs.

A layer that other layers name as a parent is not removed: rm says which
layers need it. Layers given together are removed children first, so
'rm app base' and 'rm base app' both work. --force removes such a layer anyway
and names the layers that now have a missing parent ('winlayer ls' marks it).
Prints each removed ID; an ID that is not in the store is named on standard
error ("no such layer, nothing removed") and is not an error.`,
		Example: `  winlayer rm app base
  winlayer rm --force base`,
		Args: minArgs("ID..."),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := o.openExistingStore()
			if err != nil {
				return err
			}
			return removeLayers(cmd.Context(), o, s, args, force)
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "remove layers other layers name as parent, leaving those with a missing parent")
	return cmd
}

// removeLayers removes ids, children before their parents: an id refused
// because others among ids need it is retried once they are gone. With
// force, what is still refused then is removed anyway and the layers left
// with a missing parent are named on standard error.
func removeLayers(ctx context.Context, o *options, s *layer.Store, ids []string, force bool) error {
	// A layer an image of the store uses is never removed here, --force or
	// not: 'image rm' removes the image and the layers it alone needs.
	var used []error
	keep := ids[:0:0]
	imgs := image.OpenStore(s)
	// Held from the check to the removal: a pull recording an image over
	// one of these layers meanwhile would leave it without its layer.
	release, err := imgs.HoldIndex()
	if err != nil {
		return fmt.Errorf("remove %s: %w", strings.Join(ids, " "), err)
	}
	defer release()
	for _, id := range ids {
		users, err := imgs.UsersOf(id)
		if err != nil {
			return fmt.Errorf("remove %s: %w", id, err)
		}
		if len(users) > 0 {
			used = append(used, fmt.Errorf("remove %s: %w: used by image %s; remove the image with 'winlayer image rm %s'",
				id, errUsedByImage, strings.Join(users, ", "), users[0]))
			continue
		}
		keep = append(keep, id)
	}
	if afterUsersCheck != nil {
		afterUsersCheck()
	}
	if err := removeLayersFree(ctx, o, s, keep, force); err != nil {
		used = append(used, err)
	}
	return errors.Join(used...)
}

// afterUsersCheck, set only by tests, runs between removeLayers' check
// that no image uses the layers and their removal.
var afterUsersCheck func()

// errUsedByImage reports a layer that an image of the store uses.
var errUsedByImage = errors.New("layer in use by an image")

// removeLayersFree removes ids that no image uses (see removeLayers).
func removeLayersFree(ctx context.Context, o *options, s *layer.Store, ids []string, force bool) error {
	errs := map[string]error{}
	todo := ids
	for len(todo) > 0 {
		var again []string
		for _, id := range todo {
			existed := s.Exists(id)
			err := s.Remove(ctx, id)
			if err == nil {
				delete(errs, id)
				if existed {
					fmt.Fprintln(o.stdout, id)
				} else {
					// Not an error (rm is idempotent), but not "removed"
					// either: a mistyped ID must not look removed.
					fmt.Fprintf(o.stderr, "rm %s: no such layer, nothing removed\n", id)
				}
				continue
			}
			errs[id] = err
			if errors.Is(err, layer.ErrInUse) {
				again = append(again, id)
			}
		}
		if len(again) == len(todo) {
			break // no progress: what is left is needed by layers not given
		}
		todo = again
	}
	var out []error
	var forced []string
	brokenBy := map[string][]string{}
	for _, id := range ids {
		err, ok := errs[id]
		if !ok {
			continue
		}
		delete(errs, id) // an id given twice is reported once
		// A layer whose chain cannot be read (corrupt) may need id: --force
		// removes id anyway.
		if !errors.Is(err, layer.ErrInUse) && !(force && errors.Is(err, layer.ErrCorrupt)) {
			out = append(out, err)
			continue
		}
		if !force {
			out = append(out, fmt.Errorf("%w; remove them first, or use --force to remove %s anyway", err, id))
			continue
		}
		broken, err := s.RemoveForce(ctx, id)
		if err != nil {
			out = append(out, err)
			continue
		}
		fmt.Fprintln(o.stdout, id)
		forced = append(forced, id)
		brokenBy[id] = broken
	}
	// Named only now: a dependant given too is gone by now.
	for _, id := range forced {
		var left []string
		for _, b := range brokenBy[id] {
			if s.Exists(b) {
				left = append(left, b)
			}
		}
		if len(left) > 0 {
			fmt.Fprintf(o.stderr, "winlayer: removed %s anyway: %s now missing parent %s\n",
				id, strings.Join(left, ", "), id)
		}
	}
	return errors.Join(out...)
}

func newCleanupCmd(o *options) *cobra.Command {
	return &cobra.Command{
		Use:   "cleanup",
		Short: "Remove what interrupted imports and removals left in the store",
		Long: `cleanup deletes <ID>-removing directories and the staging directories of
imports that are no longer running (a running import holds a lock on its
staging directory and is left alone). Every command that writes to the store
(import, rm, image pull, load, rm and tag) does this too when it opens it;
the read-only commands (ls, inspect, export, check, image ls, inspect, push
and save) never do. In a store images were pulled or loaded into, cleanup
then removes what an interrupted 'image rm' or pull left: the layers images
brought in that no image uses, the blobs of removed images, and the
temporary blob files of pulls that are no longer running (all left alone
while a pull runs, as by 'image rm').`,
		Example: `  winlayer cleanup
  winlayer --store /tmp/s cleanup`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := o.openExistingStore()
			if err != nil {
				return err
			}
			if err := s.Cleanup(cmd.Context()); err != nil {
				return err
			}
			if _, err := os.Lstat(filepath.Join(s.Home(), ".images")); err != nil {
				return nil // never pulled into (a pull makes .images/ first)
			}
			res, err := image.OpenStore(s).Collect()
			if res != nil {
				for _, l := range res.Layers {
					fmt.Fprintf(o.stdout, "removed layer: %s\n", l)
				}
				if res.Deferred {
					fmt.Fprintln(o.stderr, "winlayer: a pull is running: the layers and blobs no image needs are left for the next 'cleanup' or 'image rm'")
				}
				if len(res.Kept) > 0 {
					fmt.Fprintf(o.stderr, "winlayer: kept layers other layers need: %s\n", strings.Join(res.Kept, ", "))
				}
			}
			return err
		},
	}
}
