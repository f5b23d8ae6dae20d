package image

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sync/errgroup"

	"github.com/winlayer/winlayer/internal/decompress"
	"github.com/winlayer/winlayer/layer"
)

// Errors of Pull, for callers to test with errors.Is.
var (
	// ErrDiffIDMismatch is returned when a layer's uncompressed content
	// does not hash to the config's rootfs.diff_ids entry.
	ErrDiffIDMismatch = errors.New("DiffID mismatch")
	// ErrBadImage is returned for a manifest or config that cannot describe
	// a runnable image (layer and diff_id counts differ, bad JSON).
	ErrBadImage = errors.New("bad image")
)

// PullOptions say what to pull and how to report it.
type PullOptions struct {
	// Platform is the requested platform; Explicit says that the user
	// chose it (--platform; see Select).
	Platform Platform
	Explicit bool
	// NoForeignURLs forbids fetching foreign layers from their urls.
	NoForeignURLs bool
	// Progress, when set, receives the events of the pull; it is called
	// from several goroutines at once.
	Progress func(Event)
	// Verb is the command named in error messages ("pull", "load"); empty:
	// "pull" for a registry, "load" for a file source.
	Verb string
}

// verb is the command named in the messages of a pull from loc.
func (o PullOptions) verb(loc Location) string {
	switch {
	case o.Verb != "":
		return o.Verb
	case loc.Kind == KindRegistry:
		return "pull"
	}
	return "load"
}

// EventKind says what an Event reports.
type EventKind int

// The kinds of Event.
const (
	// EventStart: a layer starts downloading (Size is its compressed size).
	EventStart EventKind = iota + 1
	// EventSkip: a layer is already in the store.
	EventSkip
	// EventBytes: N compressed bytes of a layer have been read so far.
	EventBytes
	// EventDone: a layer is imported and verified.
	EventDone
	// EventFail: a layer failed (Err).
	EventFail
)

// Event is a progress report of one layer of a pull.
type Event struct {
	Kind EventKind
	// Image is the image being pulled (its name or source).
	Image string
	// Layer is the layer's position (0 = base) of Count layers.
	Layer, Count int
	// Digest is the layer's blob digest ("" when the source has none yet).
	Digest string
	// ID is the store layer id (ChainID).
	ID string
	// Size is the compressed size (0 when unknown); N the bytes read.
	Size, N int64
	// Err is the failure of EventFail.
	Err error
}

// digestText is h as Event.Digest shows it: "" for the zero hash of a
// layer whose source names no blob digest (a docker-archive), where
// v1.Hash.String would give ":".
func digestText(h v1.Hash) string {
	if h.Hex == "" {
		return ""
	}
	return h.String()
}

// PullResult describes one pulled image.
type PullResult struct {
	ImageInfo
	// Pulled are the references this pull gave the image (canonical: the
	// reference pulled and, for a tag, the repo@digest beside it; an OCI
	// layout's TAG; a docker-archive image's tags), in that order; empty
	// when the source named none. ImageInfo.References lists every
	// reference the image has, those of earlier pulls and tags too.
	Pulled []string
	// Fetched and Skipped count the layers downloaded and already present.
	Fetched, Skipped int
	// Bytes is how many compressed bytes were read.
	Bytes int64
}

// Pull copies the image at loc into the store: for a registry or an OCI
// layout the Windows image of opts.Platform (see Source.Resolve); for a
// docker-archive every image it holds, or the one its :REF names. The
// layers missing from the store (by ChainID) are fetched in parallel
// (cfg.Jobs), each in one pass: blob → digest check (and kept blob) →
// decompression by magic bytes → DiffID check → import, verified before
// the layer is committed. The image record is written last, atomically;
// a failed or cancelled pull leaves the complete layers and no record.
func (s *Store) Pull(ctx context.Context, loc Location, cfg Config, opts PullOptions) ([]*PullResult, error) {
	verb := opts.verb(loc)
	release, err := s.pullLease()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", verb, err)
	}
	defer release()
	src, err := Open(ctx, loc, cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", verb, err)
	}
	if loc.Kind == KindDockerArchive {
		return s.loadArchive(ctx, src, cfg, opts)
	}
	res, err := src.Resolve(opts.Platform, opts.Explicit)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", verb, err)
	}
	p, err := s.planImage(ctx, src, res, cfg, opts)
	if err != nil {
		return nil, err
	}
	r, err := s.run(ctx, p, cfg, opts)
	if err != nil {
		return nil, err
	}
	return []*PullResult{r}, nil
}

