//go:build unix

package console_test

import (
	"syscall"
	"time"
)

// cpuTime is the CPU time of the process so far (user and system, every
// thread: the read's garbage collection included), which other processes
// on the machine disturb less than the wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
