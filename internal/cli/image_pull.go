package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/winlayer/winlayer/image"
	"github.com/winlayer/winlayer/layer"
)

// platformFlags are --platform and --host-build, which choose the Windows
// image of an index for pull, load and copy.
type platformFlags struct {
	platform  string
	hostBuild int
}

// add gives cmd --platform (with help text what) and --host-build.
func (f *platformFlags) add(cmd *cobra.Command, what string) {
	fl := cmd.Flags()
	fl.StringVar(&f.platform, "platform", "", what+": windows/amd64[:OSVERSION] (3-part: the newest revision of that build; 4-part: exactly; no OSVERSION: the newest Windows version)")
	fl.IntVar(&f.hostBuild, "host-build", 0, "choose the newest image a host of this Windows build runs (containerd's rule)")
}

// given reports whether --platform or --host-build was given.
func (f *platformFlags) given() bool { return f.platform != "" || f.hostBuild != 0 }

// parse is the platform the flags ask for, and whether --platform was
// given (explicit: several matching images are then not an error).
func (f *platformFlags) parse(cmd *cobra.Command) (image.Platform, bool, error) {
	plat, err := image.ParsePlatform(f.platform)
	if err != nil {
		return plat, false, usageError{err}
	}
	plat.HostBuild = f.hostBuild
	return plat, cmd.Flags().Changed("platform"), nil
}

// pullFlags are the flags pull and load share.
type pullFlags struct {
	platformFlags
	jobs          int
	quiet         bool
	asJSON        bool
	noForeignURLs bool
	insecure      bool
	noKeepBlobs   bool
}

func (f *pullFlags) add(cmd *cobra.Command, registry bool) {
	f.platformFlags.add(cmd, "the Windows image to take from an index")
	fl := cmd.Flags()
	fl.IntVar(&f.jobs, "jobs", image.DefaultJobs, "layers fetched and imported at once")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "no progress; print only the manifest digest")
	fl.BoolVar(&f.asJSON, "json", false, "print the pulled image as JSON (as 'image inspect --json')")
	fl.BoolVar(&f.noForeignURLs, "no-foreign-urls", false, "never fetch foreign (non-distributable) layers from their urls")
	fl.BoolVar(&f.noKeepBlobs, "no-keep-blobs", false, "do not keep the compressed layer blobs (push and save then recompress, and the manifest digest changes)")
	if registry {
		fl.BoolVar(&f.insecure, "insecure", false, "let registries other than localhost and 127.0.0.1 use plain HTTP")
	}
}

// pull runs a pull or load of src and prints what it brought.
func (f *pullFlags) pull(cmd *cobra.Command, o *options, verb, src string, fileOnly bool) error {
	if f.jobs < 1 {
		return usageError{fmt.Errorf("--jobs %d: want 1 or more", f.jobs)}
	}
	plat, explicit, err := f.platformFlags.parse(cmd)
	if err != nil {
		return err
	}
	cfg := image.Config{Insecure: f.insecure, Jobs: f.jobs, UserAgent: "winlayer/" + shortVersion()}
	loc, err := cfg.Parse(src)
	if err != nil {
		return usageError{withLowerCaseHint(err, src)}
	}
	if fileOnly && loc.Kind == image.KindRegistry {
		return usageError{fmt.Errorf("%s %s: load reads oci:DIR[:TAG] or docker-archive:FILE[:REF]; use 'image pull' for a registry", verb, src)}
	}
	if loc.Kind != image.KindRegistry {
		// A missing layout or archive is named before the store is
		// created: a mistyped path must not leave an empty store behind.
		if _, err := os.Stat(loc.Path); err != nil {
			return fmt.Errorf("%s %s: %w", verb, src, err)
		}
	}
	ctx := cmd.Context()
	if _, err := layer.OpenReadOnly(o.store); errors.Is(err, layer.ErrNoStore) {
		// The store is created only for a source that opens and has the
		// image asked for: a mistyped reference, a registry that is down or
		// a Linux image must not leave an empty store behind.
		if err := preflight(ctx, loc, cfg, plat, explicit, verb); err != nil {
			return withLoginHint(err, loc)
		}
	}
	ls, undo, err := o.openStore()
	if err != nil {
		return err
	}
	var sopts []image.StoreOption
	if f.noKeepBlobs {
		sopts = append(sopts, image.WithoutLayerBlobs())
	}
	s := image.OpenStore(ls, sopts...)
	pp := newPullProgress(ctx, o.stderr, f.quiet || f.asJSON && !isTerminal(o.stderr))
	res, err := s.Pull(ctx, loc, cfg, image.PullOptions{
		Platform: plat, Explicit: explicit,
		NoForeignURLs: f.noForeignURLs, Progress: pp.event, Verb: verb,
	})
	pp.wait()
	if err != nil {
		undo() // a new store the pull committed nothing to goes again
		// Images of an archive loaded before the failure are in the store.
		for _, r := range res {
			fmt.Fprintf(o.stderr, "winlayer: loaded %s before the error\n", r.ManifestDigest)
		}
		if errors.Is(err, ctx.Err()) && ctx.Err() != nil {
			return fmt.Errorf("%w (the layers completed so far stay in the store and are reused next time)", err)
		}
		return withLoginHint(err, loc)
	}
	if f.asJSON {
		var out []inspectJSON
		for _, r := range res {
			out = append(out, newInspectJSON(&r.ImageInfo))
		}
		enc := json.NewEncoder(o.stdout)
		enc.SetIndent("", "  ")
		if len(out) == 1 {
			return enc.Encode(out[0])
		}
		return enc.Encode(out)
	}
	for _, r := range res {
		if f.quiet {
			fmt.Fprintln(o.stdout, r.ManifestDigest)
			continue
		}
		// The reference this pull named, not the first of all the image
		// has (an older tag sorting first named another image's name).
		name := r.ManifestDigest
		if len(r.Pulled) > 0 {
			name = r.Pulled[0]
		}
		fmt.Fprintf(o.stdout, "%s %s (%d layers fetched, %d already present)\n", r.ManifestDigest, name, r.Fetched, r.Skipped)
	}
	return nil
}

