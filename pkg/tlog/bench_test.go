package tlog

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/transparency-dev/tessera"
	"github.com/transparency-dev/tessera/storage/posix"

	"github.com/dossier-audit/dossier/pkg/tlog/tlogproof"
)

// benchWriters is the number of concurrent appenders (env
// DOSSIER_BENCH_WRITERS, default 256): a daemon serves many clients, and
// group commit needs them to fill batches.
func benchWriters() int {
	if n, err := strconv.Atoi(os.Getenv("DOSSIER_BENCH_WRITERS")); err == nil && n > 0 {
		return n
	}
	return 256
}

func parallelism(b *testing.B) {
	b.SetParallelism(max(1, benchWriters()/max(1, testingProcs())))
}

func testingProcs() int { return int(atomic.LoadInt32(&procs)) }

var procs = int32(func() int { n, _ := strconv.Atoi(os.Getenv("GOMAXPROCS")); return max(n, 2) }())

func benchBundle(i int64) []byte {
	b := make([]byte, 1024) // about the size of a small record bundle
	copy(b, fmt.Sprintf(`{"bench":%d}`, i))
	return b
}

// BenchmarkDurableAppend measures acknowledged appends/s (bundle durable in
// the store, leaf integrated in the durable tree) and, in the same run, its
// bounds: Tessera's bare POSIX appender with the same batching, writers,
// leaf size and filesystem, and the bare fsync rate. The disk is shared, so
// the two appenders alternate in rounds and the ratio compares like with
// like.
func BenchmarkDurableAppend(b *testing.B) {
	k := newTestKey(b, testOrigin)
	l := openTestLog(b, b.TempDir(), Options{Signer: k.signer})
	defer closeLog(b, l)
	bare, stop := newBareAppender(b, k)
	defer stop()
	var n atomic.Int64
	streams := []string{runA, "time-evidence", "export", "keyring"}
	ours := func() error {
		i := n.Add(1)
		_, err := l.Append(context.Background(), benchBundle(i), streams[i%4])
		return err
	}
	const rounds = 4
	var tOurs, tBare time.Duration
	for r := range rounds {
		per := (b.N + rounds - 1) / rounds
		if r%2 == 0 {
			tOurs += timeParallel(b, per, ours)
			tBare += timeParallel(b, per, bare)
		} else {
			tBare += timeParallel(b, per, bare)
			tOurs += timeParallel(b, per, ours)
		}
	}
	per := float64((b.N + rounds - 1) / rounds * rounds)
	b.ReportMetric(per/tOurs.Seconds(), "appends/s")
	b.ReportMetric(per/tBare.Seconds(), "bare-appends/s")
	b.ReportMetric(tBare.Seconds()/tOurs.Seconds(), "x-bare")
	b.ReportMetric(fsyncRate(b, 300*time.Millisecond), "fsyncs/s")
	b.ReportMetric(0, "ns/op")
}

