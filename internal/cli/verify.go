package cli

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/winlayer/winlayer/image"
	"github.com/winlayer/winlayer/layer"
)

func newVerifyCmd(o *options) *cobra.Command {
	var (
		keep      bool
		platforms []string
	)
	cmd := &cobra.Command{
		Use:   "verify [--platform P]... (LAYER.tar | IMAGE)...",
		Short: "Round-trip layer tars and images through a temporary store and compare digests",
		Long: `verify checks, in a fresh temporary store, that winlayer keeps layers and
images bit for bit.

A LAYER.tar (an existing file) is imported as a base layer, exported again,
and the sha256 of the export compared with the sha256 of the input.

An IMAGE (oci:DIR[:TAG], docker-archive:FILE[:REF], or a registry reference
such as 127.0.0.1:5000/app:1) is pulled — every Windows platform of an index,
or those given with --platform — and each image is shown ('image inspect'),
saved to an OCI layout ('image save') and read back; the pulled and the saved
manifest digests must be the source's, the saved layer digests the source's,
and every layer's export must hash to its DiffID.

The store is listed at the end. verify exits 1 if anything differs.`,
		Example: `  winlayer verify testdata/sample.tar testdata/sample.rebuilt.tar oci:testdata/image
  winlayer verify --platform windows/amd64:10.0.20348 127.0.0.1:5000/app:1
  winlayer verify --keep layer1.tar layer2.tar`,
		Args: minArgs("(LAYER.tar | IMAGE)..."),
		RunE: func(cmd *cobra.Command, args []string) error {
			var tars, images []string
			for _, a := range args {
				if isImageArg(a) {
					images = append(images, a)
				} else {
					tars = append(tars, a)
				}
			}
			// Every tar argument is checked before the first import, so a
			// typo is named at once, not after the others were verified.
			for _, path := range tars {
				fi, err := os.Stat(path)
				switch {
				case err != nil && os.IsNotExist(err):
					return usageError{fmt.Errorf("verify %s: no such file (want a LAYER.tar file, or an image: oci:DIR[:TAG], docker-archive:FILE[:REF] or host[:port]/repo:tag)", path)}
				case err != nil:
					return fmt.Errorf("verify %s: %w", path, err)
				case fi.IsDir():
					return usageError{fmt.Errorf("verify %s: a directory, not a layer tar (an OCI image layout is oci:%s)", path, path)}
				}
			}
			if len(platforms) > 0 && len(images) == 0 {
				return usageError{errors.New("verify --platform needs an image argument")}
			}
			home, err := os.MkdirTemp("", "winlayer-verify-")
			if err != nil {
				return err
			}
			if keep {
				fmt.Fprintf(o.stderr, "store and saved images kept in %s\n", home)
			} else {
				defer os.RemoveAll(home)
			}
			s, err := layer.Open(filepath.Join(home, "store"))
			if err != nil {
				return err
			}
			type result struct{ id, path, in, out string }
			var results []result
			for i, path := range tars {
				id := fmt.Sprintf("%d-%s", i+1, sanitizeID(strings.TrimSuffix(filepath.Base(path), ".tar")))
				f, err := os.Open(path)
				if err != nil {
					return err
				}
				h := sha256.New()
				_, err = s.Import(cmd.Context(), id, nil, io.TeeReader(bufio.NewReaderSize(f, 1<<20), h))
				f.Close()
				if err != nil {
					return fmt.Errorf("verify %s: %w", path, err)
				}
				results = append(results, result{id: id, path: path, in: hex.EncodeToString(h.Sum(nil))})
			}
			var checks []*imageCheck
			ist := image.OpenStore(s)
			for _, src := range images {
				cs, err := verifyImage(cmd.Context(), o, ist, filepath.Join(home, "saved"), src, platforms)
				if err != nil {
					return err
				}
				checks = append(checks, cs...)
			}
			fmt.Fprintf(o.stdout, "$ winlayer --store %s ls\n", s.Home())
			lsCmd := newLsCmd(&options{store: s.Home(), stdout: o.stdout})
			lsCmd.SetArgs(nil)
			lsCmd.SetContext(cmd.Context())
			if err := lsCmd.RunE(lsCmd, nil); err != nil {
				return err
			}
			bad := 0
			if len(results) > 0 {
				fmt.Fprintln(o.stdout)
				tw := tabwriter.NewWriter(o.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "LAYER\tIMPORTED SHA256\tEXPORTED SHA256\tRESULT")
				for i := range results {
					r := &results[i]
					rc, err := s.Export(cmd.Context(), r.id)
					if err != nil {
						return fmt.Errorf("verify %s: %w", r.path, err)
					}
					h := sha256.New()
					_, err = io.Copy(h, rc)
					rc.Close()
					if err != nil {
						return fmt.Errorf("verify %s: %w", r.path, err)
					}
					r.out = hex.EncodeToString(h.Sum(nil))
					verdict := "match"
					if r.in != r.out {
						verdict = "DIFFERENT"
						bad++
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.id, r.in, r.out, verdict)
				}
				tw.Flush()
			}
			badImages := 0
			if len(checks) > 0 {
				fmt.Fprintln(o.stdout)
				tw := tabwriter.NewWriter(o.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "IMAGE\tPLATFORM\tSOURCE MANIFEST\tPULLED\tSAVED\tLAYERS = DIFF_ID\tRESULT")
				for _, c := range checks {
					verdict := "match"
					if len(c.problems) > 0 {
						verdict = "DIFFERENT"
						badImages++
					}
					same := func(d string) string {
						if d == c.sourceDigest {
							return "same"
						}
						return short(d)
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d/%d\t%s\n", c.source, c.platform, c.sourceDigest,
						same(c.pulledDigest), same(c.savedDigest), c.layersOK, c.layers, verdict)
				}
				tw.Flush()
				for _, c := range checks {
					for _, p := range c.problems {
						fmt.Fprintf(o.stdout, "%s %s: %s\n", c.source, c.platform, p)
					}
				}
			}
			switch {
			case bad > 0 && badImages > 0:
				return fmt.Errorf("verify: %d of %d layers did not round-trip, %d of %d images: %w", bad, len(results), badImages, len(checks), errImagesDiffer)
			case bad > 0:
				return fmt.Errorf("verify: %d of %d layers did not round-trip", bad, len(results))
			case badImages > 0:
				return fmt.Errorf("verify: %d of %d %w", badImages, len(checks), errImagesDiffer)
			}
			fmt.Fprintln(o.stdout)
			if len(results) > 0 {
				fmt.Fprintf(o.stdout, "all %d layers round-trip byte for byte\n", len(results))
			}
			if len(checks) > 0 {
				fmt.Fprintf(o.stdout, "all %d images keep their manifest digest through pull and save, and every layer exports to its DiffID\n", len(checks))
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&keep, "keep", false, "keep the temporary store (and the saved images) and print its path")
	cmd.Flags().StringArrayVar(&platforms, "platform", nil, "verify the image of this `PLATFORM` (windows/amd64[:OSVERSION]; repeatable) rather than every Windows image of an index")
	return cmd
}

// sanitizeID turns a file name into a valid layer id.
func sanitizeID(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			b[i] = '_'
		}
	}
	if len(b) > 100 {
		b = b[:100]
	}
	return string(b)
}
