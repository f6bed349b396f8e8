//go:build unix

package match

import (
	"syscall"
	"time"
)

// cpuTime is the CPU time (user+system) used by this process so far.
// Benchmarks report MB per CPU-second next to MB/s because the machines we
// measure on are shared: wall-clock throughput swings with other load,
// CPU-time throughput much less.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