// timeParallel runs fn n times from benchWriters goroutines.
func timeParallel(b *testing.B, n int, fn func() error) time.Duration {
	var left atomic.Int64
	left.Store(int64(n))
	var wg sync.WaitGroup
	start := time.Now()
	for range benchWriters() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for left.Add(-1) >= 0 {
				if err := fn(); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	return time.Since(start)
}

func newBareAppender(b *testing.B, k testKey) (func() error, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	d, err := posix.New(ctx, posix.Config{Path: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	a, shutdown, _, err := tessera.NewAppender(ctx, d, tessera.NewAppendOptions().
		WithCheckpointSigner(k.signer).WithBatching(DefaultBatchMaxSize, DefaultBatchMaxAge).
		WithCheckpointInterval(DefaultCheckpointInterval))
	if err != nil {
		b.Fatal(err)
	}
	var n atomic.Int64
	add := func() error {
		leaf := tlogproof.Leaf{Bundle: tlogproof.Digest(benchBundle(-n.Add(1))), Stream: runA, Seq: 1, Prev: runA}
		_, err := a.Add(ctx, tessera.NewEntry(leaf.Marshal()))()
		return err
	}
	return add, func() { shutdown(ctx); cancel() }
}

func fsyncRate(b *testing.B, d time.Duration) float64 {
	f, err := os.Create(filepath.Join(b.TempDir(), "f"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	rec := make([]byte, 128)
	n, start := 0, time.Now()
	for time.Since(start) < d {
		f.Write(rec)
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
		n++
	}
	return float64(n) / time.Since(start).Seconds()
}

// BenchmarkTesseraBareAppend is the bound: Tessera's POSIX appender alone,
// same batching, same writers, same filesystem, leaves of our leaf size.
func BenchmarkTesseraBareAppend(b *testing.B) {
	k := newTestKey(b, testOrigin)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d, err := posix.New(ctx, posix.Config{Path: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	a, shutdown, _, err := tessera.NewAppender(ctx, d, tessera.NewAppendOptions().
		WithCheckpointSigner(k.signer).WithBatching(DefaultBatchMaxSize, DefaultBatchMaxAge).
		WithCheckpointInterval(DefaultCheckpointInterval))
	if err != nil {
		b.Fatal(err)
	}
	defer shutdown(ctx)
	var n atomic.Int64
	parallelism(b)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			leaf := tlogproof.Leaf{Bundle: tlogproof.Digest(benchBundle(n.Add(1))), Stream: runA, Seq: 1, Prev: runA}
			if _, err := a.Add(ctx, tessera.NewEntry(leaf.Marshal()))(); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "appends/s")
}

// BenchmarkFsync is the physical bound: a small append plus fsync, in a
// loop, on the same filesystem.
func BenchmarkFsync(b *testing.B) {
	f, err := os.Create(filepath.Join(b.TempDir(), "f"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	rec := make([]byte, 128)
	start := time.Now()
	for b.Loop() {
		if _, err := f.Write(rec); err != nil {
			b.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "fsyncs/s")
}

// BenchmarkBuild1M builds a 1,000,000-leaf log through Append and proves
// and verifies one leaf. Set DOSSIER_BENCH_LARGE=1 to run it.
func BenchmarkBuild1M(b *testing.B) {
	if os.Getenv("DOSSIER_BENCH_LARGE") == "" {
		b.Skip("set DOSSIER_BENCH_LARGE=1 to build a 1,000,000-leaf log")
	}
	const total = 1_000_000
	ctx := context.Background()
	k := newTestKey(b, testOrigin)
	for b.Loop() {
		dir := b.TempDir()
		l := openTestLog(b, dir, Options{Signer: k.signer, BatchMaxSize: 4096})
		var n atomic.Int64
		start := time.Now()
		done := make(chan struct{})
		for range 1024 {
			go func() {
				defer func() { done <- struct{}{} }()
				for i := n.Add(1); i <= total; i = n.Add(1) {
					if _, err := l.Append(ctx, benchBundle(i)[:64], "export"); err != nil {
						b.Error(err)
						return
					}
				}
			}()
		}
		for range 1024 {
			<-done
		}
		build := time.Since(start)
		closeLog(b, l)
		t0 := time.Now()
		l = openTestLog(b, dir, Options{Signer: k.signer})
		reopen := time.Since(t0)
		closeLog(b, l)
		t0 = time.Now()
		p, err := ProveInclusion(ctx, dir, 777_777)
		if err != nil {
			b.Fatal(err)
		}
		prove := time.Since(t0)
		if _, err := tlogproof.VerifyInclusion(p, nil, k.verifier); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(build.Seconds(), "build-s")
		b.ReportMetric(total/build.Seconds(), "appends/s")
		b.ReportMetric(reopen.Seconds(), "reopen-s")
		b.ReportMetric(float64(prove.Microseconds())/1000, "prove-ms")
	}
}
