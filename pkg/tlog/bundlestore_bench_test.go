package tlog

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkBundleStorePut measures group-committed durable Puts alone.
func BenchmarkBundleStorePut(b *testing.B) {
	s, _ := OpenDirStore(b.TempDir())
	defer s.Close()
	var n atomic.Int64
	parallelism(b)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			bb := benchBundle(n.Add(1))
			if err := s.Put(context.Background(), digestOf(bb), bb); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "puts/s")
}