func newImagePullCmd(o *options) *cobra.Command {
	var f pullFlags
	cmd := &cobra.Command{
		Use:   "pull [--platform P] [--host-build N] [--jobs N] [-q] [--json] SRC",
		Short: "Pull a Windows image into the store",
		Long: `pull brings the Windows image SRC into the store. SRC is a registry reference
(host[:port]/repo[:tag|@sha256:…]; localhost and 127.0.0.1 speak plain HTTP),
oci:DIR[:TAG] or docker-archive:FILE[:REF].

From an index (a multi-platform image) pull takes the Windows entry of
--platform: windows/amd64:10.0.20348 picks the newest revision of build 20348,
a 4-part version matches exactly, windows/amd64 alone the newest version, and
--host-build N applies containerd's host rule. With several Windows entries and
no --platform it fails and lists them. A Linux image is refused.

Each layer is a store layer named by its ChainID; layers already in the store
are not downloaded. The others are fetched --jobs at a time, each in one pass:
digest check, decompression (gzip, zstd or none, by magic bytes), DiffID check
against the config, import. A layer that does not verify leaves nothing. The
image record is written last: an interrupted pull (Ctrl-C) leaves the complete
layers, reused next time, and no half image. Compressed blobs are kept beside
the layers (so push and save reproduce the digests) unless --no-keep-blobs.

Progress goes to standard error (bars on a terminal); standard output gets the
manifest digest and reference, or with --json what 'image inspect --json' prints.`,
		Example: `  winlayer image pull 127.0.0.1:5000/app:1 --platform windows/amd64:10.0.20348
  winlayer image pull --host-build 26100 127.0.0.1:5000/app:1
  winlayer image pull -q oci:./layout:v1`,
		Args: exactArgs("SRC"),
		RunE: func(cmd *cobra.Command, args []string) error { return f.pull(cmd, o, "pull", args[0], false) },
	}
	f.add(cmd, true)
	return cmd
}

func newImageLoadCmd(o *options) *cobra.Command {
	var f pullFlags
	cmd := &cobra.Command{
		Use:   "load [--platform P] [-q] [--json] SRC",
		Short: "Load images from an OCI layout or a docker-save archive into the store",
		Long: `load brings images from a file source into the store: oci:DIR[:TAG] (the
Windows image of --platform, as pull chooses) or docker-archive:FILE[:REF]
(every image of the archive, or the one REF names: a repo:tag or @N). An image
of a docker-archive has no manifest; load writes one from its layers (an
uncompressed layer is named by its DiffID) and the image is known by its tags
and that manifest's digest. Everything else is as for 'image pull'.`,
		Example: `  winlayer image load docker-archive:app.tar
  winlayer image load docker-archive:all.tar:example.com/app:1
  winlayer image load oci:./layout:v1 --platform windows/amd64:10.0.20348`,
		Args: exactArgs("SRC"),
		RunE: func(cmd *cobra.Command, args []string) error { return f.pull(cmd, o, "load", args[0], true) },
	}
	f.add(cmd, false)
	return cmd
}

// preflight opens src and, but for a docker-archive (whose images load
// reads one by one), resolves the Windows image of plat, as Pull does
// first, with Pull's wording: the check a pull into a store that does not
// exist yet makes before creating it.
func preflight(ctx context.Context, loc image.Location, cfg image.Config, plat image.Platform, explicit bool, verb string) error {
	src, err := image.Open(ctx, loc, cfg)
	if err != nil {
		return fmt.Errorf("%s: %w", verb, err)
	}
	if loc.Kind == image.KindDockerArchive {
		return nil
	}
	if _, err := src.Resolve(plat, explicit); err != nil {
		return fmt.Errorf("%s: %w", verb, err)
	}
	return nil
}

// shortVersion is the module version for the User-Agent ("devel" for a
// build from a checkout).
func shortVersion() string {
	bi, ok := readBuildInfo()
	if !ok || bi.Main.Version == "" || bi.Main.Version == "(devel)" {
		return "devel"
	}
	return bi.Main.Version
}
