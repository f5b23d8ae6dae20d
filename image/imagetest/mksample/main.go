// Command mksample writes the bundled sample Windows image (package
// imagetest) as an OCI image layout, replacing the directory given:
//
//	go run ./image/imagetest/mksample testdata/image
//
// (go generate ./image/imagetest runs it with the repository's
// testdata/image.)
package main

import (
	"fmt"
	"os"

	"github.com/winlayer/winlayer/image/imagetest"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: mksample DIR")
		os.Exit(2)
	}
	dir := os.Args[1]
	if err := os.RemoveAll(dir); err != nil {
		fmt.Fprintf(os.Stderr, "mksample: %v\n", err)
		os.Exit(1)
	}
	s, err := imagetest.WriteLayout(dir)
	if err != nil {
		fmt.Fprintf(os.Stderr, "mksample: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("%s: index %s\n", dir, s.IndexDigest)
	for _, img := range s.Images {
		fmt.Printf("  %s/%s %s: manifest %s\n", img.Platform.OS, img.Platform.Architecture, img.Platform.OSVersion, img.ManifestDigest)
		for _, l := range img.Layers {
			fmt.Printf("    %-22s %6d B tar, %6d B gzip, diff_id %s\n", l.Name, len(l.Tar), len(l.Blob), l.DiffID)
		}
	}
}
