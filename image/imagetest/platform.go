package imagetest

import (
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// WithPlatform returns img with its config's os, architecture and
// os.version set (the platform a pull chooses by); it fails t when the
// config cannot be read or replaced.
func WithPlatform(t testing.TB, img v1.Image, os, arch, osVersion string) v1.Image {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.OSVersion = os, arch, osVersion
	out, err := mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatalf("set the platform: %v", err)
	}
	return out
}
