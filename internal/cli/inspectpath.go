package cli

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/winlayer/winlayer/backupstream"
	"github.com/winlayer/winlayer/layer"
)

// layerRoots are the top-level directories of a layer tar.
var layerRoots = []string{"Files", "Hives", "UtilityVM"}

// layerPath turns a user's path into a layer path. A Windows path — one
// with a drive letter or a backslash — names a file of the container's
// C: drive, which is the layer's Files/: "C:\Windows\x" and "Windows\x"
// are Files/Windows/x, and "C:\Files\x" is Files/Files/x. A path with
// forward slashes only is a tar path when it starts with a layer root
// ("Files/x", "Hives/System_Delta", "UtilityVM/Files/x"), else a path
// under Files/ ("Windows/x"). alt is the tar reading of a Windows path
// that starts with a root ("Files\x" read as Files/x), for a hint when
// name is not found; else "".
func layerPath(p string) (name, alt string) {
	windows := strings.Contains(p, `\`)
	if len(p) >= 2 && p[1] == ':' && isASCIILetter(p[0]) {
		windows = true
		p = p[2:]
	}
	p = strings.Trim(strings.ReplaceAll(p, `\`, "/"), "/")
	root := hasLayerRoot(p)
	switch {
	case windows && p == "":
		return "Files", ""
	case windows && root:
		return "Files/" + p, p
	case windows:
		return "Files/" + p, ""
	case root:
		return p, ""
	case p == "":
		return "Files", ""
	}
	return "Files/" + p, ""
}

func isASCIILetter(c byte) bool { return 'a' <= c|0x20 && c|0x20 <= 'z' }

// hasLayerRoot reports whether the slash-separated path p is a layer root
// or lies beneath one (compared as NTFS does, ignoring case).
func hasLayerRoot(p string) bool {
	first, _, _ := strings.Cut(p, "/")
	for _, r := range layerRoots {
		if strings.EqualFold(first, r) {
			return true
		}
	}
	return false
}

// findEntry returns the entry called name: the exact name, else the first
// that differs only in case (Windows names ignore case); nil if none.
func findEntry(entries []*layer.Entry, name string) *layer.Entry {
	var fold *layer.Entry
	for _, x := range entries {
		if x.Name == name {
			return x
		}
		if fold == nil && strings.EqualFold(x.Name, name) {
			fold = x
		}
	}
	return fold
}

// linkedEntry is the target of a hard link with the security descriptors
// of the layer that holds it.
type linkedEntry struct {
	entry *layer.Entry
	sds   [][]byte
}

// linkTarget finds the entry a hard link of layer id points to: in the
// layer itself, else in its parents, nearest first (a link may point into
// a parent). It returns the parent's id when the target is there ("" for
// the layer itself), and a nil entry when no layer of the chain holds it.
func linkTarget(ctx context.Context, s *layer.Store, id, target string, entries []*layer.Entry, sds [][]byte) (*linkedEntry, string, error) {
	if t := followLinks(entries, target); t != nil {
		return &linkedEntry{t, sds}, "", nil
	}
	chain, err := layer.ReadChain(s.Dir(id))
	if err != nil {
		return nil, "", fmt.Errorf("inspect %s: hard link target %s: %w", id, target, err)
	}
	for _, p := range chain {
		pid := p
		if filepath.Dir(p) == filepath.Clean(s.Home()) {
			pid = filepath.Base(p)
		}
		pentries, psds, err := s.Entries(ctx, pid)
		if err != nil {
			continue // a parent that is gone: the target is reported missing
		}
		if t := followLinks(pentries, target); t != nil {
			return &linkedEntry{t, psds}, pid, nil
		}
	}
	return nil, "", nil
}

// followLinks returns the entry target names in entries, following hard
// links to hard links (at most a few hops); nil if none.
func followLinks(entries []*layer.Entry, target string) *layer.Entry {
	for range 8 {
		t := findEntry(entries, target)
		if t == nil || t.Kind != layer.KindLink {
			return t
		}
		target = t.Link
	}
	return nil
}

// linkNote is what the text form says after a hard link's target.
func linkNote(v entryView) string {
	switch {
	case v.LinkMissing:
		return " (not found in this layer or its parents; no metadata to show)"
	case v.LinkLayer != "":
		return " in parent layer " + v.LinkLayer + " (the metadata below is the target's)"
	}
	return " (the metadata below is the target's)"
}

// formatFiletime formats a FILETIME for inspect; a zero FILETIME (the
// time was not set) gives "" (omitted from JSON, "not set" as text).
func formatFiletime(ft backupstream.Filetime) string {
	if ft == 0 {
		return ""
	}
	return ft.Time().Format(time.RFC3339Nano)
}

// orNotSet is s, or "not set" for an empty time.
func orNotSet(s string) string {
	if s == "" {
		return "not set"
	}
	return s
}
