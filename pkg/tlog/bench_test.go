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

// The benchmarks do a fixed amount of work per iteration, so that
// `-benchtime 1x` (make bench) still measures a steady state.

// envInt reads a positive integer from the environment.
func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// benchWriters is the number of concurrent appenders (DOSSIER_BENCH_WRITERS,
// default 1024): a daemon serves many clients, and group commit needs them.
func benchWriters() int { return envInt("DOSSIER_BENCH_WRITERS", 1024) }

func benchBundle(i int64) []byte {
	b := make([]byte, 1024) // about the size of a small record bundle
	copy(b, fmt.Sprintf(`{"bench":%d}`, i))
	return b
}

// BenchmarkDurableAppend measures acknowledged appends/s (bundle durable in
// the store, leaf integrated in the durable tree) and, in the same run, its
// bounds: Tessera's bare POSIX appender with the same batching, writers,
// leaf size and filesystem, and the bare fsync rate. The disk may be
// shared, so the two appenders alternate in rounds and x-bare compares like
// with like. DOSSIER_BENCH_APPENDS (default 40000) appends per side.
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
	per := envInt("DOSSIER_BENCH_APPENDS", 40000) / rounds
	var tOurs, tBare time.Duration
	for b.Loop() {
		for r := range rounds {
			if r%2 == 0 {
				tOurs += timeParallel(b, per, ours)
				tBare += timeParallel(b, per, bare)
			} else {
				tBare += timeParallel(b, per, bare)
				tOurs += timeParallel(b, per, ours)
			}
		}
	}
	total := float64(per * rounds * b.N)
	b.ReportMetric(total/tOurs.Seconds(), "appends/s")
	b.ReportMetric(total/tBare.Seconds(), "bare-appends/s")
	b.ReportMetric(tBare.Seconds()/tOurs.Seconds(), "x-bare")
	b.ReportMetric(fsyncRate(b, 500*time.Millisecond), "fsyncs/s")
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

// newBareAppender is Tessera's POSIX appender alone, fed leaves of our leaf
// size one by one, with our checkpoint interval and bareBatchMaxAge (fed
// one by one, a shorter age cuts many small batches while one integrates).
func newBareAppender(b *testing.B, k testKey) (func() error, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	d, err := posix.New(ctx, posix.Config{Path: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	a, shutdown, _, err := tessera.NewAppender(ctx, d, tessera.NewAppendOptions().
		WithCheckpointSigner(k.signer).WithBatching(DefaultBatchMaxSize, bareBatchMaxAge).
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

// bareBatchMaxAge is the batch age of the bare appender (and of this
// appender before its feeder).
const bareBatchMaxAge = 5 * time.Millisecond

// BenchmarkFsync is the physical bound alone: a small append plus fsync in
// a loop for one second per iteration, on the filesystem of the temp dir.
func BenchmarkFsync(b *testing.B) {
	var rate float64
	for b.Loop() {
		rate = fsyncRate(b, time.Second)
	}
	b.ReportMetric(rate, "fsyncs/s")
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
		if _, err := f.Write(rec); err != nil {
			b.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
		n++
	}
	return float64(n) / time.Since(start).Seconds()
}

// BenchmarkProveInclusion proves and verifies one leaf of a 100,000-leaf
// log (built once, untimed) per operation.
func BenchmarkProveInclusion(b *testing.B) {
	ctx := context.Background()
	k := newTestKey(b, testOrigin)
	dir := b.TempDir()
	buildBench(b, dir, k, 100_000)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		p, err := ProveInclusion(ctx, dir, uint64(i*7919%100_000))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := tlogproof.VerifyInclusion(p, nil, k.verifier); err != nil {
			b.Fatal(err)
		}
	}
}

// buildBench appends total small bundles from 1024 writers and returns the
// build time.
func buildBench(b *testing.B, dir string, k testKey, total int64) time.Duration {
	l := openTestLog(b, dir, Options{Signer: k.signer, BatchMaxSize: 4096})
	var n atomic.Int64
	start := time.Now()
	timeParallel(b, int(total), func() error {
		_, err := l.Append(context.Background(), benchBundle(n.Add(1))[:64], "export")
		return err
	})
	d := time.Since(start)
	closeLog(b, l)
	return d
}

// BenchmarkBuild1M builds a 1,000,000-leaf log through Append, reopens it
// (Open rebuilds its index from the leaves) and proves and verifies one
// leaf. Set DOSSIER_BENCH_LARGE=1 to run it.
func BenchmarkBuild1M(b *testing.B) {
	if os.Getenv("DOSSIER_BENCH_LARGE") == "" {
		b.Skip("set DOSSIER_BENCH_LARGE=1 to build a 1,000,000-leaf log")
	}
	const total = 1_000_000
	ctx := context.Background()
	k := newTestKey(b, testOrigin)
	for b.Loop() {
		dir := b.TempDir()
		build := buildBench(b, dir, k, total)
		t0 := time.Now()
		l := openTestLog(b, dir, Options{Signer: k.signer})
		reopen := time.Since(t0)
		closeLog(b, l)
		t0 = time.Now()
		p, err := ProveInclusion(ctx, dir, 777_777)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := tlogproof.VerifyInclusion(p, nil, k.verifier); err != nil {
			b.Fatal(err)
		}
		prove := time.Since(t0)
		b.ReportMetric(build.Seconds(), "build-s")
		b.ReportMetric(total/build.Seconds(), "appends/s")
		b.ReportMetric(reopen.Seconds(), "reopen-s")
		b.ReportMetric(float64(prove.Microseconds())/1000, "prove+verify-ms")
	}
}

// BenchmarkReopen opens a 100,000-leaf log: Open rebuilds the digest index
// and stream heads from the leaves.
func BenchmarkReopen(b *testing.B) {
	k := newTestKey(b, testOrigin)
	dir := b.TempDir()
	buildBench(b, dir, k, 100_000)
	b.ResetTimer()
	for b.Loop() {
		l := openTestLog(b, dir, Options{Signer: k.signer})
		b.StopTimer()
		closeLog(b, l)
		b.StartTimer()
	}
}
