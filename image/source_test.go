package image

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func TestOpenRegistry(t *testing.T) {
	host := testRegistry(t)
	win1 := testImage(t, "windows", "amd64", "10.0.17763.5576", testLayerTars(1, 2), false)
	win2 := testImage(t, "windows", "amd64", "10.0.20348.2340", testLayerTars(2, 2), true)
	lin := testImage(t, "linux", "amd64", "", testLayerTars(3, 1), false)
	pushTest(t, host, "single:1", win1)
	pushTest(t, host, "multi:1", testIndex(t, win1, win2, lin))
	pushTest(t, host, "linux:1", lin)
	pushTest(t, host, "linuxidx:1", testIndex(t, lin))
	d1, _ := win1.Digest()
	d2, _ := win2.Digest()

	tests := []struct {
		ref      string
		platform string
		explicit bool
		want     v1.Hash
		wantErr  error
		index    bool
	}{
		{ref: "single:1", want: d1},
		{ref: "single:1", platform: "windows/amd64:10.0.17763", explicit: true, want: d1},
		{ref: "single:1", platform: "windows/arm64", explicit: true, wantErr: ErrNoMatch},
		{ref: "multi:1", index: true, wantErr: ErrAmbiguous},
		{ref: "multi:1", index: true, platform: "windows/amd64:10.0.20348", explicit: true, want: d2},
		{ref: "multi:1", index: true, platform: "windows/amd64:10.0.17763.5576", explicit: true, want: d1},
		{ref: "linux:1", wantErr: ErrNotWindows},
		{ref: "linuxidx:1", index: true, wantErr: ErrNotWindows},
	}
	for _, tc := range tests {
		t.Run(tc.ref+"/"+tc.platform, func(t *testing.T) {
			loc, err := ParseLocation(host + "/" + tc.ref)
			if err != nil {
				t.Fatal(err)
			}
			src, err := Open(context.Background(), loc, Config{})
			if err != nil {
				t.Fatal(err)
			}
			if (src.Index != nil) != tc.index || (src.Image != nil) == tc.index {
				t.Fatalf("Index=%v Image=%v, want index %v", src.Index != nil, src.Image != nil, tc.index)
			}
			p, err := ParsePlatform(tc.platform)
			if err != nil {
				t.Fatal(err)
			}
			res, err := src.Resolve(p, tc.explicit)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Resolve: %v, want %v", err, tc.wantErr)
				}
				if errors.Is(err, ErrNotWindows) && !strings.Contains(err.Error(), "is a Linux image") {
					t.Errorf("Linux refusal does not say so: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Descriptor.Digest != tc.want {
				t.Fatalf("resolved %s, want %s", res.Descriptor.Digest, tc.want)
			}
			if got, _ := res.Image.Digest(); got != tc.want {
				t.Fatalf("image digest %s, want %s", got, tc.want)
			}
		})
	}
}

func TestOpenRegistrySchema1(t *testing.T) {
	host := testRegistry(t)
	body := `{"schemaVersion":1,"name":"old","tag":"1","architecture":"amd64","fsLayers":[],"history":[]}`
	req, _ := http.NewRequest(http.MethodPut, "http://"+host+"/v2/old/manifests/1", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/vnd.docker.distribution.manifest.v1+prettyjws")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("PUT schema1: %s", resp.Status)
	}
	loc, _ := ParseLocation(host + "/old:1")
	_, err = Open(context.Background(), loc, Config{})
	if !errors.Is(err, ErrSchema1) {
		t.Fatalf("Open schema1: %v, want ErrSchema1", err)
	}
}

