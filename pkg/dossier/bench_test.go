package dossier

import (
	"context"
	"crypto/sha256"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/dossier-audit/dossier/internal/atomicfile"
)

// BenchmarkExport10k exports a run of 10,000 records (plus its time
// evidence and keyring) from a fresh copy of one log per iteration: read
// the tree, fetch and parse every bundle, sign and log the export record,
// wait for its checkpoint, prove 10,003 leaves, lay out, write the tar
// atomically and log the sealed record. Its bound, measured in the same
// run, is writing the finished package bytes atomically with their
// SHA-256 — the least any exporter must do.
func BenchmarkExport10k(b *testing.B) {
	const n = 10000
	f := newFixture(b, n)
	var exportTime, boundTime time.Duration
	var pkg []byte
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		dir := f.copyLog(b)
		out := filepath.Join(b.TempDir(), "package.tar")
		l := f.open(b, dir)
		b.StartTimer()
		start := time.Now()
		if _, err := Export(context.Background(), f.request(out), Deps{Log: l, Exporter: f.exporter, PollInterval: 5 * time.Millisecond}); err != nil {
			b.Fatal(err)
		}
		exportTime += time.Since(start)
		b.StopTimer()
		closeLog(b, l)
		var err error
		if pkg, err = os.ReadFile(out); err != nil {
			b.Fatal(err)
		}
		start = time.Now()
		sha256.Sum256(pkg)
		if err := atomicfile.WriteNew(filepath.Join(b.TempDir(), "bound.tar"), pkg, 0o444); err != nil {
			b.Fatal(err)
		}
		boundTime += time.Since(start)
		b.StartTimer()
	}
	per := exportTime.Seconds() / float64(b.N)
	bound := boundTime.Seconds() / float64(b.N)
	b.ReportMetric(float64(n)/per, "records/s")
	b.ReportMetric(float64(n)/bound, "bound-records/s")
	b.ReportMetric(per/bound, "x-bound")
	b.ReportMetric(float64(len(pkg))/(1<<20), "MiB")
}
