package console_test

import (
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/dossier-audit/dossier/pkg/bundle"
	"github.com/dossier-audit/dossier/pkg/console"
	"github.com/dossier-audit/dossier/pkg/record"
	"github.com/dossier-audit/dossier/pkg/tlog"
)

// newDaemonLogFixture logs, as dossierd does, a run of records records:
// newLogFixtureN's keyring, time evidence and training-run, evaluation and
// run-closed, then records-3 datasets citing a second time evidence, each
// appended together with its signed receipt in the stream "receipts" (one
// AppendMany per group, so a 10,000-record log is built in seconds). Its
// backend's MaxRunRecords is records: the run loads (BenchmarkTooLargeRun
// sets the default back).
func newDaemonLogFixture(tb testing.TB, records, others int) *logFixture {
	tb.Helper()
	f := newLogFixtureN(tb, 0)
	f.otherRuns(tb, others)
	te := f.timeEvidence(tb)
	const group = 256
	for lo := 0; lo < records-3; lo += group {
		var items []tlog.Item
		for i := lo; i < min(lo+group, records-3); i++ {
			rec := f.runRecord(tb, "dataset", i, te)
			items = append(items, tlog.Item{Bundle: rec, Stream: f.root.Digest()},
				tlog.Item{Bundle: f.receipt(tb, rec, te), Stream: record.ReceiptStream})
		}
		if _, err := f.log.AppendMany(context.Background(), items); err != nil {
			tb.Fatal(err)
		}
	}
	awaitCheckpoint(tb, f.log)
	f.cfg.MaxRunRecords = records
	var err error
	if f.b, err = console.NewLogBackend(f.cfg); err != nil {
		tb.Fatal(err)
	}
	return f
}

