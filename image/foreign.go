package image

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// ErrForeignURLsRefused is returned by Write when a registry refuses a
// manifest because of the urls of its foreign layers (distribution's default
// validation answers HTTP 500 MANIFEST_BLOB_UNKNOWN for those).
var ErrForeignURLsRefused = errors.New("the registry refuses manifests whose layers carry urls")

// Media type prefixes of Docker's foreign layers and OCI's
// non-distributable layers (see IsForeign).
const (
	dockerForeignPrefix     = "application/vnd.docker.image.rootfs.foreign."
	ociNondistributablePref = "application/vnd.oci.image.layer.nondistributable."
)

// distributableMediaType is the ordinary layer media type of a foreign or
// non-distributable one (the same compression).
func distributableMediaType(mt types.MediaType) types.MediaType {
	s := string(mt)
	switch {
	case strings.HasPrefix(s, dockerForeignPrefix):
		return types.MediaType("application/vnd.docker.image.rootfs." + strings.TrimPrefix(s, dockerForeignPrefix))
	case strings.HasPrefix(s, ociNondistributablePref):
		return types.MediaType("application/vnd.oci.image.layer." + strings.TrimPrefix(s, ociNondistributablePref))
	}
	return mt
}

// foreignURLs lists the layers of a manifest that carry urls.
func foreignURLs(m *v1.Manifest) []v1.Descriptor {
	var out []v1.Descriptor
	for _, l := range m.Layers {
		if len(l.URLs) > 0 {
			out = append(out, l)
		}
	}
	return out
}

// translateManifestError turns distribution's answer to a manifest with
// foreign urls (HTTP 500 MANIFEST_BLOB_UNKNOWN, or any MANIFEST_BLOB_UNKNOWN
// naming a layer that has urls) into ErrForeignURLsRefused with both ways
// out. Other errors are returned as they are.
func translateManifestError(err error, withURLs []v1.Descriptor) error {
	if err == nil || len(withURLs) == 0 {
		return err
	}
	var te *transport.Error
	if !errors.As(err, &te) {
		return err
	}
	blobUnknown := false
	named := false
	for _, d := range te.Errors {
		if d.Code != transport.ManifestBlobUnknownErrorCode {
			continue
		}
		blobUnknown = true
		detail := fmt.Sprint(d.Detail)
		for _, l := range withURLs {
			if strings.Contains(detail, l.Digest.String()) {
				named = true
			}
		}
	}
	if !blobUnknown || (te.StatusCode != http.StatusInternalServerError && !named) {
		return err
	}
	ds := make([]string, len(withURLs))
	for i, l := range withURLs {
		ds[i] = fmt.Sprintf("%s (%s)", l.Digest, strings.Join(l.URLs, ", "))
	}
	return fmt.Errorf("%w: the registry answered HTTP %d MANIFEST_BLOB_UNKNOWN, as distribution's default validation does for foreign layers with urls: %s; "+
		"either push with --include-foreign (uploads those layers as ordinary ones, without urls; the manifest digest changes), "+
		"or allow the urls in the registry's configuration (validation.manifests.urls.allow): %v",
		ErrForeignURLsRefused, te.StatusCode, strings.Join(ds, "; "), err)
}
