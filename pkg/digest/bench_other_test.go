//go:build !unix

package digest

import "time"

// cpuTime is not measured here; cpu_ratio then reports 0.
func cpuTime() time.Duration { return 0 }
