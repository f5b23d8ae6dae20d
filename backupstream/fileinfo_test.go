package backupstream

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"
)

// The oracle for spec §9's conversions: exact integers reduced to int64
// two's complement, as Go's wrapping arithmetic gives them.
var two64 = new(big.Int).Lsh(big.NewInt(1), 64)

func wrap64(x *big.Int) int64 {
	m := new(big.Int).Mod(x, two64) // 0 <= m < 2^64
	return int64(m.Uint64())
}

func bigNanoseconds(ft uint64) int64 {
	x := big.NewInt(wrap64(new(big.Int).SetUint64(ft))) // FILETIMEs >= 2^63 become negative first
	x.Sub(x, big.NewInt(epochDelta))
	x = big.NewInt(wrap64(x))
	return wrap64(x.Mul(x, big.NewInt(100)))
}

func bigFiletime(ns int64) uint64 {
	x := new(big.Int).Quo(big.NewInt(ns), big.NewInt(100)) // truncates toward zero
	return uint64(wrap64(x.Add(x, big.NewInt(epochDelta))))
}

// TestFiletimeEdgeCases checks the edge cases spec §9 lists.
func TestFiletimeEdgeCases(t *testing.T) {
	mustTime := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	t.Run("FILETIME 0 wraps to 2185", func(t *testing.T) {
		if ns := Filetime(0).Nanoseconds(); ns != 6802270473709551616 {
			t.Errorf("Nanoseconds = %d", ns)
		}
		if tm := Filetime(0).Time(); !tm.Equal(mustTime("2185-07-21T23:34:33.709551616Z")) || tm.Location() != time.UTC {
			t.Errorf("Time = %v", tm)
		}
		if ft := NsecToFiletime(6802270473709551616); ft != 184467440737095516 {
			t.Errorf("re-import gives %d, want 184467440737095516", ft)
		}
	})
	t.Run("zero time.Time", func(t *testing.T) {
		if ft := FiletimeFromTime(time.Time{}); ft != 48491090211286549 {
			t.Errorf("FiletimeFromTime(time.Time{}) = %d, want 48491090211286549", ft)
		}
		if got := Filetime(48491090211286549).Time().Format(time.RFC3339Nano); got != "1754-08-30T22:43:41.1286549Z" {
			t.Errorf("Time = %s", got)
		}
	})
	t.Run("pre-1970", func(t *testing.T) {
		if ft := NsecToFiletime(-1_500_000_000); ft != 116444735985000000 {
			t.Errorf("-1.5 s = %d, want 116444735985000000", ft)
		}
		if ft := FiletimeFromTime(mustTime("1969-12-31T23:59:58.5Z")); ft != 116444735985000000 {
			t.Errorf("1969-12-31T23:59:58.5Z = %d", ft)
		}
	})
	t.Run("sub-100ns truncated toward zero", func(t *testing.T) {
		for ns, want := range map[int64]Filetime{
			0: epochDelta, 99: epochDelta, 100: epochDelta + 1, 199: epochDelta + 1,
			-1: epochDelta, -99: epochDelta, -100: epochDelta - 1, -199: epochDelta - 1,
			1635930900000000199: 132804045000000001, // LIBARCHIVE.creationtime=1635930900.000000199
		} {
			if ft := NsecToFiletime(ns); ft != want {
				t.Errorf("NsecToFiletime(%d) = %d, want %d", ns, ft, want)
			}
		}
	})
	t.Run("wrapping matches big-integer arithmetic", func(t *testing.T) {
		for _, ft := range []uint64{0, 1, epochDelta - 1, epochDelta, epochDelta + 1, 1 << 62, 1<<63 - 1, 1 << 63,
			1<<63 + 1, math.MaxUint64, 0x7fffffffffffffff - epochDelta, 92233720368547758 + epochDelta, 92233720368547759 + epochDelta} {
			if got, want := Filetime(ft).Nanoseconds(), bigNanoseconds(ft); got != want {
				t.Errorf("Filetime(%d).Nanoseconds() = %d, want %d", ft, got, want)
			}
		}
		for _, ns := range []int64{math.MinInt64, math.MinInt64 + 1, -epochDelta * 10, -1, 0, 1, math.MaxInt64 - 1, math.MaxInt64} {
			if got, want := NsecToFiletime(ns), bigFiletime(ns); uint64(got) != want {
				t.Errorf("NsecToFiletime(%d) = %d, want %d", ns, got, want)
			}
		}
	})
}

// TestFiletimeGolden round trips every FILETIME of the oracle dumps: the
// RFC 3339 time the record shows, and back to the same FILETIME.
func TestFiletimeGolden(t *testing.T) {
	n := 0
	for _, file := range []string{"sample.dump.jsonl", "sample.rebuilt.dump.jsonl"} {
		for i, rec := range loadRecords(t, file) {
			if rec.FileInfo == nil {
				continue
			}
			fi := rec.FileInfo
			for _, ft := range []goldenFT{fi.CreationTime, fi.LastAccessTime, fi.LastWriteTime, fi.ChangeTime} {
				n++
				got := Filetime(ft.FT).Time().Format(time.RFC3339Nano)
				if got != ft.Time {
					t.Errorf("%s record %d: FILETIME %d is %s, want %s", file, i, ft.FT, got, ft.Time)
				}
				tm, err := time.Parse(time.RFC3339Nano, ft.Time)
				if err != nil {
					t.Fatal(err)
				}
				if back := FiletimeFromTime(tm); back != Filetime(ft.FT) {
					t.Errorf("%s record %d: %s converts back to %d, want %d", file, i, ft.Time, back, ft.FT)
				}
				if back := NsecToFiletime(Filetime(ft.FT).Nanoseconds()); back != Filetime(ft.FT) {
					t.Errorf("%s record %d: Nanoseconds round trip %d, want %d", file, i, back, ft.FT)
				}
			}
		}
	}
	if n < 80 {
		t.Errorf("only %d FILETIMEs checked", n)
	}
}

