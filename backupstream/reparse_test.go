package backupstream

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf16"
)

// nameReparse builds a symlink or mount point buffer from the field table
// of spec §8.2: substitute name then print name, each followed by a NUL
// unit; flags only for symlinks.
func nameReparse(tag uint32, subst, print string, flags uint32) []byte {
	s16 := utf16.Encode([]rune(subst))
	p16 := utf16.Encode([]rune(print))
	var data []byte
	data = binary.LittleEndian.AppendUint16(data, 0)
	data = binary.LittleEndian.AppendUint16(data, uint16(2*len(s16)))
	data = binary.LittleEndian.AppendUint16(data, uint16(2*(len(s16)+1)))
	data = binary.LittleEndian.AppendUint16(data, uint16(2*len(p16)))
	if tag == ReparseTagSymlink {
		data = binary.LittleEndian.AppendUint32(data, flags)
	}
	data = append(data, utf16LE(append(s16, 0))...)
	data = append(data, utf16LE(append(p16, 0))...)
	return reparseHeader(tag, len(data), data)
}

func reparseHeader(tag uint32, dataLen int, data []byte) []byte {
	b := binary.LittleEndian.AppendUint32(nil, tag)
	b = binary.LittleEndian.AppendUint16(b, uint16(dataLen))
	b = binary.LittleEndian.AppendUint16(b, 0)
	return append(b, data...)
}

func lxReparse(version uint32, target string) []byte {
	data := binary.LittleEndian.AppendUint32(nil, version)
	data = append(data, target...)
	return reparseHeader(ReparseTagLxSymlink, len(data), data)
}

// goldenReparse returns the reparse streams (id 8) of sample records 8–10.
func goldenReparse(t *testing.T, file string) []goldenStream {
	var out []goldenStream
	for _, rec := range loadRecords(t, file)[8:11] {
		for _, s := range rec.Streams {
			if s.ID == uint32(StreamReparseData) {
				out = append(out, s)
			}
		}
	}
	if len(out) != 3 {
		t.Fatalf("%s: %d reparse streams in records 8-10, want 3", file, len(out))
	}
	return out
}