// awaitCheckpoint waits until the published checkpoint covers every
// append (without f.b, which would start refreshing its cache meanwhile).
func awaitCheckpoint(tb testing.TB, l *tlog.Log) {
	tb.Helper()
	want, _ := l.Size(context.Background())
	for range 500 {
		raw, err := tlog.ReadCheckpoint(l.Dir())
		if lines := strings.SplitN(string(raw), "\n", 3); err == nil && len(lines) == 3 && lines[1] == strconv.FormatUint(want, 10) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	tb.Fatalf("checkpoint never reached size %d", want)
}

// otherRuns logs n leaves of other runs' streams (unsigned stand-ins:
// nothing reads them but the leaf scan and the bundle store index).
func (f *logFixture) otherRuns(tb testing.TB, n int) {
	tb.Helper()
	const group = 4096
	for lo := 0; lo < n; lo += group {
		var items []tlog.Item
		for i := lo; i < min(lo+group, n); i++ {
			stream := fmt.Sprintf("sha256:%x", sha256.Sum256([]byte{byte(i % 7)}))
			items = append(items, tlog.Item{Bundle: []byte(fmt.Sprintf("record %d of another run %0300d", i, 0)), Stream: stream})
		}
		if _, err := f.log.AppendMany(context.Background(), items); err != nil {
			tb.Fatal(err)
		}
	}
}

// timeEvidence returns the digest of the logged time evidence record.
func (f *logFixture) timeEvidence(tb testing.TB) string {
	tb.Helper()
	te := f.sign(tb, "time-evidence", record.Template("time-evidence"), false)
	r, err := f.log.Append(context.Background(), te, "time-evidence")
	if err != nil {
		tb.Fatal(err)
	}
	return r.Bundle
}

// runRecord signs the i-th record of the run, of kind kind.
func (f *logFixture) runRecord(tb testing.TB, kind string, i int, te string) []byte {
	tb.Helper()
	var m map[string]any
	_ = json.Unmarshal(record.Template(kind), &m)
	m["timeEvidence"], m["producedAt"], m["runId"] = map[string]any{"digest": te}, "2026-11-27T10:00:00Z", logRunID
	m["name"] = fmt.Sprintf("%s-%05d", kind, i)
	delete(m, "plan")
	p, _ := json.Marshal(m)
	return f.sign(tb, kind, p, true)
}

// receipt signs the receipt of rec (kind receipt, stream receipts).
func (f *logFixture) receipt(tb testing.TB, rec []byte, te string) []byte {
	tb.Helper()
	p := record.Receipt{
		Common: record.Common{ProducedAt: "2026-11-27T10:00:01Z", Producer: record.Producer{ID: "workload:dossierd", Name: "dossierd", Kind: "workload"},
			TimeEvidence: &record.TimeEvidenceRef{Digest: te}},
		Record: fmt.Sprintf("sha256:%x", sha256.Sum256(rec)), Stream: f.root.Digest(), ReceivedAt: "2026-11-27T10:00:01Z", TimeVerdict: "good", Flags: []string{},
		Submitter: record.Submitter{Subject: "workload:pipeline", Name: "pipeline", Method: "token"},
	}
	pred, err := json.Marshal(p)
	if err != nil {
		tb.Fatal(err)
	}
	return f.sign(tb, "receipt", pred, false)
}

// BenchmarkLogBackendColdRun measures the first run page after a restart
// (a fresh LogBackend, empty cache) of a run of 10,000 records, each with
// its receipt, in a real log on disk; and, as its physical bound measured
// in the same run, reading every bundle of the run from the log's bundle
// store and verifying its signature once. Also reported: the read's CPU
// time (less disturbed by other processes than its wall time) and the
// bytes it allocates. others is the number of other runs' leaves logged
// before the run (a busy daemon's log).
func BenchmarkLogBackendColdRun(b *testing.B) {
	for _, others := range []int{0, 200000} {
		b.Run(fmt.Sprintf("others=%d", others), func(b *testing.B) { benchColdRun(b, others) })
	}
}

func benchColdRun(b *testing.B, others int) {
	const records = 10000
	start := time.Now()
	f := newDaemonLogFixture(b, records, others)
	b.Logf("fixture: %d other leaves, %d records and receipts in %v", others, records, time.Since(start).Round(time.Millisecond))
	var cold, cpu, bound []time.Duration
	var alloc uint64
	for b.Loop() {
		fresh, err := console.NewLogBackend(f.cfg)
		if err != nil {
			b.Fatal(err)
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		start, startCPU := time.Now(), cpuTime()
		d, err := fresh.Run(b.Context(), logRunID)
		if err != nil {
			b.Fatal(err)
		}
		cold = append(cold, time.Since(start))
		cpu = append(cpu, cpuTime()-startCPU)
		runtime.ReadMemStats(&after)
		alloc = max(alloc, after.TotalAlloc-before.TotalAlloc)
		if d.Summary.Records < records {
			b.Fatalf("the run has %d records, want at least %d", d.Summary.Records, records)
		}
		start = time.Now()
		f.readAndVerify(b, d)
		bound = append(bound, time.Since(start))
	}
	reportCold(b, cold, bound)
	b.ReportMetric(ms(slices.Min(cpu)), "cold-cpu-ms")
	b.ReportMetric(float64(alloc)/(1<<20), "alloc-MiB/read")
}

// readAndVerify reads every record of d from the log's bundle store and
// verifies its signature once.
func (f *logFixture) readAndVerify(tb testing.TB, d *console.RunDetail) {
	tb.Helper()
	v, err := signature.LoadVerifier(f.pipeline.pub, crypto.SHA256)
	if err != nil {
		tb.Fatal(err)
	}
	for _, r := range d.Records {
		raw, err := f.log.Bundle(context.Background(), r.Digest)
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := bundle.Verify(raw, v); err != nil {
			tb.Fatal(err)
		}
	}
}

// reportCold reports the fastest cold read, the fastest bound of the same
// run and their ratio.
func reportCold(b *testing.B, cold, bound []time.Duration) {
	c, lo := ms(slices.Min(cold)), ms(slices.Min(bound))
	b.ReportMetric(c, "cold-ms")
	b.ReportMetric(lo, "bound-ms")
	b.ReportMetric(c/lo, "ratio")
}
