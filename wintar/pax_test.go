package wintar_test

import (
	"archive/tar"
	"errors"
	"testing"
	"time"

	"github.com/winlayer/winlayer/backupstream"
	"github.com/winlayer/winlayer/wintar"
)

func TestParsePAXTime(t *testing.T) {
	for _, tc := range []struct {
		in       string
		sec, ns  int64 // wanted time.Unix(sec, ns)
		wantFail bool
		why      string
	}{
		{in: "1600000000.123456789987", sec: 1600000000, ns: 123456789, why: "fraction truncated to 9 digits, no rounding"},
		{in: "1600000000.5", sec: 1600000000, ns: 500000000, why: "short fraction right-padded"},
		{in: "1635930900.0000001", sec: 1635930900, ns: 100, why: "leading zeros of the fraction kept"},
		{in: "-1.5", sec: -1, ns: -500000000, why: "negative: fraction subtracted"},
		{in: "-0.5", sec: 0, ns: -500000000, why: "negative zero seconds still subtract the fraction"},
		{in: "-3", sec: -3, why: "negative whole seconds"},
		{in: "12.", sec: 12, why: "empty fraction means whole seconds"},
		{in: "12", sec: 12, why: "no fraction"},
		{in: "+5", sec: 5, why: "ParseInt accepts a leading +"},
		{in: "+5.25", sec: 5, ns: 250000000, why: "+ with a fraction adds it"},
		{in: "0", sec: 0, why: "epoch"},
		{in: "007.1", sec: 7, ns: 100000000, why: "leading zeros in seconds"},
		{in: "9223372036854775807", sec: 9223372036854775807, why: "max int64 seconds"},
		{in: ".5", wantFail: true, why: "empty seconds part"},
		{in: "12.3x", wantFail: true, why: "non-digit in fraction"},
		{in: "12.-3", wantFail: true, why: "sign in fraction"},
		{in: "12.+3", wantFail: true, why: "plus in fraction"},
		{in: "1.2.3", wantFail: true, why: "second dot is not a digit"},
		{in: "", wantFail: true, why: "empty"},
		{in: "-", wantFail: true, why: "sign only"},
		{in: " 1", wantFail: true, why: "space"},
		{in: "0x10", wantFail: true, why: "hex"},
		{in: "9223372036854775808", wantFail: true, why: "seconds overflow int64"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := wintar.ParsePAXTime(tc.in)
			if tc.wantFail {
				if !errors.Is(err, tar.ErrHeader) {
					t.Fatalf("ParsePAXTime(%q) = %v, %v; want tar.ErrHeader (%s)", tc.in, got, err, tc.why)
				}
				if err.Error() != "archive/tar: invalid tar header" {
					t.Fatalf("error text %q", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParsePAXTime(%q): %v (%s)", tc.in, err, tc.why)
			}
			if want := time.Unix(tc.sec, tc.ns); !got.Equal(want) {
				t.Fatalf("ParsePAXTime(%q) = %v, want %v (%s)", tc.in, got, want, tc.why)
			}
		})
	}
}

// TestParsePAXTimeFiletime checks the two creation times of the oracle's
// error vectors down to the FILETIME go-winio stored.
func TestParsePAXTimeFiletime(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want backupstream.Filetime
	}{
		{"1600000000.123456789987", 132444736001234567}, // creationtime-longfrac
		{"-1.5", 116444735985000000},                    // creationtime-negative
	} {
		got, err := wintar.ParsePAXTime(tc.in)
		if err != nil {
			t.Fatal(err)
		}
		if ft := backupstream.FiletimeFromTime(got); ft != tc.want {
			t.Errorf("%s: FILETIME %d, want %d", tc.in, ft, tc.want)
		}
	}
}

func TestFormatPAXTime(t *testing.T) {
	for _, tc := range []struct {
		sec, ns int64
		want    string
	}{
		{1635930900, 100, "1635930900.0000001"},
		{6802270473, 709551616, "6802270473.709551616"}, // FILETIME 0 after the wrap
		{-3, 0, "-3"},
		{-2, 500000000, "-1.5"},
		{-1, 500000000, "-0.5"},
		{-1, 999999999, "-0.000000001"},
		{0, 0, "0"},
		{0, 1, "0.000000001"},
		{1682944497, 0, "1682944497"},
		{1682944497, 120000000, "1682944497.12"},
		{-62135596800, 0, "-62135596800"}, // year 1
	} {
		tm := time.Unix(tc.sec, tc.ns)
		if got := wintar.FormatPAXTime(tm); got != tc.want {
			t.Errorf("FormatPAXTime(time.Unix(%d, %d)) = %q, want %q", tc.sec, tc.ns, got, tc.want)
		}
	}
}

// TestPAXTimeRoundTrip: ParsePAXTime(FormatPAXTime(t)) == t for every
// time, before 1970 included, and the text is stable.
func TestPAXTimeRoundTrip(t *testing.T) {
	for _, tm := range []time.Time{
		time.Unix(0, 0),
		time.Unix(0, 1),
		time.Unix(-1, 0),
		time.Unix(0, -1),
		time.Unix(-1, -1),
		time.Unix(-2, 500000000),
		time.Unix(1600000000, 123456700),
		time.Unix(6802270473, 709551616),
		time.Date(1601, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(1677, 9, 21, 0, 12, 43, 145224192, time.UTC),
		time.Date(1900, 2, 28, 23, 59, 59, 999999999, time.UTC),
		time.Date(1969, 12, 31, 23, 59, 59, 1, time.UTC),
		time.Date(2262, 4, 11, 23, 47, 16, 854775807, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		{}, // year 1
	} {
		s := wintar.FormatPAXTime(tm)
		got, err := wintar.ParsePAXTime(s)
		if err != nil {
			t.Errorf("%v: ParsePAXTime(%q): %v", tm, s, err)
			continue
		}
		if !got.Equal(tm) {
			t.Errorf("%v: formatted %q, parsed back %v", tm, s, got)
		}
		if s2 := wintar.FormatPAXTime(got); s2 != s {
			t.Errorf("%v: formatted %q, then %q", tm, s, s2)
		}
	}
}
