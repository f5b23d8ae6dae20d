package records

import (
	"archive/tar"
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/winlayer/winlayer/wintar"
)

// BuildOptions tune [Build].
type BuildOptions struct {
	// NoSeek hides io.Seeker from every stream reader, forcing the
	// single-pass export path (as the record field "seekable": false does
	// for one record).
	NoSeek bool
}

// BuildError is the error [Build] returns: the record it failed on and
// the exporter's error.
type BuildError struct {
	// Record is the record's position in the input, counting from 0
	// (-1 when the tar could not be closed).
	Record int
	// WinName is the record's win_name.
	WinName string
	// Op is the exporter step: "WriteTarFileFromBackupStream", "whiteout",
	// "link", "record" (the record itself is malformed) or "closing tar".
	Op string
	// Err is the underlying error.
	Err error
}

// Error formats the error for people: `record 3 "Files\a.txt": <op>:
// <err>`, without the op when it is the exporter's Go function name
// (go-winio's wording is for [BuildError.ErrorRecord]).
func (e *BuildError) Error() string {
	if e.Record < 0 {
		return fmt.Sprintf("%s: %v", e.Op, e.Err)
	}
	if e.Op == opExport {
		return fmt.Sprintf("record %d %q: %v", e.Record, e.WinName, e.Err)
	}
	return fmt.Sprintf("record %d %q: %s: %v", e.Record, e.WinName, e.Op, e.Err)
}

// opExport is the exporter step's name in go-winio's error records.
const opExport = "WriteTarFileFromBackupStream"

// Unwrap returns Err.
func (e *BuildError) Unwrap() error { return e.Err }

// ErrorRecord returns the error record `winlayer records build` prints on
// standard error (the shape of the test vectors' .stderr files).
func (e *BuildError) ErrorRecord() *Record {
	n := e.Record
	return &Record{Op: OpError, WinName: e.WinName, Record: &n, Error: e.Op + ": " + e.Err.Error()}
}

// Build reads records from r and writes the layer tar they describe to w:
// add → [wintar.WriteTarFileFromBackupStream] with the record's stream
// (stream_b64, or else its streams encoded), remove → a whiteout, link → a
// hard link; end and error records are skipped. The tar is closed (two
// zero blocks) at the end. Errors are *[BuildError].
func Build(r io.Reader, w io.Writer, opts BuildOptions) error {
	tw := tar.NewWriter(w)
	dec := json.NewDecoder(bufio.NewReaderSize(r, 1<<20))
	dec.UseNumber()
	for i := 0; ; i++ {
		var rec buildRecord
		if err := dec.Decode(&rec); err == io.EOF {
			break
		} else if err != nil {
			return &BuildError{Record: i, Op: "record", Err: err}
		}
		if err := buildOne(tw, &rec, opts); err != nil {
			var be *BuildError
			if errors.As(err, &be) {
				be.Record = i
				return be
			}
			return &BuildError{Record: i, WinName: rec.WinName, Op: "record", Err: err}
		}
	}
	if err := tw.Close(); err != nil {
		return &BuildError{Record: -1, Op: "closing tar", Err: err}
	}
	return nil
}

// buildRecord is a Record as read for building: stream_b64 is raw so that
// its absence can be told from an empty value.
type buildRecord struct {
	Op        string          `json:"op"`
	WinName   string          `json:"win_name"`
	WinTarget string          `json:"win_target"`
	Size      *int64          `json:"size"`
	FileInfo  *FileInfo       `json:"file_info"`
	Seekable  *bool           `json:"seekable"`
	StreamB64 json.RawMessage `json:"stream_b64"`
	Streams   []Stream        `json:"streams"`
}

// noSeek hides the Seek method of a reader.
type noSeek struct{ io.Reader }

func buildOne(tw *tar.Writer, rec *buildRecord, opts BuildOptions) error {
	switch rec.Op {
	case OpAdd:
		if rec.FileInfo == nil {
			return fmt.Errorf("add record without file_info")
		}
		stream, err := rec.stream()
		if err != nil {
			return err
		}
		var size int64
		if rec.Size != nil {
			size = *rec.Size
		}
		var sr io.Reader = bytes.NewReader(stream)
		if opts.NoSeek || (rec.Seekable != nil && !*rec.Seekable) {
			sr = noSeek{sr}
		}
		if err := wintar.WriteTarFileFromBackupStream(tw, sr, rec.WinName, size, rec.FileInfo.Basic()); err != nil {
			return &BuildError{WinName: rec.WinName, Op: opExport, Err: err}
		}
	case OpRemove:
		if err := wintar.WriteWhiteout(tw, rec.WinName); err != nil {
			return &BuildError{WinName: rec.WinName, Op: "whiteout", Err: err}
		}
	case OpLink:
		var fi *FileInfo = rec.FileInfo
		if fi == nil {
			fi = &FileInfo{}
		}
		if err := wintar.WriteHardLink(tw, rec.WinName, rec.WinTarget, fi.Basic()); err != nil {
			return &BuildError{WinName: rec.WinName, Op: "link", Err: err}
		}
	case OpEnd, OpError:
	default:
		return fmt.Errorf("unknown op %q", rec.Op)
	}
	return nil
}

func (rec *buildRecord) stream() ([]byte, error) {
	if len(rec.StreamB64) > 0 && string(rec.StreamB64) != "null" {
		var s string
		if err := json.Unmarshal(rec.StreamB64, &s); err != nil {
			return nil, fmt.Errorf("stream_b64: %w", err)
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf("stream_b64: %w", err)
		}
		return b, nil
	}
	return EncodeStreams(rec.Streams)
}