// TestFileBasicInfo checks the 40-byte FILE_BASIC_INFO layout.
func TestFileBasicInfo(t *testing.T) {
	fi := &FileBasicInfo{
		CreationTime:   132804045000000001,
		LastAccessTime: 133274880005000000,
		LastWriteTime:  133274180961234567,
		ChangeTime:     0xfedcba9876543210,
		FileAttributes: 0x80000420,
	}
	want := cat(
		le64(132804045000000001), le64(133274880005000000), le64(133274180961234567),
		[]byte{0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe},
		[]byte{0x20, 0x04, 0x00, 0x80}, []byte{0, 0, 0, 0},
	)
	b, err := fi.MarshalBinary()
	if err != nil || !bytes.Equal(b, want) {
		t.Fatalf("MarshalBinary = %x, %v; want %x", b, err, want)
	}
	var back FileBasicInfo
	if err := back.UnmarshalBinary(b); err != nil || back != *fi {
		t.Errorf("UnmarshalBinary = %+v, %v", back, err)
	}
	// The padding is not checked.
	b[36], b[39] = 0xff, 0xff
	if err := back.UnmarshalBinary(b); err != nil || back != *fi {
		t.Errorf("UnmarshalBinary with padding set = %+v, %v", back, err)
	}
	for _, n := range []int{0, 8, 36, 39, 41, 80} {
		back = FileBasicInfo{FileAttributes: 7}
		err := back.UnmarshalBinary(make([]byte, n))
		if !errors.Is(err, ErrCorrupt) {
			t.Errorf("UnmarshalBinary of %d bytes: %v, want ErrCorrupt", n, err)
		}
		if back.FileAttributes != 7 {
			t.Errorf("UnmarshalBinary of %d bytes changed the value", n)
		}
	}
	if !(&FileBasicInfo{FileAttributes: AttrDirectory | AttrHidden}).IsDir() || fi.IsDir() {
		t.Error("IsDir")
	}
	if s := fi.String(); !strings.Contains(s, "ARCHIVE|REPARSE_POINT|0x80000000") || !strings.Contains(s, "2023-05-01T12:34:56.1234567Z") {
		t.Errorf("String() = %q", s)
	}
}

// TestAttributeNames checks the names against the oracle's
// attribute_names and the unknown-bit rule.
func TestAttributeNames(t *testing.T) {
	tests := []struct {
		attrs uint32
		want  []string
	}{
		{0, []string{}},
		{AttrArchive, []string{"ARCHIVE"}},
		{0x23, []string{"READONLY", "HIDDEN", "ARCHIVE"}},
		{0x410, []string{"DIRECTORY", "REPARSE_POINT"}},
		{0x8, []string{"0x8"}},
		{0x80000009, []string{"READONLY", "0x80000008"}},
		{0x200000, []string{"0x200000"}},
		{0x5fffff, []string{"READONLY", "HIDDEN", "SYSTEM", "DIRECTORY", "ARCHIVE", "DEVICE", "NORMAL", "TEMPORARY",
			"SPARSE_FILE", "REPARSE_POINT", "COMPRESSED", "OFFLINE", "NOT_CONTENT_INDEXED", "ENCRYPTED", "INTEGRITY_STREAM",
			"VIRTUAL", "NO_SCRUB_DATA", "RECALL_ON_OPEN", "PINNED", "UNPINNED", "RECALL_ON_DATA_ACCESS", "0x8"}},
	}
	for _, tc := range tests {
		if got := AttributeNames(tc.attrs); !slices.Equal(got, tc.want) || got == nil {
			t.Errorf("AttributeNames(%#x) = %q, want %q", tc.attrs, got, tc.want)
		}
	}
	for _, rec := range loadRecords(t, "sample.dump.jsonl") {
		if rec.FileInfo == nil {
			continue
		}
		if got := AttributeNames(rec.FileInfo.FileAttributes); !slices.Equal(got, rec.FileInfo.AttributeNames) && (len(got) != 0 || len(rec.FileInfo.AttributeNames) != 0) {
			t.Errorf("%s: AttributeNames(%d) = %q, oracle %q", rec.Name, rec.FileInfo.FileAttributes, got, rec.FileInfo.AttributeNames)
		}
	}
}

// TestStreamID checks the go-winio constant names and the unknown-id text,
// including ids with the top bit set (which must not index out of range
// on 32-bit platforms).
func TestStreamID(t *testing.T) {
	names := []string{"BackupData", "BackupEaData", "BackupSecurity", "BackupAlternateData", "BackupLink",
		"BackupPropertyData", "BackupObjectId", "BackupReparseData", "BackupSparseBlock", "BackupTxfsData"}
	for i, want := range names {
		id := StreamID(i + 1)
		if id.String() != want || !id.Known() {
			t.Errorf("StreamID(%d) = %q, Known %v; want %q", i+1, id.String(), id.Known(), want)
		}
	}
	for _, id := range []uint32{0, 11, 42, 0x7fffffff, 0x80000000, 0x80000001, math.MaxUint32} {
		want := fmt.Sprintf("StreamID(%d)", id)
		if got := StreamID(id).String(); got != want || StreamID(id).Known() {
			t.Errorf("StreamID(%d) = %q, Known %v; want %q, false", id, got, StreamID(id).Known(), want)
		}
	}
}
