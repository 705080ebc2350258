package digest

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The benchmark tree: benchBigFiles files sharing most of the bytes plus
// benchSmallFiles files of benchSmallSize bytes. DOSSIER_BENCH_HASH_BYTES sets
// the total (the budget is measured with 2 GiB or more); the default keeps
// `go test -bench .` quick.
const (
	benchBigFiles   = 8
	benchSmallFiles = 2000
	benchSmallSize  = 16 << 10
	benchDefault    = 256 << 20
)

var bench struct {
	once  sync.Once
	dir   string
	big   []string
	bytes int64
	err   error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if bench.dir != "" {
		os.RemoveAll(bench.dir)
	}
	os.Exit(code)
}

// benchTree creates the tree once per process and reads it once so that it
// is in the page cache.
func benchTree(b *testing.B) (string, int64) {
	bench.once.Do(func() { bench.err = makeBenchTree() })
	if bench.err != nil {
		b.Fatal(bench.err)
	}
	return bench.dir, bench.bytes
}

func makeBenchTree() error {
	total := int64(benchDefault)
	if s := os.Getenv("DOSSIER_BENCH_HASH_BYTES"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < benchSmallFiles*benchSmallSize*2 {
			return fmt.Errorf("DOSSIER_BENCH_HASH_BYTES=%q: want a byte count of at least %d", s, benchSmallFiles*benchSmallSize*2)
		}
		total = n
	}
	dir, err := os.MkdirTemp("", "dossier-bench-hash-")
	if err != nil {
		return err
	}
	bench.dir = dir
	bigSize := (total - benchSmallFiles*benchSmallSize) / benchBigFiles
	chunk := make([]byte, 1<<20)
	for i := range chunk {
		chunk[i] = byte(i * 7)
	}
	for i := range benchBigFiles {
		p := filepath.Join(dir, "big", fmt.Sprintf("shard-%02d.bin", i))
		if err := writeFill(p, bigSize, chunk, byte(i)); err != nil {
			return err
		}
		bench.big = append(bench.big, p)
		bench.bytes += bigSize
	}
	for i := range benchSmallFiles {
		p := filepath.Join(dir, "small", fmt.Sprintf("%02d", i%50), fmt.Sprintf("f%04d", i))
		if err := writeFill(p, benchSmallSize, chunk, byte(i)); err != nil {
			return err
		}
		bench.bytes += benchSmallSize
	}
	_, err = Hash(context.Background(), []string{dir}, Options{})
	return err
}

func writeFill(p string, size int64, chunk []byte, seed byte) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	f, err := os.Create(p)
	if err != nil {
		return err
	}
	chunk[0] = seed
	for size > 0 {
		n := min(size, int64(len(chunk)))
		if _, err := f.Write(chunk[:n]); err != nil {
			f.Close()
			return err
		}
		size -= n
	}
	if err := f.Sync(); err != nil { // no writeback during the measurement
		f.Close()
		return err
	}
	return f.Close()
}

// BenchmarkHashTree measures Hash over a page-cached tree and, in the same
// run, its bound: SHA-256 over the same number of bytes from memory on
// GOMAXPROCS goroutines. Each Hash iteration is paired with one bound
// measurement so that both see the same machine; ratio compares the best
// iteration of each (the machine is shared, the best is the least disturbed),
// and cpu_ratio their CPU time (bound CPU / Hash CPU for the same bytes),
// which other processes on the machine do not disturb.
// It also reports sha256sum run as GOMAXPROCS parallel processes over the big
// files (xargs -P style), when on PATH.
func BenchmarkHashTree(b *testing.B) {
	dir, total := benchTree(b)
	benchAgainstBound(b, dir, total, runtime.GOMAXPROCS(0))
	if r, ok := sha256sumRate(bench.big); ok {
		b.ReportMetric(r, "sha256sum_MB/s")
	}
}

// BenchmarkHashLargeFile measures Hash over one big page-cached file against
// the bound for a single stream: SHA-256 from memory on one goroutine.
func BenchmarkHashLargeFile(b *testing.B) {
	benchTree(b)
	fi, err := os.Stat(bench.big[0])
	if err != nil {
		b.Fatal(err)
	}
	benchAgainstBound(b, bench.big[0], fi.Size(), 1)
}

func benchAgainstBound(b *testing.B, root string, total int64, boundProcs int) {
	b.SetBytes(total)
	best, bestBound := time.Duration(math.MaxInt64), time.Duration(math.MaxInt64)
	var cpu, cpuBound time.Duration
	b.ResetTimer()
	for b.Loop() {
		start, c0 := time.Now(), cpuTime()
		if _, err := Hash(context.Background(), []string{root}, Options{}); err != nil {
			b.Fatal(err)
		}
		best, cpu = min(best, time.Since(start)), cpu+cpuTime()-c0
		b.StopTimer()
		c0 = cpuTime()
		bestBound = min(bestBound, memoryTime(total, boundProcs))
		cpuBound += cpuTime() - c0
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(float64(total)/best.Seconds()/1e6, "best_MB/s")
	b.ReportMetric(float64(total)/bestBound.Seconds()/1e6, "bound_MB/s")
	b.ReportMetric(bestBound.Seconds()/best.Seconds(), "ratio")
	if cpu > 0 {
		b.ReportMetric(cpuBound.Seconds()/cpu.Seconds(), "cpu_ratio")
	}
}

// memoryTime returns the time SHA-256 takes over total bytes held in
// memory, split over procs goroutines, each streaming its share through one
// 4 MiB buffer.
func memoryTime(total int64, procs int) time.Duration {
	bufs := make([][]byte, procs)
	for i := range bufs {
		bufs[i] = make([]byte, 4<<20)
		for j := range bufs[i] {
			bufs[i][j] = byte(j)
		}
	}
	start := time.Now()
	var wg sync.WaitGroup
	for _, buf := range bufs {
		wg.Go(func() {
			h := sha256.New()
			for left := total / int64(procs); left > 0; left -= int64(len(buf)) {
				h.Write(buf[:min(left, int64(len(buf)))])
			}
			h.Sum(nil)
		})
	}
	wg.Wait()
	return time.Since(start)
}

// sha256sumRate runs GOMAXPROCS sha256sum processes over files, dealt
// round-robin, and returns their combined MB/s.
func sha256sumRate(files []string) (float64, bool) {
	if _, err := exec.LookPath("sha256sum"); err != nil || len(files) == 0 {
		return 0, false
	}
	n := runtime.GOMAXPROCS(0)
	groups := make([][]string, n)
	var size int64
	for i, f := range files {
		groups[i%n] = append(groups[i%n], f)
		if fi, err := os.Stat(f); err == nil {
			size += fi.Size()
		}
	}
	start := time.Now()
	var wg sync.WaitGroup
	var failed atomic.Bool
	for _, g := range groups {
		if len(g) == 0 {
			continue
		}
		wg.Go(func() {
			cmd := exec.Command("sha256sum", g...)
			cmd.Stdout = io.Discard
			if cmd.Run() != nil {
				failed.Store(true)
			}
		})
	}
	wg.Wait()
	return float64(size) / time.Since(start).Seconds() / 1e6, !failed.Load()
}
