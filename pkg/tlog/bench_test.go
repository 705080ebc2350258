package tlog

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
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

// BenchmarkDurableAppend measures acknowledged appends/s: bundle durable in
// the store, leaf integrated in the durable tree.
func BenchmarkDurableAppend(b *testing.B) {
	k := newTestKey(b, testOrigin)
	l := openTestLog(b, b.TempDir(), Options{Signer: k.signer})
	defer closeLog(b, l)
	var n atomic.Int64
	streams := []string{runA, "time-evidence", "export", "keyring"}
	parallelism(b)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			if _, err := l.Append(context.Background(), benchBundle(i), streams[i%4]); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "appends/s")
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
