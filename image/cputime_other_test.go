//go:build !unix

package image

import "time"

// processCPU is not measured here: the benchmark reports 0 CPU time.
func processCPU() time.Duration { return 0 }
