package ingest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/dossier-audit/dossier/pkg/bundle"
	"github.com/dossier-audit/dossier/pkg/tlog"
)

// benchClients is the number of concurrent load clients.
const benchClients = 32

// benchDuration is DOSSIER_BENCH_LOAD_SECONDS (60 for make bench), else 3 s.
func benchDuration() time.Duration {
	if s, err := strconv.Atoi(os.Getenv("DOSSIER_BENCH_LOAD_SECONDS")); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	return 3 * time.Second
}

// BenchmarkIngestLoad drives the daemon on loopback with 32 concurrent
// clients submitting unsigned records (the daemon signs record and
// receipt) and reports acknowledged durable records/s and p50/p99
// acknowledgement latency, beside the bare sign+fsync bound measured in
// the same run: 32 goroutines signing two records each and group-committing
// them to one fsynced file, with no HTTP, log or Tessera.
func BenchmarkIngestLoad(b *testing.B) {
	asDaemon(b)
	cfg := testConfig(b)
	cfg.Push.Interval = Duration(2 * time.Second) // the production default
	if d, err := time.ParseDuration(os.Getenv("DOSSIER_BENCH_LOG_BATCH_AGE")); err == nil {
		cfg.LogBatchMaxAge = Duration(d) // experiments: the log's gather time
	}
	if d, err := time.ParseDuration(os.Getenv("DOSSIER_BENCH_PUSH_INTERVAL")); err == nil {
		cfg.Push.Interval = Duration(d) // experiments: the background push's share
	}
	d := startDaemon(b, cfg)
	registerRun(b, d, testRunID)
	dur := benchDuration()
	b.ResetTimer()
	cpu0 := cpuTime()
	rate, lat := runLoad(b, d.url, dur, 0)
	cpuPer := (cpuTime() - cpu0).Seconds() * 1000 / (rate * dur.Seconds())
	backlog, _ := d.s.pusher.backlog(context.Background())
	b.StopTimer()
	bound := signFsyncBound(b, cfg, dur/3+time.Second)
	logBound := logPairBound(b, cfg, dur/3+time.Second)
	p50, p99 := percentile(lat, 50), percentile(lat, 99)
	b.ReportMetric(rate, "records/s")
	b.ReportMetric(p50.Seconds()*1000, "p50-ms")
	b.ReportMetric(p99.Seconds()*1000, "p99-ms")
	b.ReportMetric(bound, "bound-records/s")
	b.ReportMetric(rate/bound, "ratio")
	b.ReportMetric(logBound, "log-pair-records/s")
	b.ReportMetric(cpuPer, "cpu-ms/record")
	b.ReportMetric(rate/logBound, "x-log-pair")
	b.ReportMetric(float64(backlog), "push-backlog-leaves")
	m := d.s.metrics
	b.ReportMetric(m.appendLatency.mean().Seconds()*1000, "append-mean-ms")
	b.ReportMetric(m.fsync.mean().Seconds()*1000, "journal-fsync-mean-ms")
	b.ReportMetric(m.signLatency.mean().Seconds()*1000, "sign-mean-ms")
	b.Logf("%d clients, %v: %.0f acknowledged durable records/s, p50 %v, p99 %v; bare sign+fsync bound %.0f records/s (ratio %.2f); "+
		"the log alone, record and receipt appended together as the daemon does (one AppendMany, one durable wait): %.0f/s (ratio %.2f); "+
		"process CPU (daemon, background push to the OCI layout, and clients) %.2f ms per record, i.e. at most %.0f records/s on %d CPUs; "+
		"push backlog at the end %d leaves; goal >= 2000/s, p99 <= 250ms",
		benchClients, dur, rate, p50.Round(time.Microsecond), p99.Round(time.Microsecond), bound, rate/bound, logBound, rate/logBound,
		cpuPer, float64(runtime.NumCPU())*1000/cpuPer, runtime.NumCPU(), backlog)
}

