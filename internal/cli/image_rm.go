package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/winlayer/winlayer/image"
)

func newImageRmCmd(o *options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rm NAME...",
		Short: "Remove image references, and the images and layers nothing needs any more",
		Long: `rm drops each NAME. A reference drops that reference; the image goes with its
last one. A manifest digest drops the image with all its references. The layers
of a dropped image that no other image uses are removed too (a layer that
another layer, say one imported by hand on top, still needs stays), and so are
the kept blobs no image names. Layers imported by hand ('winlayer import') are
not removed by it (unless a pull took one as an image layer, found under its
ChainID). While a pull runs, layers and blobs are left alone (the
pull may be about to use them) and the next 'image rm' removes them.`,
		Example: `  winlayer image rm 127.0.0.1:5000/app:1
  winlayer image rm sha256:4f1c…`,
		Args: minArgs("NAME..."),
		RunE: func(cmd *cobra.Command, args []string) error {
			ls, err := o.openExistingStore()
			if err != nil {
				return err
			}
			s := image.OpenStore(ls)
			var errs []error
			for _, n := range args {
				res, err := s.Remove(n)
				if res != nil {
					for _, r := range res.Untagged {
						fmt.Fprintf(o.stdout, "untagged: %s\n", r)
					}
					for _, d := range res.Deleted {
						fmt.Fprintf(o.stdout, "deleted: %s\n", d)
					}
					for _, l := range res.Layers {
						fmt.Fprintf(o.stdout, "removed layer: %s\n", l)
					}
					if res.Deferred && len(res.Deleted) > 0 {
						fmt.Fprintln(o.stderr, "winlayer: a pull is running: the layers and blobs no image needs now are left for the next 'image rm'")
					}
					if len(res.Kept) > 0 {
						fmt.Fprintf(o.stderr, "winlayer: kept layers other layers need: %s\n", strings.Join(res.Kept, ", "))
					}
				}
				if err != nil {
					errs = append(errs, err)
				}
			}
			return errors.Join(errs...)
		},
	}
	return cmd
}

func newImageTagCmd(o *options) *cobra.Command {
	return &cobra.Command{
		Use:   "tag NAME NEW",
		Short: "Give a stored image another reference",
		Long: `tag adds the reference NEW to the image NAME (a reference, a manifest digest
or 12+ hex digits of one). A NEW that names another image moves to this one. A
digest reference NEW (repo@sha256:…) must carry this image's manifest digest.`,
		Example: `  winlayer image tag 127.0.0.1:5000/app:1 127.0.0.1:5000/app:stable`,
		Args:    exactArgs("NAME", "NEW"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ls, err := o.openExistingStore()
			if err != nil {
				return err
			}
			err = image.OpenStore(ls).Tag(args[0], args[1])
			if errors.Is(err, image.ErrBadReference) {
				return usageError{withLowerCaseHint(err, args[1])}
			}
			return err
		},
	}
}
