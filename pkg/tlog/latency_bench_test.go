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
// per iteration, with the default options. In the same run, alternating
// rounds, it measures the appender as it was before the feeder (leaves
// added to Tessera one by one, BatchMaxAge 5ms): "old-" figures and the
// ratio x-old of throughputs; the disk may be shared, so only figures of
// one run compare.
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
// unit of work, two records (say a record and its receipt) appended
// together by one AppendMany call (one durable wait); the old figures are
// two sequential Appends. Figures are per pair ("appends/s" counts pairs).
func BenchmarkAppendPairLatency(b *testing.B) {
	for _, w := range []int{32, 64} {
		b.Run(fmt.Sprintf("writers=%d", w), func(b *testing.B) {
			benchLatency(b, w, func(l *Log, i int64, s string) error {
				if l.opts.unfed {
					if _, err := l.Append(context.Background(), benchBundle(i), s); err != nil {
						return err
					}
					_, err := l.Append(context.Background(), benchBundle(-i), "receipts")
					return err
				}
				_, err := l.AppendMany(context.Background(), []Item{
					{Bundle: benchBundle(i), Stream: s},
					{Bundle: benchBundle(-i), Stream: "receipts"},
				})
				return err
			})
		})
	}
}

type latencyRun struct {
	lat   []time.Duration
	total time.Duration
}

func (r *latencyRun) report(b *testing.B, prefix string) float64 {
	slices.Sort(r.lat)
	rate := float64(len(r.lat)) / r.total.Seconds()
	b.ReportMetric(rate, prefix+"appends/s")
	b.ReportMetric(ms(r.lat[len(r.lat)/2]), prefix+"p50-ms")
	b.ReportMetric(ms(r.lat[len(r.lat)*99/100]), prefix+"p99-ms")
	return rate
}

func benchLatency(b *testing.B, writers int, op func(*Log, int64, string) error) {
	k := newTestKey(b, testOrigin)
	l := openTestLog(b, b.TempDir(), Options{Signer: k.signer})
	defer closeLog(b, l)
	old := openTestLog(b, b.TempDir(), Options{Signer: k.signer, BatchMaxAge: bareBatchMaxAge, unfed: true})
	defer closeLog(b, old)
	streams := []string{runA, "time-evidence", "export", "keyring"}
	per := envInt("DOSSIER_BENCH_APPENDS", 40000) / 8
	var n atomic.Int64
	var cur, prev latencyRun
	round := func(l *Log, r *latencyRun) {
		ls, d := timeLatencies(b, writers, per, func() error {
			i := n.Add(1)
			return op(l, i, streams[i%4])
		})
		r.lat, r.total = append(r.lat, ls...), r.total+d
	}
	for b.Loop() {
		round(l, &cur)
		round(old, &prev)
		round(old, &prev)
		round(l, &cur)
	}
	rate := cur.report(b, "")
	b.ReportMetric(rate/prev.report(b, "old-"), "x-old")
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