// BenchmarkIngestLargeRSS submits 1,000,000 records (or
// DOSSIER_BENCH_LARGE_RECORDS) and reports the process's peak RSS
// (VmHWM), its RSS at the end (VmRSS, after a GC) — the process is the
// daemon with its background push and the load clients — and the Go heap
// in use. Gated by DOSSIER_BENCH_LARGE=1 (about 10 minutes on 2 cores).
func BenchmarkIngestLargeRSS(b *testing.B) {
	if os.Getenv("DOSSIER_BENCH_LARGE") != "1" {
		b.Skip("set DOSSIER_BENCH_LARGE=1 to submit 1,000,000 records")
	}
	asDaemon(b)
	cfg := testConfig(b)
	d := startDaemon(b, cfg)
	registerRun(b, d, testRunID)
	n := int64(1_000_000)
	if v, err := strconv.ParseInt(os.Getenv("DOSSIER_BENCH_LARGE_RECORDS"), 10, 64); err == nil && v > 0 {
		n = v
	}
	rate, _ := runLoad(b, d.url, 24*time.Hour, n)
	runtime.GC()
	writeHeapProfile(b, os.Getenv("DOSSIER_BENCH_HEAPPROFILE"))
	hwm, rss := procStatus("VmHWM:"), procStatus("VmRSS:")
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(rate, "records/s")
	b.ReportMetric(float64(hwm)/(1<<20), "rss-hwm-MiB")
	b.ReportMetric(float64(rss)/(1<<20), "rss-MiB")
	b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MiB")
	b.Logf("%d records at %.0f/s; peak RSS %.1f MiB, RSS %.1f MiB, heap in use %.1f MiB (budget 256 MiB at 1,000,000)", n, rate,
		float64(hwm)/(1<<20), float64(rss)/(1<<20), float64(ms.HeapInuse)/(1<<20))
}

// daemonMemoryLimit, daemonGCPercent and daemonProcsPerCPU are
// cmd/dossierd's soft heap limit, GC target and GOMAXPROCS multiplier
// (memoryLimit, gcPercent and procsPerCPU there).
const (
	daemonMemoryLimit = 192 << 20
	daemonGCPercent   = 300
	daemonProcsPerCPU = 2
)

// asDaemon applies cmd/dossierd's runtime settings for the benchmark, as
// its main does: each unless GOMEMLIMIT, GOGC or GOMAXPROCS is set.
func asDaemon(b *testing.B) {
	if os.Getenv("GOMEMLIMIT") == "" {
		old := debug.SetMemoryLimit(daemonMemoryLimit)
		b.Cleanup(func() { debug.SetMemoryLimit(old) })
	}
	if os.Getenv("GOGC") == "" {
		old := debug.SetGCPercent(daemonGCPercent)
		b.Cleanup(func() { debug.SetGCPercent(old) })
	}
	if os.Getenv("GOMAXPROCS") == "" {
		old := runtime.GOMAXPROCS(daemonProcsPerCPU * runtime.GOMAXPROCS(0))
		b.Cleanup(func() { runtime.GOMAXPROCS(old) })
	}
}

// runLoad submits from benchClients clients for dur or until total
// records were acknowledged; it returns the rate and the latencies.
func runLoad(b *testing.B, url string, dur time.Duration, total int64) (float64, []time.Duration) {
	tr := &http.Transport{MaxIdleConnsPerHost: benchClients * 2}
	client := &http.Client{Transport: tr, Timeout: time.Minute}
	defer tr.CloseIdleConnections()
	var count atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	deadline := time.Now().Add(dur)
	start := time.Now()
	var wg sync.WaitGroup
	for g := range benchClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for i := 0; time.Now().Before(deadline); i++ {
				if total > 0 && count.Load() >= total {
					break
				}
				body := benchBody(g, i)
				t0 := time.Now()
				req, _ := http.NewRequest("POST", url+"/v1/runs/"+testRunID+"/records", bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+tokProducer)
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Idempotency-Key", fmt.Sprintf("bench-%d-%d", g, i))
				res, err := client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, res.Body) // a drained body keeps the connection alive
				res.Body.Close()
				if res.StatusCode != http.StatusCreated {
					b.Errorf("status %d", res.StatusCode)
					return
				}
				mine = append(mine, time.Since(t0))
				count.Add(1)
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return float64(count.Load()) / time.Since(start).Seconds(), lat
}

var benchTemplate = func() string {
	return string(datasetBody(nopTB{}, testRunID, 0))
}()

// benchBody is the dataset template with a unique producedAt.
func benchBody(g, i int) []byte {
	ts := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC).Add(time.Duration(g)*time.Hour + time.Duration(i)*time.Microsecond).Format(time.RFC3339Nano)
	return []byte(strings.Replace(benchTemplate, "2026-11-27T09:00:00Z", ts, 1))
}

