package cli

import (
	"github.com/spf13/cobra"
)

// newImageCmd is the parent of the image verbs (pull, load, ls, inspect, rm,
// tag, and push, save, copy). Each verb lives in its own image_*.go file
// and is added here.
func newImageCmd(o *options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "image",
		Short: "Windows container images: pull, load, list, inspect, remove, tag, push, save, copy",
		Long: `image moves Windows container images between registries, OCI image layouts
(oci:DIR[:TAG]), docker-save archives (docker-archive:FILE[:REF]) and the layer
store (--store). Image layers are store layers named by their ChainID, so a
base shared by several images is stored once.

Registries on localhost and 127.0.0.1 speak plain HTTP; credentials come from
$DOCKER_CONFIG/config.json and its credential helpers.`,
		Example: `  winlayer image pull 127.0.0.1:5000/app:1 --platform windows/amd64:10.0.20348
  winlayer image ls
  winlayer image inspect --json 127.0.0.1:5000/app:1`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(imageSubcommands(o)...)
	return cmd
}

// imageSubcommands lists the image verbs; one line per verb so that
// branches adding verbs merge without trouble.
func imageSubcommands(o *options) []*cobra.Command {
	return []*cobra.Command{
		// img-pull verbs
		newImagePullCmd(o),
		newImageLoadCmd(o),
		newImageLsCmd(o),
		newImageInspectCmd(o),
		newImageRmCmd(o),
		newImageTagCmd(o),
		// img-push verbs
		newImagePushCmd(o), newImageSaveCmd(o), newImageCopyCmd(o),
	}
}