// TestEncodeReparsePoint checks the encoder against the oracle bytes of
// sample records 8–10 and against the spec's table for every prefix rule.
func TestEncodeReparsePoint(t *testing.T) {
	golden := goldenReparse(t, "sample.dump.jsonl")
	sym, mnt := ReparseTagSymlink, ReparseTagMountPoint
	tests := []struct {
		name string
		rp   ReparsePoint
		want []byte
		size int // 0: not checked
	}{
		{"record 8: relative hello.txt", ReparsePoint{Target: "hello.txt"}, mustB64(t, golden[0].DataB64), 60},
		{"record 8 by the table", ReparsePoint{Target: "hello.txt"}, nameReparse(sym, "hello.txt", "hello.txt", 1), 60},
		{"record 9: C:\\Windows\\System32\\cmd.exe", ReparsePoint{Target: `C:\Windows\System32\cmd.exe`}, mustB64(t, golden[1].DataB64), 140},
		{"record 9 by the table", ReparsePoint{Target: `C:\Windows\System32\cmd.exe`}, nameReparse(sym, `\??\C:\Windows\System32\cmd.exe`, `C:\Windows\System32\cmd.exe`, 0), 140},
		{"record 10: junction C:\\ProgramData", ReparsePoint{Target: `C:\ProgramData`, IsMountPoint: true}, mustB64(t, golden[2].DataB64), 84},
		{"record 10 by the table", ReparsePoint{Target: `C:\ProgramData`, IsMountPoint: true}, nameReparse(mnt, `\??\C:\ProgramData`, `C:\ProgramData`, 0), 84},
		{"\\\\?\\ prefix", ReparsePoint{Target: `\\?\C:\x`}, nameReparse(sym, `\??\C:\x`, `\\?\C:\x`, 0), 0},
		{"\\\\?\\UNC prefix", ReparsePoint{Target: `\\?\UNC\srv\share`}, nameReparse(sym, `\??\UNC\srv\share`, `\\?\UNC\srv\share`, 0), 0},
		{"\\\\server\\share", ReparsePoint{Target: `\\server\share\dir`}, nameReparse(sym, `\??\UNC\server\share\dir`, `\\server\share\dir`, 0), 0},
		{"junction to \\\\server\\share", ReparsePoint{Target: `\\server\share`, IsMountPoint: true}, nameReparse(mnt, `\??\UNC\server\share`, `\\server\share`, 0), 0},
		{"rooted, no drive: relative", ReparsePoint{Target: `\rooted\path`}, nameReparse(sym, `\rooted\path`, `\rooted\path`, 1), 0},
		{"drive-relative c:rel", ReparsePoint{Target: `c:rel`}, nameReparse(sym, `\??\c:rel`, `c:rel`, 0), 0},
		{"digit is no drive", ReparsePoint{Target: `1:x`}, nameReparse(sym, `1:x`, `1:x`, 1), 0},
		{"dot-dot", ReparsePoint{Target: `..\up`}, nameReparse(sym, `..\up`, `..\up`, 1), 0},
		{"empty target", ReparsePoint{}, nameReparse(sym, "", "", 1), 24},
		{"relative junction", ReparsePoint{Target: "foo", IsMountPoint: true}, nameReparse(mnt, "foo", "foo", 0), 0},
		{"non-ASCII", ReparsePoint{Target: `C:\Ünï\😀`}, nameReparse(sym, `\??\C:\Ünï\😀`, `C:\Ünï\😀`, 0), 0},
		{"LX symlink", ReparsePoint{Target: "/usr/bin/foo", IsLxSymlink: true}, mustHex(t, "1d0000a0 1000 0000 02000000 2f7573722f62696e2f666f6f"), 24},
		{"LX symlink, empty", ReparsePoint{IsLxSymlink: true}, lxReparse(2, ""), 12},
		{"LX wins over mount point", ReparsePoint{Target: "x", IsLxSymlink: true, IsMountPoint: true}, lxReparse(2, "x"), 13},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := EncodeReparsePoint(&tc.rp)
			if !bytes.Equal(got, tc.want) {
				t.Errorf("EncodeReparsePoint:\ngot  %x\nwant %x", got, tc.want)
			}
			if tc.size != 0 && len(got) != tc.size {
				t.Errorf("%d bytes, want %d", len(got), tc.size)
			}
			if dl := int(binary.LittleEndian.Uint16(got[4:])); dl != len(got)-8 {
				t.Errorf("ReparseDataLength %d, want %d", dl, len(got)-8)
			}
			if tag, _ := ReparseTag(got); tag != tc.rp.Tag() {
				t.Errorf("tag %#x, Tag() %#x", tag, tc.rp.Tag())
			}
			back, err := DecodeReparsePoint(got)
			if err != nil || *back != tc.rp && !(tc.rp.IsLxSymlink && back.IsLxSymlink && back.Target == tc.rp.Target) {
				t.Errorf("decoded back: %+v, %v", back, err)
			}
		})
	}
	if EncodeReparsePoint(nil) != nil {
		t.Error("EncodeReparsePoint(nil) != nil")
	}
}

// TestDecodeReparsePointGolden decodes the oracle's reparse streams.
func TestDecodeReparsePointGolden(t *testing.T) {
	for _, file := range []string{"sample.dump.jsonl", "sample.rebuilt.dump.jsonl"} {
		for i, s := range goldenReparse(t, file) {
			t.Run(fmt.Sprintf("%s/%d", file, i+8), func(t *testing.T) {
				b := mustB64(t, s.DataB64)
				rp, err := DecodeReparsePoint(b)
				if err != nil {
					t.Fatal(err)
				}
				want := ReparsePoint{Target: s.Reparse.Target, IsMountPoint: s.Reparse.IsMountPoint, IsLxSymlink: s.Reparse.IsLxSymlink}
				if *rp != want {
					t.Errorf("got %+v, want %+v", *rp, want)
				}
				tag, err := ReparseTag(b)
				if err != nil || fmt.Sprintf("0x%08X", tag) != s.Reparse.Tag || tag != rp.Tag() {
					t.Errorf("tag %#x (%v), Tag() %#x, want %s", tag, err, rp.Tag(), s.Reparse.Tag)
				}
				if !bytes.Equal(EncodeReparsePoint(rp), b) {
					t.Errorf("re-encoding differs from the oracle")
				}
			})
		}
	}
}

