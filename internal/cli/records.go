package cli

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/winlayer/winlayer/internal/decompress"
	"github.com/winlayer/winlayer/internal/records"
	"github.com/winlayer/winlayer/wintar"
)

func newRecordsCmd(o *options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "records",
		Short: "Show what a layer tar really contains, as JSON records, and build tars from records",
		Long: `The records verbs translate between a Windows layer tar and JSON lines that
describe it the way Windows sees it: one record per call the import loop makes
on a layer writer (add with the file's Windows name, FILE_BASIC_INFO and Win32
backup stream; remove for a whiteout; link for a hard link), then an end
record with the total size. The record shape is documented in
testdata/README.md; it is the shape of the golden vectors made by go-winio.`,
		Example: `  winlayer records dump < layer.tar | jq -c '{op, win_name, size}'
  winlayer records dump < layer.tar | winlayer records build | cmp - layer.tar   # exporter-made tars are a fixpoint`,
	}
	cmd.AddCommand(newRecordsDumpCmd(o), newRecordsBuildCmd(o))
	return cmd
}

func newRecordsDumpCmd(o *options) *cobra.Command {
	var opts records.DumpOptions
	cmd := &cobra.Command{
		Use:   "dump [--hex] < layer.tar > records.jsonl",
		Short: "Decode a layer tar into import records",
		Long: `dump reads a Windows layer tar (uncompressed, gzip or zstd) on standard
input, runs the same import loop as hcsshim and moby, and writes one JSON record per
Add/AddLink/Remove call to standard output, with each file's backup stream
split into its parts (security descriptor with its SDDL, EAs, reparse target,
data, alternate data streams).

By default dump mimics go-winio even on unsafe input (names with "..",
absolute names, device entries are passed through, as Windows would receive
them); --strict applies the layer store's checks and fails on the first
such entry.

On bad input it writes an error record naming the entry, reports the error
on standard error and exits with status 1. The error record keeps go-winio's
wording (to compare with go-winio's own dumps); standard error says it in
words.`,
		Example: `  winlayer records dump < layer.tar | jq -c '{op, win_name, size}'
  winlayer records dump --hex < layer.tar > layer.jsonl`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if isTerminal(o.stdin) {
				return usageError{errors.New("records dump: standard input is a terminal: give the layer tar with < layer.tar")}
			}
			in, _, done, err := decompress.Reader(bufio.NewReaderSize(o.stdin, 1<<20))
			if err != nil {
				return fmt.Errorf("records dump: %w", err)
			}
			defer done()
			out := bufio.NewWriterSize(o.stdout, 1<<20)
			err = records.Dump(cmd.Context(), in, out, opts)
			if err == nil {
				// Read to the end of the input: a compressed stream is
				// checked (CRC, size, a missing trailer) only there.
				if _, derr := io.Copy(io.Discard, in); derr != nil {
					err = fmt.Errorf("records dump: after the tar: %w", derr)
				}
			}
			if ferr := out.Flush(); err == nil {
				err = ferr
			}
			if err != nil {
				var ee *wintar.EntryError
				if errors.As(err, &ee) {
					return fmt.Errorf("records dump: %w", err)
				}
				return err
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&opts.Strict, "strict", false, "refuse what a layer store refuses (.., absolute names, devices, orphan streams) instead of mimicking go-winio")
	cmd.Flags().BoolVar(&opts.Hex, "hex", false, "add hexadecimal copies of every stream and payload (stream_hex, data_hex)")
	return cmd
}

func newRecordsBuildCmd(o *options) *cobra.Command {
	var opts records.BuildOptions
	cmd := &cobra.Command{
		Use:   "build [--no-seek] < records.jsonl > layer.tar",
		Short: "Build a layer tar from import records",
		Long: `build reads JSON records on standard input and writes the layer tar they
describe, exactly as hcsshim's exporter (go-winio WriteTarFileFromBackupStream)
would write it: add records become files with their metadata and alternate
data streams, remove records whiteouts, link records hard links.

By default each stream is read with two passes (a seekable reader, as for
files under Files\ on Windows); --no-seek uses the single pass that Windows
uses for base layers, where EAs after the data are lost. A record may also
carry "seekable": false.

On failure build prints an error record to standard error and exits 1;
what was written to standard output is then not a usable tar.`,
		Example: `  winlayer records dump < layer.tar | winlayer records build > same.tar
  jq -c 'select(.op != "remove")' layer.jsonl | winlayer records build > no-whiteouts.tar`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if isTerminal(o.stdin) {
				return usageError{errors.New("records build: standard input is a terminal: give the records with < records.jsonl")}
			}
			out := bufio.NewWriterSize(o.stdout, 1<<20)
			err := records.Build(o.stdin, out, opts)
			if ferr := out.Flush(); err == nil {
				err = ferr
			}
			var be *records.BuildError
			if errors.As(err, &be) {
				b, _ := json.Marshal(be.ErrorRecord())
				fmt.Fprintf(o.stderr, "%s\n", b)
				fmt.Fprintf(o.stderr, "winlayer: records build: %v\n", be)
				return errSilent
			}
			return err
		},
	}
	cmd.Flags().BoolVar(&opts.NoSeek, "no-seek", false, "read every stream in one pass (base-layer export path)")
	return cmd
}
