package main

import (
	"archive/tar"
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"time"
)

// The kinds of layer tar the generator writes.
const (
	// KindMix is 1 GiB of a realistic mix of file sizes: many 1–64 KiB
	// files, some 1–16 MiB, a few 64–128 MiB.
	KindMix = "mix"
	// KindSmall is 100,000 small files of 100 B – 4 KiB (~2 KiB mean).
	KindSmall = "small"
	// KindLarge is one 1 GiB file.
	KindLarge = "large"
)

// Kinds lists every kind in the order the benchmark runs them.
var Kinds = []string{KindMix, KindSmall, KindLarge}

// Windows metadata every generated entry carries, as go-winio's backuptar
// writes it.
const (
	paxFileAttr     = "MSWINDOWS.fileattr"
	paxRawSD        = "MSWINDOWS.rawsd"
	paxCreationTime = "LIBARCHIVE.creationtime"

	attrDirectory = "16" // FILE_ATTRIBUTE_DIRECTORY
	attrArchive   = "32" // FILE_ATTRIBUTE_ARCHIVE

	// benchSD is an 80-byte self-relative security descriptor
	// (O:BAG:SYD:(A;;FA;;;BA)).
	benchSD = "AQAEgBQAAAAkAAAAAAAAADAAAAABAgAAAAAABSAAAAAgAgAAAQEAAAAAAAUSAAAAAgAgAAEAAAAAABgA/wEfAAECAAAAAAAFIAAAACACAAA="

	// go-winio writes the Go mode bits c_ISDIR and c_ISREG and no
	// permissions.
	modeDir  = 0o40000
	modeFile = 0o100000

	hiveSize     = 64 << 10 // Hives/System_Delta
	contentBuf   = 1 << 20  // the pseudo-random content every file reuses
	writeBufSize = 1 << 20
)

// GenStats describes a generated layer tar.
type GenStats struct {
	Kind  string  `json:"kind"`
	Scale float64 `json:"scale"`
	// Files counts regular files (Hives/System_Delta included).
	Files int `json:"files"`
	// Dirs counts directories (Files and Hives included).
	Dirs int `json:"dirs"`
	// Payload is the sum of the regular files' sizes.
	Payload int64 `json:"payload_bytes"`
	// TarBytes is the size of the tar.
	TarBytes int64 `json:"tar_bytes"`
	// SHA256 is the hex digest of the tar.
	SHA256 string `json:"sha256"`
}

// Entries is the number of tar entries (headers).
func (s GenStats) Entries() int { return s.Files + s.Dirs }

// GenerateFile writes the layer tar of kind at scale to path; see [Generate].
func GenerateFile(path, kind string, scale float64) (GenStats, error) {
	f, err := os.Create(path)
	if err != nil {
		return GenStats{}, err
	}
	st, err := Generate(f, kind, scale)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
	}
	return st, err
}

// Generate writes a Windows layer tar of kind (KindMix, KindSmall or
// KindLarge) to w, every size and count multiplied by scale: the counts
// of small files scale, and so do the sizes of big ones, so that a scaled
// mix keeps its shape. The tar is what go-winio's exporter writes: PAX
// format, Files then a directory tree of about 20 files per directory,
// then Hives and Hives/System_Delta; every entry has MSWINDOWS.fileattr,
// MSWINDOWS.rawsd, LIBARCHIVE.creationtime and mtime/atime/ctime records.
//
// The output is deterministic (math/rand/v2 with fixed seeds) and
// generated in constant memory: file contents are slices of one 1 MiB
// pseudo-random buffer behind a prefix unique to each file.
func Generate(w io.Writer, kind string, scale float64) (GenStats, error) {
	return GenerateWith(w, kind, scale, GenOptions{})
}

// GenOptions vary what [GenerateWith] writes.
type GenOptions struct {
	// Salt changes the seeds: two layers of one kind with different salts
	// have different names, sizes and contents ("" is Generate's).
	Salt string
	// Compressible fills files with text-like content that compresses
	// about as well as a Windows layer's files (about 3× with gzip),
	// drawn fresh for every byte so that nothing repeats within any
	// compressor's window, instead of incompressible pseudo-random bytes
	// that repeat every MiB. It costs more CPU to generate.
	Compressible bool
}

