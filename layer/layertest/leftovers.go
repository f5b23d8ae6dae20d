package layertest

import (
	"os"
	"path/filepath"
)

// Leftovers lists what the store directory home holds besides its own
// files (the .staging directory and the .winlayer.lock file that a
// read-write Open makes): layers and any other entry by name, and every
// entry of .staging (an import's staging directory) as ".staging/NAME".
// A store that an interrupted or refused import left as it was has none.
func Leftovers(home string) ([]string, error) {
	entries, err := os.ReadDir(home)
	if err != nil {
		return nil, err
	}
	var left []string
	for _, e := range entries {
		if e.Name() != ".staging" && e.Name() != ".winlayer.lock" {
			left = append(left, e.Name())
		}
	}
	staged, err := os.ReadDir(filepath.Join(home, ".staging"))
	if err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	for _, e := range staged {
		left = append(left, filepath.Join(".staging", e.Name()))
	}
	return left, nil
}
