package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	units "github.com/docker/go-units"
	"github.com/spf13/cobra"

	"github.com/winlayer/winlayer/backupstream"
	"github.com/winlayer/winlayer/layer"
	"github.com/winlayer/winlayer/sddl"
)

func newInspectCmd(o *options) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "inspect ID [PATH]",
		Short: "Show a layer, or the Windows metadata of one path in it",
		Long: `inspect without PATH summarises layer ID: size, DiffID, parents and how many
files, directories, links, reparse points and whiteouts it holds.

With PATH it shows that entry as Windows sees it: attributes, the four times,
the security descriptor as SDDL (owner first), alternate data streams, EAs,
the reparse target of a symlink or junction, the target of a hard link.
PATH is a layer path as in the tar ("Files/Windows/win.ini",
"Hives/System_Delta"), or a path under Files/: a relative one
("Windows/win.ini") or a Windows one, with backslashes or a drive letter
("C:\Windows\win.ini" is Files/Windows/win.ini, so "C:\Files\x" is
Files/Files/x). A hard link shows its target's metadata; a time that is
zero in the layer shows as "not set".`,
		Example: `  winlayer inspect base
  winlayer inspect base 'C:\Windows\System32\cmd.exe'
  winlayer inspect --json base Files/hello.txt`,
		Args: rangeArgs(1, "ID", "[PATH]"),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := o.openStoreReadOnly()
			if err != nil {
				return err
			}
			if len(args) == 1 {
				return inspectLayer(cmd.Context(), o.stdout, s, args[0], asJSON)
			}
			return inspectPath(cmd.Context(), o.stdout, s, args[0], args[1], asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func inspectLayer(ctx context.Context, w io.Writer, s *layer.Store, id string, asJSON bool) error {
	m, err := s.Meta(ctx, id)
	if err != nil {
		return err
	}
	chain, err := layer.ReadChain(s.Dir(id))
	if err != nil {
		return err
	}
	entries, _, err := s.Entries(ctx, id)
	if err != nil {
		return err
	}
	kinds := map[layer.Kind]int{}
	for _, e := range entries {
		kinds[e.Kind]++
	}
	if asJSON {
		return writeJSON(w, map[string]any{"id": id, "dir": s.Dir(id), "meta": m, "parents": chain, "kinds": kinds})
	}
	fmt.Fprintf(w, "Layer:    %s\nDir:      %s\nSize:     %s (%d bytes in regular files)\n", id, s.Dir(id), units.HumanSize(float64(m.Size)), m.Size)
	if m.DiffID != "" {
		fmt.Fprintf(w, "DiffID:   %s\nTar:      %d bytes\n", m.DiffID, m.TarSize)
	}
	fmt.Fprintf(w, "Base:     %v\nCreated:  %s\n", m.Base, m.Created.Format(time.RFC3339))
	for i, p := range chain {
		fmt.Fprintf(w, "Parent %d: %s\n", i+1, p)
	}
	fmt.Fprintf(w, "Entries:  %d (", m.Entries)
	first := true
	for _, k := range []layer.Kind{layer.KindDir, layer.KindFile, layer.KindLink, layer.KindReparse, layer.KindTombstone, layer.KindOpaque} {
		if kinds[k] > 0 {
			if !first {
				fmt.Fprint(w, ", ")
			}
			first = false
			fmt.Fprintf(w, "%d %s", kinds[k], k)
		}
	}
	fmt.Fprintln(w, ")")
	return nil
}

type entryView struct {
	Name       string   `json:"name"`
	Kind       string   `json:"kind"`
	Attributes []string `json:"attributes"`
	AttrValue  uint32   `json:"file_attributes"`
	Created    string   `json:"creation_time,omitempty"`
	Accessed   string   `json:"last_access_time,omitempty"`
	Written    string   `json:"last_write_time,omitempty"`
	Changed    string   `json:"change_time,omitempty"`
	Size       int64    `json:"size"`
	Owner      string   `json:"owner,omitempty"`
	SDDL       string   `json:"sddl,omitempty"`
	ADS        []string `json:"alternate_data_streams,omitempty"`
	EAs        []string `json:"extended_attributes,omitempty"`
	Reparse    string   `json:"reparse,omitempty"`
	LinkTarget string   `json:"hard_link_to,omitempty"`
	// LinkLayer is the parent layer that holds the hard link's target
	// (empty: this layer); LinkMissing is set when no layer of the chain
	// holds it. The metadata shown for a hard link is its target's.
	LinkLayer   string `json:"hard_link_layer,omitempty"`
	LinkMissing bool   `json:"hard_link_target_missing,omitempty"`
	Sparse      int    `json:"sparse_ranges,omitempty"`
}

func inspectPath(ctx context.Context, w io.Writer, s *layer.Store, id, p string, asJSON bool) error {
	entries, sds, err := s.Entries(ctx, id)
	if err != nil {
		return err
	}
	name, alt := layerPath(p)
	e := findEntry(entries, name)
	if e == nil {
		if alt != "" && findEntry(entries, alt) != nil {
			return fmt.Errorf("inspect %s: no entry %q in the layer: %s is a Windows path, and Windows paths are under Files/; the layer path %s exists (write it with forward slashes and no drive letter)", id, name, p, alt)
		}
		return fmt.Errorf("inspect %s: no entry %q in the layer (it may be in a parent layer)", id, name)
	}
	v := entryView{Name: e.Name, Kind: string(e.Kind), Size: e.Size, LinkTarget: e.Link, Sparse: len(e.Sparse)}
	if e.Kind == layer.KindLink {
		// A hard link has no metadata of its own: it is the target's.
		t, inLayer, err := linkTarget(ctx, s, id, e.Link, entries, sds)
		if err != nil {
			return err
		}
		v.LinkLayer = inLayer
		if t != nil {
			e, sds = t.entry, t.sds
			v.Size, v.Sparse = e.Size, len(e.Sparse)
		} else {
			v.LinkMissing = true
		}
	}
	if fi := e.BasicInfo(); fi != nil {
		v.AttrValue = fi.FileAttributes
		v.Attributes = backupstream.AttributeNames(fi.FileAttributes)
		v.Created = formatFiletime(fi.CreationTime)
		v.Accessed = formatFiletime(fi.LastAccessTime)
		v.Written = formatFiletime(fi.LastWriteTime)
		v.Changed = formatFiletime(fi.ChangeTime)
	}
	if e.SD > 0 {
		if str, err := sddl.Format(sds[e.SD-1]); err == nil {
			v.SDDL = str
			if strings.HasPrefix(str, "O:") {
				v.Owner = strings.SplitN(str[2:], "G:", 2)[0]
				v.Owner = strings.SplitN(v.Owner, "D:", 2)[0]
			}
		} else {
			v.SDDL = fmt.Sprintf("(%d bytes, not decodable: %v)", len(sds[e.SD-1]), err)
		}
	}
	for _, a := range e.ADS {
		v.ADS = append(v.ADS, fmt.Sprintf("%s (%d bytes)", a.Name, a.Size))
	}
	if eas, err := backupstream.DecodeEAs(e.EA); err == nil {
		for _, ea := range eas {
			v.EAs = append(v.EAs, ea.String())
		}
	}
	if e.Reparse != nil {
		if rp, err := backupstream.DecodeReparsePoint(e.Reparse); err == nil {
			kind := "symlink"
			if rp.IsMountPoint {
				kind = "junction"
			} else if rp.IsLxSymlink {
				kind = "LX symlink"
			}
			v.Reparse = fmt.Sprintf("%s -> %s", kind, rp.Target)
		} else {
			v.Reparse = err.Error()
		}
	}
	if asJSON {
		return writeJSON(w, v)
	}
	fmt.Fprintf(w, "Name:        %s\nKind:        %s\n", v.Name, v.Kind)
	if v.Kind == string(layer.KindLink) {
		fmt.Fprintf(w, "Hard link:   to %s%s\n", v.LinkTarget, linkNote(v))
	}
	if v.Attributes != nil {
		attrs := strings.Join(v.Attributes, " ")
		if attrs == "" {
			attrs = "none"
		}
		fmt.Fprintf(w, "Attributes:  %s (0x%x)\nSize:        %d\nCreated:     %s\nAccessed:    %s\nWritten:     %s\nChanged:     %s\n",
			attrs, v.AttrValue, v.Size, orNotSet(v.Created), orNotSet(v.Accessed), orNotSet(v.Written), orNotSet(v.Changed))
	}
	for _, kv := range [][2]string{{"Owner", v.Owner}, {"SDDL", v.SDDL}, {"Reparse", v.Reparse}} {
		if kv[1] != "" {
			fmt.Fprintf(w, "%-12s %s\n", kv[0]+":", kv[1])
		}
	}
	for _, a := range v.ADS {
		fmt.Fprintf(w, "Stream:      %s\n", a)
	}
	for _, a := range v.EAs {
		fmt.Fprintf(w, "EA:          %s\n", a)
	}
	if v.Sparse > 0 {
		fmt.Fprintf(w, "Sparse:      %d allocated ranges\n", v.Sparse)
	}
	return nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