// GenerateWith is [Generate] with options.
func GenerateWith(w io.Writer, kind string, scale float64, opts GenOptions) (GenStats, error) {
	if !(scale > 0) || math.IsInf(scale, 0) {
		return GenStats{}, fmt.Errorf("scale %v: must be a positive number", scale)
	}
	sizes, err := newSizer(kind, scale)
	if err != nil {
		return GenStats{}, err
	}
	g := newGenerator(w, kind+opts.Salt)
	g.stats.Kind = kind
	g.stats.Scale = scale
	if opts.Compressible {
		g.text = newTextFiller(kindSeed(kind + opts.Salt))
	}
	if err := g.run(sizes); err != nil {
		return GenStats{}, fmt.Errorf("generate %s: %w", kind, err)
	}
	return g.stats, nil
}

// generator writes one layer tar.
type generator struct {
	tw    *tar.Writer
	bw    *bufio.Writer
	cw    *countWriter
	sum   hash.Hash
	rng   *rand.Rand
	tree  tree
	buf   []byte // pseudo-random content
	text  *textFiller
	base  time.Time
	n     int // entries written
	stats GenStats
}

func newGenerator(w io.Writer, kind string) *generator {
	seed := kindSeed(kind)
	g := &generator{
		sum:   sha256.New(),
		rng:   rand.New(rand.NewPCG(0x77696e62656e6368, seed)), // "winbench"
		buf:   make([]byte, contentBuf),
		base:  time.Date(2024, 5, 14, 9, 30, 0, 0, time.UTC),
		stats: GenStats{Kind: kind},
	}
	g.cw = &countWriter{w: io.MultiWriter(w, g.sum)}
	g.bw = bufio.NewWriterSize(g.cw, writeBufSize)
	g.tw = tar.NewWriter(g.bw)
	g.tree = tree{rng: rand.New(rand.NewPCG(seed, 0x74726565))} // "tree"
	fill := rand.New(rand.NewPCG(seed, 0x64617461))             // "data"
	for i := 0; i+8 <= len(g.buf); i += 8 {
		binary.LittleEndian.PutUint64(g.buf[i:], fill.Uint64())
	}
	return g
}

func kindSeed(kind string) uint64 {
	var s uint64 = 1469598103934665603 // FNV-1a
	for i := 0; i < len(kind); i++ {
		s = (s ^ uint64(kind[i])) * 1099511628211
	}
	return s
}

func (g *generator) run(sizes sizer) error {
	if err := g.dir("Files"); err != nil {
		return err
	}
	for {
		size, ok := sizes.next(g.rng)
		if !ok {
			break
		}
		dir, newDir := g.tree.next()
		if newDir {
			if err := g.dir(dir); err != nil {
				return err
			}
		}
		if err := g.file(dir+"/"+g.fileName(), size); err != nil {
			return err
		}
	}
	if err := g.dir("Hives"); err != nil {
		return err
	}
	if err := g.file("Hives/System_Delta", hiveSize); err != nil {
		return err
	}
	if err := g.tw.Close(); err != nil {
		return err
	}
	if err := g.bw.Flush(); err != nil {
		return err
	}
	g.stats.TarBytes = g.cw.n
	g.stats.SHA256 = hex.EncodeToString(g.sum.Sum(nil))
	return nil
}

var (
	fileStems = []string{"ntdll", "kernel32", "KernelBase", "msvcp140", "ucrtbase", "api-ms-win-core-file-l1-2-0",
		"Microsoft.Windows.Common-Controls", "mscorlib", "System.Xml", "powershell", "cmd", "setupapi",
		"wow64", "combase", "netio", "tcpip", "winload", "shell32", "user32", "gdi32"}
	fileExts = []string{"dll", "dll", "dll", "exe", "mui", "sys", "xml", "manifest", "cat", "dat", "ini", "txt"}
)

