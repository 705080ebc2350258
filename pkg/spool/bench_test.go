package spool

import (
	"bytes"
	"crypto/sha256"
	"testing"
	"time"
)

// BenchmarkRead reads and checks a packed spool of four records. Beside
// the figure it reports its physical bound measured in the same run:
// hashing the same bytes with SHA-256 (every blob is hashed once, plus the
// whole tar), as read/hash throughput ratio "x-of-sha256".
func BenchmarkRead(b *testing.B) {
	fx := newFixture(b)
	b.SetBytes(int64(len(fx.tar)))
	start := time.Now()
	for i := 0; i < 200; i++ {
		sha256.Sum256(fx.tar)
	}
	hashPer := time.Since(start) / 200
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Read(bytes.NewReader(fx.tar), Limits{}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	perOp := b.Elapsed() / time.Duration(b.N)
	b.ReportMetric(float64(hashPer.Nanoseconds()), "sha256-ns/op")
	b.ReportMetric(float64(perOp)/float64(hashPer), "x-of-sha256")
}
