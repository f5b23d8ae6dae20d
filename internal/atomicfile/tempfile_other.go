//go:build !unix

package atomicfile

import "os"

func createTemp(dir, prefix string) (*os.File, func(), error) {
	f, err := os.CreateTemp(dir, prefix+"*")
	if err != nil {
		return nil, nil, err
	}
	return f, func() {}, nil
}

func sweep(dir, prefix string) {}