// plan is one image to bring into the store.
type plan struct {
	verb        string // "pull" or "load", in messages
	what        string // the image in messages
	manifestRaw []byte // nil: generated once the layers are read
	manifestMT  types.MediaType
	configRaw   []byte
	config      *v1.ConfigFile
	indexRaw    []byte
	indexMT     types.MediaType
	source      string
	repository  string
	refs        []string
	layers      []*job
	genManifest bool
}

// job is one layer of a plan.
type job struct {
	i      int
	desc   v1.Descriptor // for the manifest; Digest zero when the source has none (docker-archive)
	want   v1.Hash       // the digest the blob must have; zero: not checked (docker-archive)
	diffID v1.Hash
	id     string   // ChainID hex
	chain  []string // parent layer directories, nearest first
	open   func(context.Context, v1.Descriptor) (io.ReadCloser, error)
	done   chan struct{}
	ok     bool // imported or present (set before done closes)

	// describe reads a docker-archive layer file for its format, digest
	// and size, for the manifest of a layer that was not fetched.
	describe func() (Compression, v1.Hash, int64, error)

	// Filled in by the fetch.
	comp   Compression
	digest v1.Hash
	size   int64
}

// storeFailure reports whether err is the store's file system failing (a
// full disk or quota, an I/O error, a read-only file system): no damage of
// the blob explains it, and reading the blob again to check its digest
// would only hold the error back for a whole second download.
func storeFailure(err error) bool {
	for _, e := range storeFailureErrnos {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// name is how messages name the layer: its blob digest, or for a source
// that names none (a docker-archive) its DiffID.
func (j *job) name() string {
	if j.desc.Digest.Hex == "" {
		return "diff_id " + j.diffID.String()
	}
	return j.desc.Digest.String()
}

// ChainIDs returns the ChainIDs of the layers with the given DiffIDs (OCI
// image spec): the first is its DiffID, then sha256 of the previous
// ChainID, a space and the DiffID.
func ChainIDs(diffIDs []v1.Hash) []v1.Hash {
	out := make([]v1.Hash, len(diffIDs))
	for i, d := range diffIDs {
		if i == 0 {
			out[i] = d
			continue
		}
		sum := sha256.Sum256([]byte(out[i-1].String() + " " + d.String()))
		out[i] = v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}
	}
	return out
}

// planImage reads the manifest and config of the resolved image and
// prepares its layers.
func (s *Store) planImage(ctx context.Context, src *Source, res *Resolved, cfg Config, opts PullOptions) (*plan, error) {
	what := src.Location.String()
	p := &plan{what: what, source: what, verb: opts.verb(src.Location)}
	var err error
	if p.manifestRaw, err = res.Image.RawManifest(); err != nil {
		return nil, fmt.Errorf("%s %s: manifest: %w", p.verb, what, err)
	}
	if got := sha256Of(p.manifestRaw); res.Descriptor.Digest.Hex != "" && got != res.Descriptor.Digest {
		return nil, fmt.Errorf("%s %s: manifest: %w: %s hashes to %s", p.verb, what, ErrDigestMismatch, res.Descriptor.Digest, got)
	}
	m, err := v1.ParseManifest(strings.NewReader(string(p.manifestRaw)))
	if err != nil {
		return nil, fmt.Errorf("%s %s: manifest: %w: %w", p.verb, what, ErrBadImage, err)
	}
	p.manifestMT = res.Descriptor.MediaType
	if m.MediaType != "" {
		p.manifestMT = m.MediaType
	}
	if p.configRaw, err = res.Image.RawConfigFile(); err != nil {
		return nil, fmt.Errorf("%s %s: config: %w", p.verb, what, err)
	}
	if got := sha256Of(p.configRaw); got != m.Config.Digest {
		return nil, fmt.Errorf("%s %s: config: %w: the manifest says %s, the config hashes to %s", p.verb, what, ErrDigestMismatch, m.Config.Digest, got)
	}
	if res.Index != nil {
		if p.indexRaw, err = res.Index.RawManifest(); err != nil {
			return nil, fmt.Errorf("%s %s: index: %w", p.verb, what, err)
		}
		if p.indexMT, err = res.Index.MediaType(); err != nil {
			return nil, fmt.Errorf("%s %s: index: %w", p.verb, what, err)
		}
	}
	if src.Location.Kind == KindRegistry {
		repo := src.Location.Ref.Context()
		p.repository = repo.Name()
		p.refs = []string{CanonicalRef(src.Location.Ref.Name())}
		if _, isTag := src.Location.Ref.(interface{ TagStr() string }); isTag {
			// Also known by digest.
			p.refs = append(p.refs, repo.Digest(res.Descriptor.Digest.String()).Name())
		}
		bc, err := newBlobClient(ctx, repo, cfg)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", p.verb, what, err)
		}
		open := func(ctx context.Context, d v1.Descriptor) (io.ReadCloser, error) { return bc.open(ctx, d.Digest) }
		return p, s.planLayers(p, m.Layers, withForeign(cfg, opts.NoForeignURLs, open))
	}
	if src.Name != "" {
		p.refs = []string{CanonicalRef(src.Name)}
	}
	img := res.Image
	open := func(ctx context.Context, d v1.Descriptor) (io.ReadCloser, error) {
		l, err := img.LayerByDigest(d.Digest)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", errBlobNotFound, err)
		}
		rc, err := l.Compressed()
		if err != nil {
			return nil, fmt.Errorf("%w: %w", errBlobNotFound, err)
		}
		return rc, nil
	}
	return p, s.planLayers(p, m.Layers, withForeign(cfg, opts.NoForeignURLs, open))
}

