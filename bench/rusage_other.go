//go:build !unix

package bench

import "time"

// processCPU is not implemented here: results say the CPU figures are
// missing (CPUMeasured false).
func processCPU() (user, sys time.Duration, ok bool) { return 0, 0, false }
