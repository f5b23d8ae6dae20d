package image

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// digestOf is a stable fake manifest digest named by seed.
func digestOf(seed string) v1.Hash {
	sum := sha256.Sum256([]byte(seed))
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}
}

// entry builds an index entry os/arch[/variant] with os.version ver,
// os.features feats and a digest named by seed.
func entry(seed, os, arch, variant, ver string, feats ...string) v1.Descriptor {
	return v1.Descriptor{
		MediaType: types.OCIManifestSchema1,
		Size:      1234,
		Digest:    digestOf(seed),
		Platform: &v1.Platform{
			OS: os, Architecture: arch, Variant: variant,
			OSVersion: ver, OSFeatures: feats,
		},
	}
}

// win is a windows/amd64 entry whose digest seed is its os.version.
func win(ver string, feats ...string) v1.Descriptor {
	return entry(ver, "windows", "amd64", "", ver, feats...)
}

func index(ds ...v1.Descriptor) *v1.IndexManifest {
	return &v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: ds}
}

func TestParsePlatform(t *testing.T) {
	tests := []struct {
		in      string
		want    Platform
		str     string
		wantErr error // nil with bad = true: any error
		bad     bool
	}{
		{in: "", want: Platform{OS: "windows", Architecture: "amd64"}, str: "windows/amd64"},
		{in: "windows", want: Platform{OS: "windows", Architecture: "amd64"}, str: "windows/amd64"},
		{in: "windows/amd64", want: Platform{OS: "windows", Architecture: "amd64"}, str: "windows/amd64"},
		{in: "Windows/AMD64", want: Platform{OS: "windows", Architecture: "amd64"}, str: "windows/amd64"},
		{in: "windows/x86_64", want: Platform{OS: "windows", Architecture: "amd64"}, str: "windows/amd64"},
		{in: "windows/x86-64", want: Platform{OS: "windows", Architecture: "amd64"}, str: "windows/amd64"},
		{in: "windows/aarch64/v8", want: Platform{OS: "windows", Architecture: "arm64"}, str: "windows/arm64"},
		{in: "windows/arm64/v9", want: Platform{OS: "windows", Architecture: "arm64", Variant: "v9"}, str: "windows/arm64/v9"},
		{in: "windows/amd64:10.0.20348", want: Platform{OS: "windows", Architecture: "amd64", OSVersion: "10.0.20348"}, str: "windows/amd64:10.0.20348"},
		{in: "windows/amd64:10.0.20348.2340", want: Platform{OS: "windows", Architecture: "amd64", OSVersion: "10.0.20348.2340"}, str: "windows/amd64:10.0.20348.2340"},
		{in: "windows/amd64:10.00.020348.01000", want: Platform{OS: "windows", Architecture: "amd64", OSVersion: "10.0.20348.1000"}, str: "windows/amd64:10.0.20348.1000"},
		{in: "windows:10.0.17763", want: Platform{OS: "windows", Architecture: "amd64", OSVersion: "10.0.17763"}, str: "windows/amd64:10.0.17763"},
		{in: "linux/amd64", bad: true, wantErr: ErrNotWindows},
		{in: "linux", bad: true, wantErr: ErrNotWindows},
		{in: "/amd64", bad: true},
		{in: "windows/", bad: true},
		{in: "windows//v8", bad: true},
		{in: "windows/amd64/", bad: true},
		{in: "windows/amd64/v1/x", bad: true},
		{in: "windows/amd64:", bad: true},
		{in: "windows/amd64:10.0", bad: true},
		{in: "windows/amd64:10.0.20348.1.2", bad: true},
		{in: "windows/amd64:10.0..1", bad: true},
		{in: "windows/amd64:10.0.+20348", bad: true},
		{in: "windows/amd64:10.0.-1", bad: true},
		{in: "windows/amd64:10.0.20348.99999999999", bad: true},
		{in: "windows/amd64:10.0.20348:1", bad: true},
		{in: "windows/amd64: 10.0.20348", bad: true},
		{in: " windows/amd64", bad: true},
		{in: "windows/am d64", bad: true},
		{in: "windows/ämd64", bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParsePlatform(tt.in)
			if tt.bad {
				if err == nil {
					t.Fatalf("ParsePlatform(%q) = %+v, want an error", tt.in, got)
				}
				if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
					t.Fatalf("ParsePlatform(%q) error %v, want %v", tt.in, err, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.in) {
					t.Errorf("error %q does not name the input %q", err, tt.in)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParsePlatform(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Fatalf("ParsePlatform(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
			if s := got.String(); s != tt.str {
				t.Errorf("String() = %q, want %q", s, tt.str)
			}
		})
	}
}

func TestPlatformString(t *testing.T) {
	tests := []struct {
		p    Platform
		want string
	}{
		{Platform{}, "windows/amd64"},
		{Platform{HostBuild: 26100}, "windows/amd64"},
		{Platform{Architecture: "arm64", Variant: "v9"}, "windows/arm64/v9"},
		{Platform{OS: "windows", Architecture: "amd64", OSVersion: "10.0.26100.1"}, "windows/amd64:10.0.26100.1"},
	}
	for _, tt := range tests {
		if got := tt.p.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.p, got, tt.want)
		}
	}
}

func TestHostRunsBuild(t *testing.T) {
	tests := []struct {
		host, ctr uint32
		want      bool
	}{
		{17763, 17763, true},
		{17763, 14393, false},
		{17763, 20348, false},
		{19041, 17763, false},
		{20348, 20348, true},
		{20348, 17763, false},
		{20348, 26100, false},
		{22621, 20348, true},
		{22621, 22621, true},
		{22621, 17763, false},
		{25398, 20348, true},
		{25398, 25398, true},
		{25398, 26100, false},
		{26100, 26100, true},
		{26100, 25398, true},
		{26100, 20348, true},
		{26100, 17763, false},
		{26100, 26200, false},
		{27000, 26100, true},
		{27000, 27000, true},
		{27000, 25398, false},
		{27000, 20348, false},
	}
	for _, tt := range tests {
		if got := hostRunsBuild(tt.host, tt.ctr); got != tt.want {
			t.Errorf("hostRunsBuild(%d, %d) = %v, want %v", tt.host, tt.ctr, got, tt.want)
		}
	}
}

func TestSelect(t *testing.T) {
	// A typical multi-LTSC Windows index plus Linux entries.
	mixed := index(
		entry("linux-amd64", "linux", "amd64", "", ""),
		win("10.0.17763.5458", "win32k"),
		win("10.0.20348.999"),
		win("10.0.20348.1000"),
		win("10.0.20348.2340", "win32k"),
		win("10.0.26100.100"),
		entry("arm64-26100", "windows", "arm64", "", "10.0.26100.200"),
		entry("linux-arm64", "linux", "arm64", "v8", ""),
		entry("attest", "unknown", "unknown", "", ""),
	)
	revisions := index(win("10.0.20348.999"), win("10.0.20348.1000"), win("10.0.20348.10"))
	tests := []struct {
		name     string
		idx      *v1.IndexManifest
		p        Platform
		explicit bool
		want     string // digest seed
		wantErr  error
		msg      []string // substrings of the error message
	}{
		// 4-part exact.
		{name: "exact 4-part", idx: mixed, p: Platform{OSVersion: "10.0.20348.999"}, explicit: true, want: "10.0.20348.999"},
		{name: "exact 4-part .1000", idx: mixed, p: Platform{OSVersion: "10.0.20348.1000"}, explicit: true, want: "10.0.20348.1000"},
		{name: "exact 4-part missing", idx: mixed, p: Platform{OSVersion: "10.0.20348.1001"}, explicit: true, wantErr: ErrNoMatch,
			msg: []string{"windows/amd64:10.0.20348.1001", "10.0.20348.1000 " + digestOf("10.0.20348.1000").String(), "windows/arm64 10.0.26100.200"}},
		// 3-part: numerically highest revision of that build.
		{name: "3-part numeric .1000 over .999", idx: revisions, p: Platform{OSVersion: "10.0.20348"}, explicit: true, want: "10.0.20348.1000"},
		{name: "3-part mixed index", idx: mixed, p: Platform{OSVersion: "10.0.20348"}, explicit: true, want: "10.0.20348.2340"},
		{name: "3-part other build", idx: mixed, p: Platform{OSVersion: "10.0.17763"}, explicit: true, want: "10.0.17763.5458"},
		{name: "3-part no such build", idx: mixed, p: Platform{OSVersion: "10.0.22621"}, explicit: true, wantErr: ErrNoMatch},
		{name: "3-part other major", idx: index(win("6.3.20348.1")), p: Platform{OSVersion: "10.0.20348"}, explicit: true, wantErr: ErrNoMatch},
		{name: "3-part entry fits any revision", idx: index(win("10.0.20348")), p: Platform{OSVersion: "10.0.20348.5"}, explicit: true, want: "10.0.20348"},
		{name: "4-part entry beats 3-part entry", idx: index(win("10.0.20348"), win("10.0.20348.5")), p: Platform{OSVersion: "10.0.20348"}, explicit: true, want: "10.0.20348.5"},
		// Explicit windows/amd64 without version: newest wins.
		{name: "explicit no version newest", idx: mixed, p: Platform{}, explicit: true, want: "10.0.26100.100"},
		// Not explicit: more than one candidate is ambiguous.
		{name: "default ambiguous", idx: mixed, p: Platform{}, explicit: false, wantErr: ErrAmbiguous,
			msg: []string{
				"--platform windows/amd64:OSVERSION",
				"\n  10.0.17763.5458 " + digestOf("10.0.17763.5458").String() + " os.features=win32k\n" +
					"  10.0.20348.999 " + digestOf("10.0.20348.999").String() + "\n" +
					"  10.0.20348.1000 " + digestOf("10.0.20348.1000").String() + "\n" +
					"  10.0.20348.2340 " + digestOf("10.0.20348.2340").String() + " os.features=win32k\n" +
					"  10.0.26100.100 " + digestOf("10.0.26100.100").String(),
			}},
		{name: "default single windows entry", idx: index(entry("l", "linux", "amd64", "", ""), win("10.0.20348.2340")), want: "10.0.20348.2340"},
		{name: "default single per arch", idx: index(win("10.0.20348.1"), entry("arm", "windows", "arm64", "", "10.0.26100.1")), want: "10.0.20348.1"},
		{name: "default arm64 chosen", idx: index(win("10.0.20348.1"), entry("arm", "windows", "arm64", "", "10.0.26100.1")), p: Platform{Architecture: "arm64"}, want: "arm"},
		{name: "default same digest twice", idx: index(win("10.0.20348.1"), win("10.0.20348.1")), want: "10.0.20348.1"},
		{name: "default ambiguous with missing os.version", idx: index(entry("a", "windows", "amd64", "", ""), win("10.0.20348.1")), wantErr: ErrAmbiguous,
			msg: []string{"  (no os.version) " + digestOf("a").String() + "\n  10.0.20348.1 "}},
		// Missing os.version matches anything, but ranks last.
		{name: "missing os.version matches 4-part", idx: index(entry("a", "windows", "amd64", "", "")), p: Platform{OSVersion: "10.0.20348.2340"}, explicit: true, want: "a"},
		{name: "missing os.version matches host", idx: index(entry("a", "windows", "amd64", "", "")), p: Platform{HostBuild: 17763}, want: "a"},
		{name: "known beats missing", idx: index(entry("a", "windows", "amd64", "", ""), win("10.0.20348.2")), p: Platform{OSVersion: "10.0.20348"}, explicit: true, want: "10.0.20348.2"},
		{name: "two missing tie", idx: index(entry("a", "windows", "amd64", "", ""), entry("b", "windows", "amd64", "", "")), explicit: true, wantErr: ErrAmbiguous,
			msg: []string{"equally well", digestOf("a").String(), digestOf("b").String()}},
		{name: "same version two digests tie", idx: index(entry("a", "windows", "amd64", "", "10.0.20348.1"), entry("b", "windows", "amd64", "", "10.0.20348.1"), win("10.0.17763.1")), explicit: true, wantErr: ErrAmbiguous,
			msg: []string{"equally well:\n", "  10.0.20348.1 " + digestOf("a").String(), "  10.0.20348.1 " + digestOf("b").String()}},
		{name: "bad entry os.version fits no request", idx: index(entry("a", "windows", "amd64", "", "ltsc2022")), p: Platform{OSVersion: "10.0.20348"}, explicit: true, wantErr: ErrNoMatch, msg: []string{"ltsc2022"}},
		{name: "bad entry os.version fits no host", idx: index(entry("a", "windows", "amd64", "", "10.0")), p: Platform{HostBuild: 20348}, wantErr: ErrNoMatch},
		{name: "bad entry os.version fits default", idx: index(entry("a", "windows", "amd64", "", "10.0")), want: "a"},
		// win32k is ignored; other features exclude.
		{name: "win32k only", idx: index(win("10.0.20348.1", "win32k")), p: Platform{OSVersion: "10.0.20348.1"}, explicit: true, want: "10.0.20348.1"},
		{name: "WIN32K case", idx: index(win("10.0.20348.1", "WIN32K", "win32k")), want: "10.0.20348.1"},
		{name: "unknown feature excluded", idx: index(win("10.0.20348.1", "win32k", "hyperv-only"), win("10.0.20348.0")), p: Platform{OSVersion: "10.0.20348"}, explicit: true, want: "10.0.20348.0"},
		{name: "unknown feature only", idx: index(win("10.0.20348.1", "gpu")), wantErr: ErrNoMatch, msg: []string{"os.features=gpu"}},
		// Host build rule.
		{name: "host 17763 same build", idx: mixed, p: Platform{HostBuild: 17763}, want: "10.0.17763.5458"},
		{name: "host 19041 nothing", idx: mixed, p: Platform{HostBuild: 19041}, wantErr: ErrNoMatch, msg: []string{"on host build 19041", "10.0.17763.5458"}},
		{name: "host 20348 only 20348, newest revision", idx: mixed, p: Platform{HostBuild: 20348}, want: "10.0.20348.2340"},
		{name: "host 20348 numeric revision", idx: revisions, p: Platform{HostBuild: 20348}, want: "10.0.20348.1000"},
		{name: "host 25398 runs 20348", idx: mixed, p: Platform{HostBuild: 25398}, want: "10.0.20348.2340"},
		{name: "host 26100 prefers own build", idx: mixed, p: Platform{HostBuild: 26100}, want: "10.0.26100.100"},
		{name: "host 26100 runs 20348", idx: index(win("10.0.17763.1"), win("10.0.20348.5")), p: Platform{HostBuild: 26100}, want: "10.0.20348.5"},
		{name: "host 20348 not 26100", idx: index(win("10.0.26100.5")), p: Platform{HostBuild: 20348}, wantErr: ErrNoMatch},
		{name: "host 27000 not 20348", idx: index(win("10.0.20348.5")), p: Platform{HostBuild: 27000}, wantErr: ErrNoMatch},
		{name: "host 27000 runs 26100", idx: index(win("10.0.20348.5"), win("10.0.26100.7")), p: Platform{HostBuild: 27000}, want: "10.0.26100.7"},
		{name: "host and 3-part", idx: mixed, p: Platform{OSVersion: "10.0.20348", HostBuild: 26100}, explicit: true, want: "10.0.20348.2340"},
		{name: "host and 3-part incompatible", idx: mixed, p: Platform{OSVersion: "10.0.17763", HostBuild: 26100}, explicit: true, wantErr: ErrNoMatch},
		{name: "host other major", idx: index(win("6.3.20348.1")), p: Platform{HostBuild: 20348}, wantErr: ErrNoMatch},
		// Architecture and variant.
		{name: "arch mismatch", idx: index(entry("arm", "windows", "arm64", "", "10.0.26100.1")), explicit: true, wantErr: ErrNoMatch,
			msg: []string{"windows/arm64 10.0.26100.1 " + digestOf("arm").String()}},
		{name: "arch alias in entry", idx: index(entry("x", "Windows", "x86_64", "", "10.0.26100.1")), want: "x"},
		{name: "variant mismatch", idx: index(entry("v9", "windows", "arm64", "v9", "10.0.26100.1")), p: Platform{Architecture: "arm64", Variant: "v10"}, explicit: true, wantErr: ErrNoMatch,
			msg: []string{"windows/arm64/v9"}},
		{name: "variant v8 equals empty", idx: index(entry("e", "windows", "arm64", "", "10.0.26100.1")), p: Platform{Architecture: "arm64", Variant: "v8"}, explicit: true, want: "e"},
		{name: "variant match", idx: index(entry("v9", "windows", "arm64", "v9", "10.0.26100.1"), entry("e", "windows", "arm64", "", "10.0.26100.2")), p: Platform{Architecture: "arm64", Variant: "v9"}, explicit: true, want: "v9"},
		// Never Linux.
		{name: "linux only", idx: index(entry("l1", "linux", "amd64", "", ""), entry("l2", "linux", "arm64", "", ""), entry("att", "unknown", "unknown", "", "")), wantErr: ErrNotWindows,
			msg: []string{"the image is a Linux image (linux/amd64, linux/arm64); winlayer handles Windows images only"}},
		{name: "linux only explicit", idx: index(entry("l1", "linux", "amd64", "", "")), p: Platform{OSVersion: "10.0.20348"}, explicit: true, wantErr: ErrNotWindows},
		{name: "other os", idx: index(entry("d", "darwin", "arm64", "", ""), entry("l", "linux", "amd64", "", "")), wantErr: ErrNotWindows,
			msg: []string{"has no Windows manifest (darwin/arm64, linux/amd64)"}},
		{name: "mixed arm64 request never linux", idx: index(entry("l", "linux", "arm64", "", ""), win("10.0.20348.1")), p: Platform{Architecture: "arm64"}, explicit: true, wantErr: ErrNoMatch},
		// Degenerate indexes and requests.
		{name: "nil index", idx: nil, wantErr: ErrNoMatch},
		{name: "empty index", idx: index(), wantErr: ErrNoMatch, msg: []string{"no manifests"}},
		{name: "no platforms", idx: index(v1.Descriptor{Digest: digestOf("x")}), wantErr: ErrNoMatch},
		{name: "linux request", idx: mixed, p: Platform{OS: "linux"}, explicit: true, wantErr: ErrNotWindows},
		{name: "bad request version", idx: mixed, p: Platform{OSVersion: "20348"}, explicit: true, msg: []string{"os.version \"20348\""}},
		{name: "negative host", idx: mixed, p: Platform{HostBuild: -1}, msg: []string{"host build -1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Select(tt.idx, tt.p, tt.explicit)
			if tt.want != "" {
				if err != nil {
					t.Fatalf("Select: %v", err)
				}
				if got.Digest != digestOf(tt.want) {
					t.Fatalf("Select picked %s (%+v), want %q", got.Digest, got.Platform, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("Select picked %s (%+v), want an error", got.Digest, got.Platform)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("Select error %q, want %v", err, tt.wantErr)
			}
			for _, m := range tt.msg {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error\n%s\ndoes not contain\n%s", err, m)
				}
			}
		})
	}
}

// TestSelectAmbiguousOnePerLine checks the candidate list a user sees: one
// line per candidate, nothing else, and no Linux entry among them.
func TestSelectAmbiguousOnePerLine(t *testing.T) {
	idx := index(entry("l", "linux", "amd64", "", ""), win("10.0.26100.1"), win("10.0.17763.2"))
	_, err := Select(idx, Platform{}, false)
	if !errors.Is(err, ErrAmbiguous) {
		t.Fatalf("Select: %v, want ErrAmbiguous", err)
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 3 {
		t.Fatalf("got %d lines, want a heading and 2 candidates:\n%s", len(lines), err)
	}
	want := []string{
		"  10.0.17763.2 " + digestOf("10.0.17763.2").String(),
		"  10.0.26100.1 " + digestOf("10.0.26100.1").String(),
	}
	for i, w := range want {
		if lines[i+1] != w {
			t.Errorf("line %d = %q, want %q", i+1, lines[i+1], w)
		}
	}
}

func FuzzParsePlatform(f *testing.F) {
	for _, s := range []string{"", "windows", "windows/amd64", "windows/amd64:10.0.20348", "windows/amd64:10.0.20348.2340",
		"windows/arm64/v8:10.0.26100.1", "linux/amd64", "windows/amd64:10.0.20348.99999999999", "WINDOWS/X86_64:010.0.1"} {
		f.Add(s)
	}
	idx := index(win("10.0.17763.5458", "win32k"), win("10.0.20348.999"), win("10.0.20348.1000"), win("10.0.26100.1"),
		entry("arm", "windows", "arm64", "", "10.0.26100.1"), entry("none", "windows", "amd64", "", ""))
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePlatform(s)
		if err != nil {
			return
		}
		q, err := ParsePlatform(p.String())
		if err != nil {
			t.Fatalf("ParsePlatform(%q) = %+v, but its String %q does not parse: %v", s, p, p.String(), err)
		}
		if q != p {
			t.Fatalf("round trip of %q: %+v then %+v", s, p, q)
		}
		// Whatever parses is a valid request: Select answers with a match
		// or a sentinel, never a bare error or a panic.
		d, err := Select(idx, p, true)
		if err == nil {
			if d.Platform == nil || d.Platform.OS != "windows" {
				t.Fatalf("Select(%+v) picked %+v", p, d.Platform)
			}
			return
		}
		if !errors.Is(err, ErrNoMatch) && !errors.Is(err, ErrAmbiguous) {
			t.Fatalf("Select(%+v): %v", p, err)
		}
	})
}

// TestParsePlatformVersionAfterSlash: an OS version typed after a slash
// (windows/amd64/10.0.20348) is named as such, with the form that works.
func TestParsePlatformVersionAfterSlash(t *testing.T) {
	for in, want := range map[string]string{
		"windows/amd64/10.0.20348":      `"10.0.20348" is an OS version, which goes after a colon: windows/amd64:10.0.20348`,
		"windows/10.0.17763.5329":       `"10.0.17763.5329" is an OS version, which goes after a colon: windows:10.0.17763.5329`,
		"windows/amd64/10.0.20348:10.0": "not a lower-case word", // a version after a colon too: no guess
	} {
		_, err := ParsePlatform(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParsePlatform(%q) = %v, want an error with %q", in, err, want)
		}
	}
}
