package tlog

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkAppendLatency measures the latency distribution of one
// acknowledged Append (p50, p99) and the throughput with 32 and 64
// concurrent appenders, DOSSIER_BENCH_APPENDS/4 appends (default 10,000)
// per iteration, with the daemon's default options, next to the bare fsync
// rate of the same filesystem.
func BenchmarkAppendLatency(b *testing.B) {
	for _, w := range []int{32, 64} {
		b.Run(fmt.Sprintf("writers=%d", w), func(b *testing.B) {
			benchLatency(b, w, func(l *Log, i int64, s string) error {
				_, err := l.Append(context.Background(), benchBundle(i), s)
				return err
			})
		})
	}
}

// BenchmarkAppendPairLatency is BenchmarkAppendLatency for the daemon's
// unit of work: a record and its receipt, appended together by one
// AppendMany call (one durable wait). Figures are per pair.
func BenchmarkAppendPairLatency(b *testing.B) {
	for _, w := range []int{32, 64} {
		b.Run(fmt.Sprintf("writers=%d", w), func(b *testing.B) {
			benchLatency(b, w, func(l *Log, i int64, s string) error {
				_, err := l.AppendMany(context.Background(), []Item{
					{Bundle: benchBundle(i), Stream: s},
					{Bundle: benchBundle(-i), Stream: "receipts"},
				})
				return err
			})
		})
	}
}

func benchLatency(b *testing.B, writers int, op func(*Log, int64, string) error) {
	k := newTestKey(b, testOrigin)
	l := openTestLog(b, b.TempDir(), Options{Signer: k.signer})
	defer closeLog(b, l)
	streams := []string{runA, "time-evidence", "export", "keyring"}
	per := envInt("DOSSIER_BENCH_APPENDS", 40000) / 4
	var n atomic.Int64
	var lat []time.Duration
	var total time.Duration
	for b.Loop() {
		ls, d := timeLatencies(b, writers, per, func() error {
			i := n.Add(1)
			return op(l, i, streams[i%4])
		})
		lat = append(lat, ls...)
		total += d
	}
	slices.Sort(lat)
	b.ReportMetric(float64(len(lat))/total.Seconds(), "appends/s")
	b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
	b.ReportMetric(ms(lat[len(lat)*99/100]), "p99-ms")
	b.ReportMetric(fsyncRate(b, 300*time.Millisecond), "fsyncs/s")
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// timeLatencies runs fn n times from w goroutines and returns each call's
// latency and the wall time.
func timeLatencies(b *testing.B, w, n int, fn func() error) ([]time.Duration, time.Duration) {
	var left atomic.Int64
	left.Store(int64(n))
	lat := make([]time.Duration, n)
	var wg sync.WaitGroup
	start := time.Now()
	for range w {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := left.Add(-1); j >= 0; j = left.Add(-1) {
				t0 := time.Now()
				if err := fn(); err != nil {
					b.Error(err)
					return
				}
				lat[j] = time.Since(t0)
			}
		}()
	}
	wg.Wait()
	return lat, time.Since(start)
}