// signFsyncBound measures the bare pipeline: benchClients goroutines each
// sign a record and a receipt with the ingest key and group-commit both
// to one file with fsync (the journal's group committer).
func signFsyncBound(b *testing.B, cfg Config, dur time.Duration) float64 {
	s := &Service{metrics: newMetrics()}
	if err := s.openSigner(context.Background(), cfg, Deps{}); err != nil {
		b.Fatal(err)
	}
	j, err := openJournal(filepath.Join(b.TempDir(), "bound"), time.Hour, time.Now, anyLogged)
	if err != nil {
		b.Fatal(err)
	}
	defer j.close()
	stmt := []byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"x","digest":{"sha256":"` + strings.Repeat("a", 64) + `"}}],"predicateType":"https://dossier.dev/predicates/dataset/v1","predicate":{}}`)
	var count atomic.Int64
	deadline := time.Now().Add(dur)
	start := time.Now()
	var wg sync.WaitGroup
	for g := range benchClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Now().Before(deadline); i++ {
				var bs [][]byte
				for range 2 {
					bb, err := bundle.Sign(context.Background(), s.signer, bundle.PayloadTypeInToto, stmt)
					if err != nil {
						b.Error(err)
						return
					}
					bs = append(bs, bb)
				}
				// The signatures are deterministic (one statement): the
				// answer names a distinct record, as the daemon's do.
				d := sum256(fmt.Appendf(bs[0], "%d-%d", g, i))
				a := &SubmitResult{Record: fmt.Sprintf("sha256:%x", d), Receipt: fmt.Sprintf("sha256:%x", sum256(bs[1]))}
				if err := j.put(fmt.Sprintf("%d-%d", g, i), d, a); err != nil {
					b.Error(err)
					return
				}
				count.Add(1)
			}
		}()
	}
	wg.Wait()
	return float64(count.Load()) / time.Since(start).Seconds()
}

// logPairBound measures the log alone in the same run: benchClients
// goroutines each append a record-sized bundle to one run stream and a
// receipt-sized one to the receipts stream with one AppendMany call (one
// durable wait), as the daemon does — what every acknowledgement waits
// for, without HTTP, JSON, signing or the background push.
func logPairBound(b *testing.B, cfg Config, dur time.Duration) float64 {
	skey, err := os.ReadFile(cfg.LogKey)
	if err != nil {
		b.Fatal(err)
	}
	signer, err := tlog.NewSigner(strings.TrimSpace(string(skey)))
	if err != nil {
		b.Fatal(err)
	}
	dir := filepath.Join(b.TempDir(), "log")
	opts := tlog.Options{Signer: signer}
	if err := tlog.Init(context.Background(), dir, opts); err != nil {
		b.Fatal(err)
	}
	l, err := tlog.Open(context.Background(), dir, opts)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close(context.Background())
	stream := "sha256:" + strings.Repeat("ab", 32)
	var count atomic.Int64
	deadline := time.Now().Add(dur)
	start := time.Now()
	var wg sync.WaitGroup
	for g := range benchClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Now().Before(deadline); i++ {
				rec := append(benchBody(g, i), make([]byte, 2048)...)
				if _, err := l.AppendMany(context.Background(), []tlog.Item{
					{Bundle: rec, Stream: stream},
					{Bundle: append([]byte("receipt "), rec[:1500]...), Stream: "receipts"},
				}); err != nil {
					b.Error(err)
					return
				}
				count.Add(1)
			}
		}()
	}
	wg.Wait()
	return float64(count.Load()) / time.Since(start).Seconds()
}

// mean is the histogram's mean observation.
func (h *histogram) mean() time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.n == 0 {
		return 0
	}
	return time.Duration(h.sum / float64(h.n) * float64(time.Second))
}

func percentile(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*p/100)]
}

// cpuTime is the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// writeHeapProfile writes the live heap to path (when not empty), while
// the daemon still runs: what its memory per record is made of.
func writeHeapProfile(b *testing.B, path string) {
	if path == "" {
		return
	}
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := pprof.WriteHeapProfile(f); err != nil {
		b.Fatal(err)
	}
}

// procStatus returns a memory field of /proc/self/status (VmRSS:,
// VmHWM:) in bytes; 0 where there is none.
func procStatus(field string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == field {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}