// planLayers parses the config and makes the jobs of the layers.
func (s *Store) planLayers(p *plan, descs []v1.Descriptor, open func(context.Context, v1.Descriptor) (io.ReadCloser, error)) error {
	cf, err := v1.ParseConfigFile(strings.NewReader(string(p.configRaw)))
	if err != nil {
		return fmt.Errorf("%s %s: config: %w: %w", p.verb, p.what, ErrBadImage, err)
	}
	p.config = cf
	if !isWindowsOS(cf.OS) {
		return fmt.Errorf("%s %s: the image config says OS %q; %w", p.verb, p.what, cf.OS, ErrNotWindows)
	}
	diffIDs := cf.RootFS.DiffIDs
	if len(diffIDs) != len(descs) {
		return fmt.Errorf("%s %s: %w: the manifest lists %d layers, the config %d rootfs.diff_ids", p.verb, p.what, ErrBadImage, len(descs), len(diffIDs))
	}
	if len(descs) == 0 {
		return fmt.Errorf("%s %s: %w: no layers", p.verb, p.what, ErrBadImage)
	}
	chain := ChainIDs(diffIDs)
	for i, d := range descs {
		if d.Digest.Algorithm != "" && d.Digest.Algorithm != "sha256" {
			return fmt.Errorf("%s %s: layer %d %s: %w: only sha256 digests are supported", p.verb, p.what, i, d.Digest, ErrBadImage)
		}
		j := &job{i: i, desc: d, want: d.Digest, diffID: diffIDs[i], id: chain[i].Hex, open: open, done: make(chan struct{})}
		for k := i - 1; k >= 0; k-- {
			j.chain = append(j.chain, s.layers.Dir(chain[k].Hex))
		}
		p.layers = append(p.layers, j)
	}
	return nil
}

