package layer

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/vbatts/tar-split/tar/storage"

	"github.com/winlayer/winlayer/internal/directio"

	"github.com/winlayer/winlayer/internal/ctxio"
	"github.com/winlayer/winlayer/internal/splitrec"
)

// payloads walks the tar-split record: every payload is read from the
// layer and checked against its recorded size and CRC-32C, and (unless
// Fast) the reassembled tar is hashed against the DiffID.
func (c *checker) payloads(ctx context.Context) error {
	rec := metaDir + "/" + tarSplitFile
	switch {
	case c.meta == nil:
		c.r.skip("payload CRCs and DiffID: no layer metadata")
		return nil
	case c.dirty || c.sandbox:
		c.r.skip("payload CRCs and DiffID: the layer is written through a view (marked dirty); its export is generated from its files")
		return nil
	case c.meta.DiffID == "":
		c.r.skip("payload CRCs and DiffID: no tar-split record (the layer was built through a Writer, not imported from a tar)")
		return nil
	case !c.indexOK:
		c.r.skip("payload CRCs and DiffID: the index cannot be read")
		return nil
	}
	f, err := os.Open(filepath.Join(c.dir, metaDir, tarSplitFile))
	if errors.Is(err, fs.ErrNotExist) {
		c.r.add(rec, "missing: the layer was imported (DiffID %s) but its record is gone", c.meta.DiffID)
		return nil
	}
	if err != nil {
		c.r.add(rec, "%v", err)
		return nil
	}
	defer f.Close()
	zr, err := gzip.NewReader(bufio.NewReaderSize(f, 64<<10))
	if err != nil {
		c.r.add(rec, "not gzip: %v", err)
		return nil
	}
	g, err := NewFileGetter(c.dir)
	if err != nil {
		c.r.add(metaDir+"/"+indexFile, "%v", err)
		return nil
	}
	defer g.Close()

	var h hash.Hash
	if !c.opts.Fast {
		h = sha256.New()
	}
	var n int64
	hashOK := true
	buf := make([]byte, 256<<10)
	crc := splitrec.NewCRC()
	u := splitrec.NewUnpacker(zr)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		e, err := u.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			c.r.add(rec, "%v", err)
			return nil
		}
		if e.Type == storage.SegmentType {
			if h != nil {
				h.Write(e.Payload)
			}
			n += int64(len(e.Payload))
			continue
		}
		if e.Size == 0 {
			continue
		}
		name := e.GetName()
		if c.badOnDisk[name] {
			hashOK = false
			continue
		}
		crc.Reset()
		w := io.Writer(crc)
		if h != nil && hashOK {
			w = io.MultiWriter(crc, h)
		}
		got, err := c.readPayload(g, name, e.Size, ctxio.Writer(ctx, w), buf)
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		n += got
		switch {
		case err != nil:
			c.r.add(name, "payload: %v", err)
		case got != e.Size:
			c.r.add(name, "payload has %d bytes, recorded %d", got, e.Size)
		case !bytes.Equal(crc.Sum(nil), e.Payload):
			c.r.add(name, "content changed since the import: CRC-32C %x, recorded %x", crc.Sum(nil), e.Payload)
		default:
			continue
		}
		hashOK = false
	}
	switch {
	case h == nil:
		c.r.skip("DiffID: not re-hashed (--fast)")
	case !hashOK:
		c.r.skip("DiffID: not compared, payloads already differ from the import")
	default:
		got := "sha256:" + hex.EncodeToString(h.Sum(nil))
		if n != c.meta.TarSize || got != c.meta.DiffID {
			c.r.add("", "DiffID: the reassembled tar (%d bytes, %s) is not the imported tar (%d bytes, %s)", n, got, c.meta.TarSize, c.meta.DiffID)
		}
	}
	return nil
}

// readPayload copies at most size bytes of payload name into w.
func (c *checker) readPayload(g *FileGetter, name string, size int64, w io.Writer, buf []byte) (int64, error) {
	f, err := g.Get(name)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var pr io.ReadCloser = io.NopCloser(io.LimitReader(f, size))
	if of, ok := f.(*os.File); ok {
		pr = directio.PayloadReader(of, size)
	}
	defer pr.Close()
	got, err := io.CopyBuffer(w, pr, buf)
	if err != nil {
		return got, fmt.Errorf("read: %w", err)
	}
	return got, nil
}