// TestDecodeReparsePoint checks the decoder's rules: the print name wins,
// the data length field is ignored, offsets use go-winio's uint16
// arithmetic, LX targets stop at NUL, other tags are unsupported.
func TestDecodeReparsePoint(t *testing.T) {
	unsupported := mustB64(t, loadRecords(t, "errors/reparse-unsupported-tag.jsonl")[1].Streams[0].DataB64)
	// printFirst has the print name before the substitute name.
	printFirst := func() []byte {
		p16 := utf16LE(utf16.Encode([]rune(`C:\P`)))
		s16 := utf16LE(utf16.Encode([]rune(`\??\C:\S`)))
		var d []byte
		d = binary.LittleEndian.AppendUint16(d, uint16(len(p16)))
		d = binary.LittleEndian.AppendUint16(d, uint16(len(s16)))
		d = binary.LittleEndian.AppendUint16(d, 0)
		d = binary.LittleEndian.AppendUint16(d, uint16(len(p16)))
		d = append(d, 0, 0, 0, 0)
		d = append(append(d, p16...), s16...)
		return reparseHeader(ReparseTagSymlink, len(d), d)
	}()
	// wrapped has PrintNameOffset 0xFFFF: 8+0xFFFF+4 wraps to 11 in
	// go-winio's uint16 arithmetic, so the print name is data[11:13].
	wrapped := reparseHeader(ReparseTagSymlink, 0, mustHex(t, "0000 0000 ffff 0200 000000 4100"))
	// oddLen has a print name length of 5 bytes: 2 units are decoded.
	oddLen := reparseHeader(ReparseTagMountPoint, 0, mustHex(t, "0000 0000 0000 0500 4100 4200 4300"))
	tests := []struct {
		name    string
		in      []byte
		want    *ReparsePoint
		wantErr error
	}{
		{"print name wins (symlink)", nameReparse(ReparseTagSymlink, `\??\C:\Other`, `C:\Shown\Target`, 0), &ReparsePoint{Target: `C:\Shown\Target`}, nil},
		{"print name wins (mount point)", nameReparse(ReparseTagMountPoint, `\??\Volume{x}\`, `D:\`, 0), &ReparsePoint{Target: `D:\`, IsMountPoint: true}, nil},
		{"print name first in the buffer", printFirst, &ReparsePoint{Target: `C:\P`}, nil},
		{"empty print name", nameReparse(ReparseTagSymlink, `\??\C:\x`, "", 0), &ReparsePoint{}, nil},
		{"flags ignored", nameReparse(ReparseTagSymlink, "a", "a", 0xffffffff), &ReparsePoint{Target: "a"}, nil},
		{"data length ignored", func() []byte { b := nameReparse(ReparseTagSymlink, "a", "a", 1); b[4], b[5] = 0, 0; return b }(), &ReparsePoint{Target: "a"}, nil},
		{"no NUL after the print name", nameReparse(ReparseTagSymlink, "a", "b", 1)[:8+12+4+2], &ReparsePoint{Target: "b"}, nil},
		{"NUL inside the print name kept", nameReparse(ReparseTagSymlink, "a\x00b", "a\x00b", 1), &ReparsePoint{Target: "a\x00b"}, nil},
		{"unpaired surrogate as U+FFFD", reparseHeader(ReparseTagMountPoint, 0, mustHex(t, "0000 0000 0000 0400 00d8 4100")), &ReparsePoint{Target: "\uFFFDA", IsMountPoint: true}, nil},
		{"uint16 offset wrap as go-winio", wrapped, &ReparsePoint{Target: "A"}, nil},
		{"odd print name length", oddLen, &ReparsePoint{Target: "AB", IsMountPoint: true}, nil},
		{"LX symlink", lxReparse(2, "../a b"), &ReparsePoint{Target: "../a b", IsLxSymlink: true}, nil},
		{"LX version not checked", lxReparse(7, "t"), &ReparsePoint{Target: "t", IsLxSymlink: true}, nil},
		{"LX target cut at NUL", lxReparse(2, "a\x00b"), &ReparsePoint{Target: "a", IsLxSymlink: true}, nil},
		{"LX empty target", lxReparse(2, ""), &ReparsePoint{IsLxSymlink: true}, nil},
		{"LX too short", reparseHeader(ReparseTagLxSymlink, 3, []byte{2, 0, 0}), nil, ErrLxSymlinkTooShort},
		{"LX header only", reparseHeader(ReparseTagLxSymlink, 0, nil), nil, ErrLxSymlinkTooShort},
		{"oracle reparse-truncated", mustB64(t, loadRecords(t, "errors/reparse-truncated.jsonl")[1].Streams[0].DataB64), nil, ErrTruncatedReparse},
		{"symlink data shorter than 8", reparseHeader(ReparseTagSymlink, 0, make([]byte, 7)), nil, ErrTruncatedReparse},
		{"symlink without flags", reparseHeader(ReparseTagSymlink, 0, make([]byte, 8)), nil, ErrTruncatedReparse},
		{"mount point, empty names, 8 data bytes", reparseHeader(ReparseTagMountPoint, 0, make([]byte, 8)), &ReparsePoint{IsMountPoint: true}, nil},
		{"print name past the end", reparseHeader(ReparseTagMountPoint, 0, mustHex(t, "0000 0000 0000 0400 4100")), nil, ErrTruncatedReparse},
		{"print name end wraps", reparseHeader(ReparseTagSymlink, 0, mustHex(t, "0000 0000 f0ff 2000 00000000")), nil, ErrTruncatedReparse},
		{"max offset and length", reparseHeader(ReparseTagMountPoint, 0, mustHex(t, "ffff ffff ffff ffff")), nil, ErrTruncatedReparse},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeReparsePoint(tc.in)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || got != nil {
					t.Fatalf("DecodeReparsePoint = %+v, %v; want %v", got, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if *got != *tc.want {
				t.Errorf("got %+v, want %+v", *got, *tc.want)
			}
		})
	}

	t.Run("unsupported tag", func(t *testing.T) {
		for _, in := range [][]byte{unsupported, reparseHeader(0x80000017, 100, nil), reparseHeader(0x80000017, 0, make([]byte, 40))} {
			rp, err := DecodeReparsePoint(in)
			var ue *UnsupportedReparsePointError
			if !errors.As(err, &ue) || rp != nil {
				t.Fatalf("DecodeReparsePoint = %+v, %v; want *UnsupportedReparsePointError", rp, err)
			}
			if ue.Tag != 0x80000017 || err.Error() != "unsupported reparse point 80000017" {
				t.Errorf("tag %#x, text %q", ue.Tag, err.Error())
			}
		}
		for tag, text := range map[uint32]string{0: "unsupported reparse point 0", 0xA0000019: "unsupported reparse point a0000019"} {
			_, err := DecodeReparsePointData(tag, nil)
			if err == nil || err.Error() != text {
				t.Errorf("tag %#x: %v, want %q", tag, err, text)
			}
		}
	})
}

// TestDecodeReparsePointTruncated decodes every prefix of valid buffers:
// no panic, ErrTruncatedReparse (or ErrLxSymlinkTooShort) until the print
// name is complete, the full target from there on.
func TestDecodeReparsePointTruncated(t *testing.T) {
	bufs := map[string][]byte{}
	for i, s := range goldenReparse(t, "sample.dump.jsonl") {
		bufs[fmt.Sprintf("record %d", i+8)] = mustB64(t, s.DataB64)
	}
	bufs["unc symlink"] = EncodeReparsePoint(&ReparsePoint{Target: `\\srv\share\😀`})
	bufs["lx"] = EncodeReparsePoint(&ReparsePoint{Target: "/a/b", IsLxSymlink: true})
	for name, full := range bufs {
		want, err := DecodeReparsePoint(full)
		if err != nil {
			t.Fatal(err)
		}
		// printEnd: where the print name ends (LX: where the version ends).
		printEnd := 12
		if !want.IsLxSymlink {
			head := 16
			if !want.IsMountPoint {
				head = 20
			}
			printEnd = head + int(binary.LittleEndian.Uint16(full[12:])) + int(binary.LittleEndian.Uint16(full[14:]))
		}
		for n := 0; n < len(full); n++ {
			got, err := DecodeReparsePoint(full[:n])
			switch {
			case n < 8 || n < printEnd && !want.IsLxSymlink:
				if !errors.Is(err, ErrTruncatedReparse) {
					t.Errorf("%s[:%d]: %+v, %v; want ErrTruncatedReparse", name, n, got, err)
				}
			case n < printEnd:
				if err != ErrLxSymlinkTooShort {
					t.Errorf("%s[:%d]: %+v, %v; want ErrLxSymlinkTooShort", name, n, got, err)
				}
			case want.IsLxSymlink:
				if err != nil || !strings.HasPrefix(want.Target, got.Target) || len(got.Target) != n-12 {
					t.Errorf("%s[:%d]: %+v, %v; want a prefix of %q", name, n, got, err, want.Target)
				}
			default:
				if err != nil || *got != *want {
					t.Errorf("%s[:%d]: %+v, %v; want %+v", name, n, got, err, want)
				}
			}
		}
	}
	for n := 0; n < 4; n++ {
		if _, err := ReparseTag(make([]byte, n)); !errors.Is(err, ErrTruncatedReparse) {
			t.Errorf("ReparseTag of %d bytes: %v", n, err)
		}
	}
}

// TestNTTarget checks the substitute-name rules of spec §8.2.
func TestNTTarget(t *testing.T) {
	tests := []struct {
		target, nt string
		relative   bool
	}{
		{`C:\x`, `\??\C:\x`, false},
		{`z:`, `\??\z:`, false},
		{`\\?\C:\x`, `\??\C:\x`, false},
		{`\\?\`, `\??\`, false},
		{`\\server\share`, `\??\UNC\server\share`, false},
		{`\\`, `\??\UNC\`, false},
		{`\x`, `\x`, true},
		{`x`, `x`, true},
		{``, ``, true},
		{`C`, `C`, true},
		{`é:`, `é:`, true},
		{`/unix/path`, `/unix/path`, true},
	}
	for _, tc := range tests {
		nt, rel := NTTarget(tc.target)
		if nt != tc.nt || rel != tc.relative {
			t.Errorf("NTTarget(%q) = %q, %v; want %q, %v", tc.target, nt, rel, tc.nt, tc.relative)
		}
	}
}

// TestReparseTargetFits checks the length limit of the 16-bit fields and
// that every target within it round trips.
func TestReparseTargetFits(t *testing.T) {
	tests := []struct {
		target string
		fits   bool
	}{
		{strings.Repeat("a", MaxReparseTargetUnits), true},
		{strings.Repeat("a", MaxReparseTargetUnits+1), false},
		{`\\` + strings.Repeat("a", MaxReparseTargetUnits-5), true}, // \??\UNC\ is 6 units longer than \\
		{`\\` + strings.Repeat("a", MaxReparseTargetUnits-4), false},
		{strings.Repeat("😀", MaxReparseTargetUnits/2), true},
		{strings.Repeat("😀", MaxReparseTargetUnits/2+1), false},
	}
	for i, tc := range tests {
		if got := ReparseTargetFits(tc.target); got != tc.fits {
			t.Errorf("%d: ReparseTargetFits = %v, want %v", i, got, tc.fits)
		}
		if !tc.fits {
			continue
		}
		for _, mp := range []bool{false, true} {
			rp := &ReparsePoint{Target: tc.target, IsMountPoint: mp}
			back, err := DecodeReparsePoint(EncodeReparsePoint(rp))
			if err != nil || *back != *rp {
				t.Errorf("%d: round trip of a fitting target failed: %v", i, err)
			}
		}
	}
}
