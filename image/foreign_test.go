package image

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/winlayer/winlayer/internal/registrytest"
)

const zstdNondistributable = types.MediaType("application/vnd.oci.image.layer.nondistributable.v1.tar+zstd")

func TestIsNonDistributable(t *testing.T) {
	for _, tc := range []struct {
		mt   types.MediaType
		want bool
	}{
		{types.DockerForeignLayer, true},
		{types.OCIRestrictedLayer, true},
		{types.OCIUncompressedRestrictedLayer, true},
		{"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd", true},
		{types.DockerLayer, false},
		{types.OCILayer, false},
		{types.OCILayerZStd, false},
		{types.DockerConfigJSON, false},
	} {
		if got := IsForeign(tc.mt); got != tc.want {
			t.Errorf("IsForeign(%s) = %v, want %v", tc.mt, got, tc.want)
		}
	}
	for in, want := range map[types.MediaType]types.MediaType{
		types.DockerForeignLayer: types.DockerLayer,
		types.OCIRestrictedLayer: types.OCILayer,
		"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd": types.OCILayerZStd,
		types.OCIUncompressedRestrictedLayer:                           types.OCIUncompressedLayer,
	} {
		if got := distributableMediaType(in); got != want {
			t.Errorf("distributableMediaType(%s) = %s, want %s", in, got, want)
		}
	}
}

// blobStatus is the HTTP status of a HEAD of blob d in repo.
func blobStatus(t *testing.T, r *registrytest.Registry, repo, d string) int {
	t.Helper()
	return r.Request(t, http.MethodHead, "/v2/"+repo+"/blobs/"+d).StatusCode
}

// TestWriteForeignDistribution pushes images with a foreign layer to the
// real distribution registry: with its default validation (refused, the
// error says why and both ways out), with the urls allowed (pushed, the
// foreign blob not uploaded, digest kept), and with IncludeForeign (the
// blob uploaded, the manifest changed).
func TestWriteForeignDistribution(t *testing.T) {
	const url = "http://127.0.0.1:9/windows/base.tar.gz"
	for _, mt := range []types.MediaType{types.DockerForeignLayer, types.OCIRestrictedLayer, zstdNondistributable} {
		t.Run(strings.ReplaceAll(string(mt), "/", "_"), func(t *testing.T) {
			ctx := context.Background()
			oci := mt != types.DockerForeignLayer
			img := testImage(t, "windows", "amd64", "10.0.20348.1", testLayerTars(20, 1), oci)
			img, fl := appendForeign(t, img, mt, url)
			fd, _ := fl.Digest()
			want := manifestDigest(t, img)

			t.Run("default validation", func(t *testing.T) {
				r := registrytest.Distribution(t)
				res, err := Write(ctx, regLoc(t, r, "win/app:1"), img, regCfg(r), WriteOptions{})
				if mt == zstdNondistributable {
					// distribution 2.8 checks urls only for the media types
					// it knows; it accepts this one as it is.
					if err != nil || res.Digest != want.String() {
						t.Fatalf("got %v, want the push to succeed with digest %s", err, want)
					}
				} else if !errors.Is(err, ErrForeignURLsRefused) {
					t.Fatalf("got %v, want ErrForeignURLsRefused", err)
				}
				for _, s := range []string{"--include-foreign", "validation.manifests.urls.allow", fd.String(), url, "500"} {
					if err != nil && !strings.Contains(err.Error(), s) {
						t.Errorf("error does not name %q: %v", s, err)
					}
				}
				if st := blobStatus(t, r, "win/app", fd.String()); st != http.StatusNotFound {
					t.Errorf("foreign blob: HEAD gives %d, want 404 (not uploaded)", st)
				}
			})
			t.Run("urls allowed", func(t *testing.T) {
				r := registrytest.Distribution(t, registrytest.AllowManifestURLs(`^http://127\.0\.0\.1:9/`))
				res, err := Write(ctx, regLoc(t, r, "win/app:1"), img, regCfg(r), WriteOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if res.Digest != want.String() {
					t.Errorf("digest %s, want %s (descriptors kept)", res.Digest, want)
				}
				if st := blobStatus(t, r, "win/app", fd.String()); st != http.StatusNotFound {
					t.Errorf("foreign blob: HEAD gives %d, want 404 (not uploaded)", st)
				}
				found := false
				for _, b := range res.Blobs {
					if b.Digest == fd.String() {
						found = b.Action == ActionForeign
					}
				}
				if !found {
					t.Errorf("result blobs %+v: foreign layer not reported %s", res.Blobs, ActionForeign)
				}
				got, err := remote.Image(r.Ref(t, "win/app:1"), remote.WithAuthFromKeychain(r.Keychain()))
				if err != nil {
					t.Fatal(err)
				}
				if d := manifestDigest(t, got); d != want {
					t.Errorf("registry has %s, want %s", d, want)
				}
			})
			t.Run("include foreign", func(t *testing.T) {
				r := registrytest.Distribution(t)
				res, err := Write(ctx, regLoc(t, r, "win/app:1"), img, regCfg(r), WriteOptions{IncludeForeign: true})
				if err != nil {
					t.Fatal(err)
				}
				if res.Digest == want.String() || res.SourceDigest != want.String() {
					t.Errorf("digest %s (source %s): want a new digest from %s", res.Digest, res.SourceDigest, want)
				}
				if len(res.Notes) == 0 || !strings.Contains(strings.Join(res.Notes, "\n"), "digest changes") {
					t.Errorf("notes %q do not say the digest changes", res.Notes)
				}
				if st := blobStatus(t, r, "win/app", fd.String()); st != http.StatusOK {
					t.Errorf("foreign blob: HEAD gives %d, want 200 (uploaded)", st)
				}
				got, err := remote.Image(r.Ref(t, "win/app:1"), remote.WithAuthFromKeychain(r.Keychain()))
				if err != nil {
					t.Fatal(err)
				}
				m, err := got.Manifest()
				if err != nil {
					t.Fatal(err)
				}
				last := m.Layers[len(m.Layers)-1]
				if last.MediaType != distributableMediaType(mt) || len(last.URLs) != 0 || last.Digest != fd {
					t.Errorf("pushed layer descriptor %+v", last)
				}
				if err := checkImage(t, got); err != nil {
					t.Error(err)
				}
			})
		})
	}
}