func (g *generator) fileName() string {
	return fmt.Sprintf("%s_%d.%s", fileStems[g.rng.IntN(len(fileStems))], g.stats.Files, fileExts[g.rng.IntN(len(fileExts))])
}

// header returns the header of the next entry, with go-winio's fields and
// times 100 ns apart from the previous entry's by a varying step.
func (g *generator) header(name string, dir bool, size int64) *tar.Header {
	g.n++
	mtime := g.base.Add(time.Duration(g.n) * 123456700) // 100 ns granularity
	h := &tar.Header{
		Format:     tar.FormatPAX,
		Name:       name,
		Typeflag:   tar.TypeReg,
		Mode:       modeFile,
		Size:       size,
		ModTime:    mtime,
		AccessTime: mtime.Add(36*time.Hour + 500*time.Millisecond),
		ChangeTime: mtime.Add(1100 * time.Millisecond),
		PAXRecords: map[string]string{
			paxFileAttr:     attrArchive,
			paxRawSD:        benchSD,
			paxCreationTime: formatPAXTime(mtime.Add(-90 * 24 * time.Hour)),
		},
	}
	if dir {
		h.Typeflag, h.Mode, h.Size = tar.TypeDir, modeDir, 0
		h.PAXRecords[paxFileAttr] = attrDirectory
	}
	return h
}

func (g *generator) dir(name string) error {
	g.stats.Dirs++
	return g.tw.WriteHeader(g.header(name, true, 0))
}

// file writes a regular file: 16 bytes unique to the file ("winbench" and
// its number), then the content buffer from an offset that depends on the
// file, wrapping around (shifted a little on every wrap).
func (g *generator) file(name string, size int64) error {
	if err := g.tw.WriteHeader(g.header(name, false, size)); err != nil {
		return err
	}
	g.stats.Files++
	g.stats.Payload += size
	var prefix [16]byte
	copy(prefix[:8], "winbench")
	binary.LittleEndian.PutUint64(prefix[8:], uint64(g.stats.Files))
	p := prefix[:min(size, int64(len(prefix)))]
	if _, err := g.tw.Write(p); err != nil {
		return err
	}
	size -= int64(len(p))
	if g.text != nil {
		for size > 0 {
			chunk := g.text.next(int(min(size, textChunk)))
			if _, err := g.tw.Write(chunk); err != nil {
				return err
			}
			size -= int64(len(chunk))
		}
		return nil
	}
	off := int(uint64(g.stats.Files) * 7919 * 64 % uint64(len(g.buf)))
	for size > 0 {
		chunk := g.buf[off:]
		if int64(len(chunk)) > size {
			chunk = chunk[:size]
		}
		if _, err := g.tw.Write(chunk); err != nil {
			return err
		}
		size -= int64(len(chunk))
		off = (off + len(chunk) + 4099) % len(g.buf)
	}
	return nil
}

// formatPAXTime formats t as a PAX time, as go-winio does for
// LIBARCHIVE.creationtime: seconds, then the fraction without trailing
// zeros.
func formatPAXTime(t time.Time) string {
	s := strconv.FormatInt(t.Unix(), 10)
	if ns := t.Nanosecond(); ns != 0 {
		s += "." + strings.TrimRight(fmt.Sprintf("%09d", ns), "0")
	}
	return s
}

// tree places files in a directory tree below Files, depth first as a
// directory walk emits them: each directory gets 10–30 files (20 on
// average), then the walk goes deeper, to a sibling or back up.
type tree struct {
	rng   *rand.Rand
	stack []string // the current directory's path, from "Files"
	left  int      // files still to place in it
	dirs  int
}

const maxDepth = 7 // below Files

