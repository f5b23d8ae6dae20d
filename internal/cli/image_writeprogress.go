package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"

	units "github.com/docker/go-units"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/spf13/cobra"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/winlayer/winlayer/image"
)

// writeFlags are the flags push, save and copy share.
type writeFlags struct {
	insecure       bool
	jobs           int
	quiet          bool
	asJSON         bool
	includeForeign bool
}

func (f *writeFlags) add(cmd *cobra.Command, network bool) {
	if network {
		cmd.Flags().BoolVar(&f.insecure, "insecure", false, "let registries other than localhost and 127.0.0.1 speak plain HTTP")
		cmd.Flags().IntVar(&f.jobs, "jobs", image.DefaultJobs, "how many layers move at once")
	}
	cmd.Flags().BoolVarP(&f.quiet, "quiet", "q", false, "no progress on standard error")
	cmd.Flags().BoolVar(&f.asJSON, "json", false, "print the result as one JSON object (destination, digest, media_type, source_digest, blobs, notes)")
	cmd.Flags().BoolVar(&f.includeForeign, "include-foreign", false,
		"copy foreign / non-distributable layers too: to a registry as ordinary layers without urls (the manifest digest changes), into an OCI layout with their descriptors kept; by default they are left out and their descriptors kept")
}

// config is the transport configuration of the flags.
func (f *writeFlags) config() image.Config {
	return image.Config{Insecure: f.insecure, Jobs: f.jobs, UserAgent: "winlayer/" + version()}
}

// parse reads a location under the flags (--insecure).
func (f *writeFlags) parse(s string) (image.Location, error) {
	loc, err := f.config().Parse(s)
	if err != nil {
		return image.Location{}, usageError{withLowerCaseHint(err, s)}
	}
	return loc, nil
}

// writeDisplay shows the progress of a write on standard error: one bar per
// blob on a terminal (mpb), plain lines otherwise, nothing with -q (notes
// excepted, which say when digests change).
type writeDisplay struct {
	w     io.Writer
	quiet bool

	mu   sync.Mutex
	p    *mpb.Progress
	bars map[string]*mpb.Bar
}

func newWriteDisplay(o *options, quiet bool) *writeDisplay {
	d := &writeDisplay{w: o.stderr, quiet: quiet, bars: map[string]*mpb.Bar{}}
	if !quiet && barTerminal(o.stderr) {
		d.p = mpb.New(mpb.WithOutput(o.stderr), mpb.WithWidth(32))
	}
	return d
}

// event is the image.WriteOptions.Progress callback.
func (d *writeDisplay) event(e image.WriteEvent) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if e.Kind == image.WriteNote {
		if d.p != nil {
			fmt.Fprintf(d.p, "note: %s\n", e.Message)
		} else {
			fmt.Fprintf(d.w, "note: %s\n", e.Message)
		}
		return
	}
	if d.quiet {
		return
	}
	name := short(e.Digest.String())
	if d.p == nil {
		switch e.Kind {
		case image.WriteStart:
			fmt.Fprintf(d.w, "%s: sending %s\n", name, units.HumanSize(float64(e.Size)))
		case image.WriteDone:
			fmt.Fprintf(d.w, "%s: %s\n", name, actionText(e.Action))
		}
		return
	}
	bar := d.bars[name]
	if bar == nil {
		bar = d.p.AddBar(e.Size,
			mpb.PrependDecorators(decor.Name(name+" ")),
			mpb.AppendDecorators(decor.OnComplete(decor.CountersKibiByte("% .1f / % .1f"), "done")))
		d.bars[name] = bar
	}
	switch e.Kind {
	case image.WriteStart:
		bar.SetCurrent(0)
	case image.WriteProgress:
		bar.SetCurrent(e.Done)
	case image.WriteDone:
		if e.Action != image.ActionCopied {
			fmt.Fprintf(d.p, "%s: %s\n", name, actionText(e.Action))
		}
		bar.SetTotal(e.Size, true)
	}
}

// finish stops the bars (those not done are dropped).
func (d *writeDisplay) finish() {
	d.mu.Lock()
	p := d.p
	for _, b := range d.bars {
		if !b.Completed() {
			b.Abort(true)
		}
	}
	d.p = nil
	d.mu.Unlock()
	if p != nil {
		p.Wait()
	}
}

func actionText(a string) string {
	switch a {
	case image.ActionCopied:
		return "copied"
	case image.ActionPresent:
		return "already there (skipped or mounted)"
	case image.ActionForeign:
		return "foreign layer, not copied (descriptor kept)"
	}
	return a
}

// printResult prints a write result: JSON with --json, else the digest
// line (and the notes once more when there were bars).
func printResult(o *options, f *writeFlags, verb string, r *image.Result) error {
	if f.asJSON {
		enc := json.NewEncoder(o.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	fmt.Fprintf(o.stdout, "%s %s: %s (%s)\n", verb, r.Destination, r.Digest, layerCounts(r))
	if r.Digest != r.SourceDigest {
		fmt.Fprintf(o.stdout, "digest changed: the source was %s\n", r.SourceDigest)
	}
	return nil
}

// layerCounts says what a write did with the blobs: "layers: 2 copied, 0
// already there, 0 foreign left out".
func layerCounts(r *image.Result) string {
	copied, present, foreign := 0, 0, 0
	for _, b := range r.Blobs {
		switch b.Action {
		case image.ActionCopied:
			copied++
		case image.ActionPresent:
			present++
		case image.ActionForeign:
			foreign++
		}
	}
	return fmt.Sprintf("layers: %d copied, %d already there, %d foreign left out", copied, present, foreign)
}

// withLoginHint adds the 'winlayer login' command line to run to an error a
// registry among locs answered with HTTP 401 or 403: a whole one, with -u
// and --password-stdin, so that it works when pasted.
func withLoginHint(err error, locs ...image.Location) error {
	var te *transport.Error
	if err == nil || !errors.As(err, &te) || (te.StatusCode != http.StatusUnauthorized && te.StatusCode != http.StatusForbidden) {
		return err
	}
	for _, l := range locs {
		if l.Kind == image.KindRegistry && l.Ref != nil {
			host := l.Ref.Context().RegistryStr()
			saved := hasSavedCredentials(l.Ref.Context().Registry)
			if saved && te.StatusCode == http.StatusForbidden {
				return fmt.Errorf("%w (the registry denied access to the user saved for %s: check that user's rights, or log in as another with 'winlayer login -u USER --password-stdin %s')", err, host, host)
			}
			if saved {
				return fmt.Errorf("%w (the registry refused the credentials saved for %s: log in again with 'winlayer login -u USER --password-stdin %s')", err, host, host)
			}
			return fmt.Errorf("%w (the registry refused access: give credentials with 'winlayer login -u USER --password-stdin %s')", err, host)
		}
	}
	return err
}

// hasSavedCredentials reports whether the default keychain (docker's
// config.json and its credential helpers, what the image commands use)
// has credentials for reg.
func hasSavedCredentials(reg name.Registry) bool {
	a, err := authn.DefaultKeychain.Resolve(reg)
	return err == nil && a != authn.Anonymous
}

// check checks --jobs.
func (f *writeFlags) check() error {
	if f.jobs < 1 {
		return usageError{fmt.Errorf("--jobs %s: must be at least 1", strconv.Itoa(f.jobs))}
	}
	return nil
}