func TestOpenLayout(t *testing.T) {
	dir := t.TempDir()
	win1 := testImage(t, "windows", "amd64", "10.0.17763.5576", testLayerTars(1, 2), false)
	win2 := testImage(t, "windows", "amd64", "10.0.20348.2340", testLayerTars(2, 1), false)
	win3 := testImage(t, "windows", "amd64", "10.0.26100.1", testLayerTars(4, 1), false)
	d1, _ := win1.Digest()
	d2, _ := win2.Digest()
	d3, _ := win3.Digest()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	ann := func(tag string) layout.Option {
		return layout.WithAnnotations(map[string]string{refNameAnnotation: tag})
	}
	plat := func(osv string) layout.Option {
		return layout.WithPlatform(v1.Platform{OS: "windows", Architecture: "amd64", OSVersion: osv})
	}
	if err := p.AppendImage(win1, ann("a"), plat("10.0.17763.5576")); err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(win2, ann("b"), plat("10.0.20348.2340")); err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(win3, ann("b"), plat("10.0.26100.1")); err != nil {
		t.Fatal(err)
	}
	open := func(s string) (*Source, error) {
		loc, err := ParseLocation(s)
		if err != nil {
			t.Fatal(err)
		}
		return Open(context.Background(), loc, Config{})
	}
	if _, err := open("oci:" + dir); !errors.Is(err, ErrSeveralImages) || !strings.Contains(err.Error(), "a, b") {
		t.Errorf("untagged layout with two names: %v, want ErrSeveralImages listing a, b", err)
	}
	if _, err := open("oci:" + dir + ":zzz"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing tag: %v, want ErrNotFound", err)
	}
	if _, err := open("oci:" + filepath.Join(dir, "nope")); err == nil {
		t.Errorf("missing layout opened")
	}
	src, err := open("oci:" + dir + ":a")
	if err != nil {
		t.Fatal(err)
	}
	if src.Image == nil || src.Descriptor.Digest != d1 || src.Name != "a" {
		t.Fatalf("oci:DIR:a: image %v descriptor %s name %q", src.Image != nil, src.Descriptor.Digest, src.Name)
	}
	res, err := src.Resolve(Platform{OS: "windows", Architecture: "amd64"}, false)
	if err != nil || res.Descriptor.Digest != d1 {
		t.Fatalf("resolve a: %v %v", res, err)
	}
	// Two entries named b: an index of both, resolved by platform.
	src, err = open("oci:" + dir + ":b")
	if err != nil {
		t.Fatal(err)
	}
	if src.Index == nil {
		t.Fatal("oci:DIR:b with two entries is no index")
	}
	if _, err := src.Resolve(Platform{OS: "windows", Architecture: "amd64"}, false); !errors.Is(err, ErrAmbiguous) {
		t.Fatalf("resolve b without platform: %v, want ErrAmbiguous", err)
	}
	for osv, want := range map[string]v1.Hash{"10.0.20348": d2, "10.0.26100": d3} {
		pl, _ := ParsePlatform("windows/amd64:" + osv)
		res, err := src.Resolve(pl, true)
		if err != nil || res.Descriptor.Digest != want {
			t.Fatalf("resolve b %s: %v, want %s", osv, err, want)
		}
	}
}

func TestOpenArchive(t *testing.T) {
	dir := t.TempDir()
	win1 := testImage(t, "windows", "amd64", "10.0.17763.5576", testLayerTars(1, 2), false)
	win2 := testImage(t, "windows", "amd64", "10.0.20348.2340", testLayerTars(2, 1), false)
	d1, _ := win1.Digest()
	t1, _ := name.NewTag("example.com/one:1")
	t2, _ := name.NewTag("example.com/two:2")
	multi := filepath.Join(dir, "multi.tar")
	if err := tarball.MultiRefWriteToFile(multi, map[name.Reference]v1.Image{t1: win1, t2: win2}); err != nil {
		t.Fatal(err)
	}
	single := filepath.Join(dir, "single.tar")
	if err := tarball.WriteToFile(single, t1, win1); err != nil {
		t.Fatal(err)
	}
	open := func(s string) (*Source, error) {
		loc, err := ParseLocation(s)
		if err != nil {
			t.Fatal(err)
		}
		return Open(context.Background(), loc, Config{})
	}
	anyWin := Platform{OS: "windows", Architecture: "amd64"}

	src, err := open("docker-archive:" + multi)
	if err != nil {
		t.Fatal(err)
	}
	if len(src.Archive) != 2 || src.Image != nil {
		t.Fatalf("multi archive: %d images, Image set %v", len(src.Archive), src.Image != nil)
	}
	if _, err := src.Resolve(anyWin, false); !errors.Is(err, ErrSeveralImages) || !strings.Contains(err.Error(), "example.com/two:2") {
		t.Fatalf("resolve multi: %v, want ErrSeveralImages listing the tags", err)
	}
	for _, ref := range []string{"example.com/one:1", "@0", "@1"} {
		src, err := open("docker-archive:" + multi + ":" + ref)
		if err != nil {
			t.Fatalf("%s: %v", ref, err)
		}
		res, err := src.Resolve(anyWin, false)
		if err != nil {
			t.Fatalf("%s: %v", ref, err)
		}
		cf, err := res.Image.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if src.Name == "" || !strings.HasPrefix(cf.OSVersion, "10.0.") {
			t.Fatalf("%s: name %q os.version %q", ref, src.Name, cf.OSVersion)
		}
	}
	if _, err := open("docker-archive:" + multi + ":example.com/three:3"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing ref: %v, want ErrNotFound", err)
	}
	if _, err := open("docker-archive:" + multi + ":@2"); !errors.Is(err, ErrNotFound) {
		t.Errorf("@2 of two: %v, want ErrNotFound", err)
	}
	src, err = open("docker-archive:" + single)
	if err != nil {
		t.Fatal(err)
	}
	res, err := src.Resolve(anyWin, false)
	if err != nil {
		t.Fatal(err)
	}
	if res.Descriptor.Digest != d1 {
		t.Errorf("single archive image %s, want %s (the same layers and config)", res.Descriptor.Digest, d1)
	}
}