var dirWords = []string{"Windows", "System32", "SysWOW64", "WinSxS", "drivers", "en-US", "Microsoft.NET",
	"Framework64", "assembly", "Fonts", "INF", "servicing", "Packages", "Program Files", "Common Files",
	"ProgramData", "Boot", "Resources", "Globalization", "Speech", "Migration", "PolicyDefinitions",
	"Provisioning", "schemas", "SystemResources", "Web", "amd64_microsoft-windows-shell32_31bf3856ad364e35"}

// next returns the directory of the next file and whether it is new
// (its header must be written first).
func (t *tree) next() (dir string, created bool) {
	if len(t.stack) == 0 {
		t.stack = []string{"Files"}
	}
	if t.left > 0 {
		t.left--
		return strings.Join(t.stack, "/"), false
	}
	depth := len(t.stack) - 1
	switch r := t.rng.IntN(10); {
	case depth == 0:
	case depth < maxDepth && r < 5: // deeper
	case r < 8 || depth == 1: // a sibling
		t.stack = t.stack[:len(t.stack)-1]
	default: // back up some levels
		t.stack = t.stack[:1+t.rng.IntN(depth)]
	}
	t.dirs++
	t.stack = append(t.stack, fmt.Sprintf("%s-%d", dirWords[t.rng.IntN(len(dirWords))], t.dirs))
	t.left = 9 + t.rng.IntN(21)
	return strings.Join(t.stack, "/"), true
}

// sizer yields the sizes of a layer's files (under Files) one at a time.
type sizer interface {
	next(rng *rand.Rand) (size int64, ok bool)
}

// sizeClass is a range of file sizes with a byte budget.
type sizeClass struct {
	min, max int64
	left     int64 // bytes still to hand out
}

func (c *sizeClass) mean() float64 { return float64(c.min+c.max) / 2 }

// mixSizer interleaves its classes at random, each drawn with probability
// proportional to the number of files it still has to give, until every
// budget is spent exactly.
type mixSizer []sizeClass

func (m mixSizer) next(rng *rand.Rand) (int64, bool) {
	var total float64
	for i := range m {
		if m[i].left > 0 {
			total += float64(m[i].left) / m[i].mean()
		}
	}
	if total == 0 {
		return 0, false
	}
	x := rng.Float64() * total
	i := 0
	for ; i < len(m)-1; i++ {
		if m[i].left <= 0 {
			continue
		}
		if x -= float64(m[i].left) / m[i].mean(); x < 0 {
			break
		}
	}
	for m[i].left <= 0 { // rounding: the last class with bytes left
		i--
	}
	c := &m[i]
	size := min(c.min+rng.Int64N(c.max-c.min+1), c.left)
	if c.left-size < c.min {
		size = c.left // no runt files
	}
	c.left -= size
	return size, true
}

// countSizer gives n sizes drawn from [min, max].
type countSizer struct {
	n        int
	min, max int64
}

func (c *countSizer) next(rng *rand.Rand) (int64, bool) {
	if c.n <= 0 {
		return 0, false
	}
	c.n--
	return c.min + rng.Int64N(c.max-c.min+1), true
}

func newSizer(kind string, scale float64) (sizer, error) {
	const kib, mib, gib = 1 << 10, 1 << 20, 1 << 30
	big := min(scale, 1) // how much the big classes' sizes shrink
	sz := func(n float64) int64 { return max(1, int64(math.Round(n))) }
	switch kind {
	case KindMix:
		total := float64(gib) * scale
		return mixSizer{
			{min: 1 * kib, max: 64 * kib, left: sz(0.40 * total)},
			{min: sz(1 * mib * big), max: sz(16 * mib * big), left: sz(0.35 * total)},
			{min: sz(64 * mib * big), max: sz(128 * mib * big), left: sz(0.25 * total)},
		}, nil
	case KindSmall:
		return &countSizer{n: int(sz(100000 * scale)), min: 100, max: 4 * kib}, nil
	case KindLarge:
		n := sz(gib * scale)
		return &countSizer{n: 1, min: n, max: n}, nil
	}
	return nil, fmt.Errorf("unknown kind %q (want %s)", kind, strings.Join(Kinds, ", "))
}

// countWriter counts what passes through it.
type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