// run fetches the missing layers and writes the record.
func (s *Store) run(ctx context.Context, p *plan, cfg Config, opts PullOptions) (*PullResult, error) {
	res := &PullResult{}
	emit := func(e Event) {
		if opts.Progress != nil {
			e.Image, e.Count = p.what, len(p.layers)
			opts.Progress(e)
		}
	}
	// A failed layer stops new layers from starting, but the layers in
	// flight finish (and stay for the next pull); a cancel stops all.
	var g errgroup.Group
	g.SetLimit(cfg.jobs())
	var mu sync.Mutex
	var failed atomic.Bool
	var presentErr error
	for _, j := range p.layers {
		if ok, err := s.present(ctx, j); err != nil {
			// Stop starting layers; those started finish (Wait below).
			presentErr = fmt.Errorf("%s %s: layer %d of %d (%s): %w", p.verb, p.what, j.i+1, len(p.layers), j.name(), err)
			failed.Store(true)
			break
		} else if ok {
			atPullPoint("present", j.id)
			j.ok = true
			close(j.done)
			res.Skipped++
			emit(Event{Kind: EventSkip, Layer: j.i, Digest: digestText(j.desc.Digest), ID: j.id, Size: j.desc.Size})
			continue
		}
		if ctx.Err() != nil || failed.Load() {
			break
		}
		g.Go(func() error {
			defer close(j.done)
			if failed.Load() {
				return nil
			}
			n, skipped, err := s.fetch(ctx, p, j, emit)
			mu.Lock()
			res.Bytes += n
			// A layer another pull committed while this one downloaded it
			// (skipped after n bytes) was downloaded all the same, and its
			// progress said "done": it counts as fetched.
			if skipped && n == 0 {
				res.Skipped++
			} else if err == nil {
				res.Fetched++
			}
			mu.Unlock()
			if err != nil {
				err = fmt.Errorf("%s %s: layer %d of %d (%s): %w", p.verb, p.what, j.i+1, len(p.layers), j.name(), err)
				emit(Event{Kind: EventFail, Layer: j.i, Digest: digestText(j.desc.Digest), ID: j.id, Err: err})
				failed.Store(true)
				return err
			}
			j.ok = true
			emit(Event{Kind: EventDone, Layer: j.i, Digest: digestText(j.desc.Digest), ID: j.id, Size: j.size, N: n})
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if presentErr != nil {
		return nil, presentErr
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%s %s: %w", p.verb, p.what, err)
	}
	atPullPoint("record", "")
	info, err := s.record(ctx, p)
	if err != nil {
		return nil, err
	}
	res.ImageInfo = *info
	res.Pulled = slices.Clone(p.refs)
	return res, nil
}

// present reports whether layer j is in the store already; a layer of
// that id with another DiffID is an error, and so is one without a DiffID
// (made with Create and filled through a view, or built without a tar):
// nothing says that it holds the image's layer.
func (s *Store) present(ctx context.Context, j *job) (bool, error) {
	if !s.layers.Exists(j.id) {
		return false, nil
	}
	m, err := s.layers.Meta(ctx, j.id)
	if err != nil {
		return false, err
	}
	switch {
	case m.DiffID == "" || s.layers.IsDirty(j.id):
		return false, fmt.Errorf("store layer %s exists but was not imported from a tar (no DiffID to check it by), the image wants DiffID %s; remove it ('winlayer rm %s') to pull: %w", j.id, j.diffID, j.id, ErrDiffIDMismatch)
	case m.DiffID != j.diffID.String():
		return false, fmt.Errorf("store layer %s exists with DiffID %s, the image wants %s: %w", j.id, m.DiffID, j.diffID, ErrDiffIDMismatch)
	}
	return true, nil
}

// fetch downloads, checks and imports layer j. skipped reports a layer
// that another pull committed meanwhile.
func (s *Store) fetch(ctx context.Context, p *plan, j *job, emit func(Event)) (n int64, skipped bool, err error) {
	// Parents all committed before the first try: a link they do not
	// resolve is the layer's own error, and a second read cannot help.
	parentsIn := true
	for _, q := range p.layers[:j.i] {
		select {
		case <-q.done:
			parentsIn = parentsIn && q.ok
		default:
			parentsIn = false
		}
	}
	for attempt := 0; ; attempt++ {
		n, skipped, err = s.fetchOnce(ctx, p, j, emit)
		if err == nil || attempt > 0 || parentsIn || !errors.Is(err, layer.ErrInvalidEntry) || !strings.Contains(err.Error(), "failed to find link target") {
			return n, skipped, err
		}
		// A hard link into a parent that was not committed yet: wait for
		// the parents and read the layer again.
		for _, q := range p.layers[:j.i] {
			select {
			case <-q.done:
				if !q.ok {
					return n, false, err
				}
			case <-ctx.Done():
				return n, false, ctx.Err()
			}
		}
	}
}

func (s *Store) fetchOnce(ctx context.Context, p *plan, j *job, emit func(Event)) (int64, bool, error) {
	emit(Event{Kind: EventStart, Layer: j.i, Digest: digestText(j.desc.Digest), ID: j.id, Size: j.desc.Size})
	rc, err := j.open(ctx, j.desc)
	if err != nil {
		return 0, false, err
	}
	// Keep the blob when it is the original compressed content the
	// manifest names (or, without a digest, when it turns out compressed).
	var bw *blobWriter
	if s.keepBlobs {
		if bw, err = s.newHashedBlobWriter(); err != nil {
			rc.Close()
			return 0, false, err
		}
		atPullPoint("blob", j.id)
	}
	var w io.Writer
	if bw != nil {
		w = bw
	}
	// A blob of known size is read no further: a source that sends more
	// (or an endless stream) fails there instead of filling the disk.
	var max int64
	if j.want.Hex != "" && j.desc.Size > 0 {
		max = j.desc.Size
	}
	hp := newHashPipe(rc, w, max, func(n int64) {
		emit(Event{Kind: EventBytes, Layer: j.i, Digest: digestText(j.desc.Digest), ID: j.id, Size: j.desc.Size, N: n})
	})
	br := bufio.NewReaderSize(hp, 64<<10)
	dec, format, release, err := decompress.Reader(br)
	comp := Compression(format)
	if err != nil {
		hp.Close()
		if bw != nil {
			bw.abort()
		}
		return hp.count(), false, err
	}
	// The import's read-ahead goroutine decompresses (and hashes the
	// DiffID) straight into its own blocks: no hand-off and no copy
	// between the decoder and the import.
	tarStream := &guardedReader{r: dec}
	defer func() {
		// Closing the blob's source ends every read that waits on it (the
		// import may have left one running on its read-ahead goroutine);
		// the guard waits for that read to return and refuses any later
		// one, and only then is the decoder released.
		hp.Close()
		tarStream.close()
		release()
		if bw != nil {
			bw.abort()
		}
	}()
	j.comp = comp
	verify := func(diffID string) error {
		// The tar's end marker was read; read the rest of the blob so that
		// its digest and the decoder's trailer checks cover every byte.
		if _, err := io.Copy(io.Discard, tarStream); err != nil {
			return err
		}
		if _, err := io.Copy(io.Discard, br); err != nil {
			return err
		}
		sum, n, err := hp.finish()
		if err != nil {
			return err
		}
		if j.want.Hex != "" && j.desc.Size > 0 && n != j.desc.Size {
			return fmt.Errorf("%w: the blob is %d bytes, the manifest says %d", ErrDigestMismatch, n, j.desc.Size)
		}
		got := v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum)}
		if j.want.Hex != "" && got != j.want {
			return fmt.Errorf("%w: the blob hashes to %s (%d bytes), the manifest says %s", ErrDigestMismatch, got, n, j.want)
		}
		if diffID != j.diffID.String() {
			return fmt.Errorf("%w: the uncompressed layer hashes to %s, the config says %s", ErrDiffIDMismatch, diffID, j.diffID)
		}
		j.digest, j.size = got, n
		if bw != nil {
			keep := comp != CompressionNone && (j.desc.Digest.Hex == "" || got == j.desc.Digest)
			b := bw
			bw = nil
			// Not kept: the blob is the tar itself (the layer export gives
			// it back), or not the blob the manifest names (a docker-archive
			// holding a foreign layer's tar).
			if !keep {
				b.abort()
			} else if err := b.commitHashed(got); err != nil {
				return err
			}
		}
		return nil
	}
	_, err = s.layers.Import(ctx, j.id, j.chain, tarStream, layer.WithPendingParents(), layer.WithVerify(verify))
	hp.Close()
	n := hp.count()
	if err != nil {
		if errors.Is(err, layer.ErrExists) {
			// Another pull committed the layer; it is verified like ours.
			// A layer that is not the image's says why (no second read of
			// the blob: nothing is wrong with it).
			ok, perr := s.present(ctx, j)
			switch {
			case ok:
				return n, true, nil
			case perr != nil:
				return n, false, perr
			}
		}
		if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
			err = fmt.Errorf("%w (%v)", cerr, err)
		} else if cerr == nil && !errors.Is(err, ErrDigestMismatch) && !errors.Is(err, ErrDiffIDMismatch) && !errors.Is(err, layer.ErrInvalidEntry) && !errors.Is(err, layer.ErrExists) && !storeFailure(err) {
			// A damaged blob fails in the decoder or the tar before
			// its digest is known: name the digest as the cause. (A
			// refused entry is what the tar says, not damage, and a full
			// or failing disk is the store's: no second read of the blob
			// for them.)
			if merr := recheckBlob(ctx, j); merr != nil {
				err = fmt.Errorf("%w (reading it failed: %v)", merr, err)
			}
		}
		return n, false, err
	}
	return n, false, nil
}
