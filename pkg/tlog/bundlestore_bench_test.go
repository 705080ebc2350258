package tlog

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkBundleStorePut measures group-committed durable Puts alone
// (DOSSIER_BENCH_APPENDS bundles of 1 KiB from benchWriters goroutines).
func BenchmarkBundleStorePut(b *testing.B) {
	s, err := OpenDirStore(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	var n atomic.Int64
	total := envInt("DOSSIER_BENCH_APPENDS", 40000)
	var d time.Duration
	for b.Loop() {
		d += timeParallel(b, total, func() error {
			bb := benchBundle(n.Add(1))
			return s.Put(context.Background(), digestOf(bb), bb)
		})
	}
	b.ReportMetric(float64(total*b.N)/d.Seconds(), "puts/s")
}
