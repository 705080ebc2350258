package policy

import (
	"testing"
	"time"

	"github.com/dossier-audit/dossier/pkg/record"
)

// BenchmarkEvaluate evaluates the release policy over a run of 100,000
// records approved by two reviewers who each list every record. It reports
// ns per record beside the bound every evaluation pays: indexing each
// record once by digest (measured in the same run).
func BenchmarkEvaluate(b *testing.B) {
	f := newFixture(b)
	f.recs = f.recs[:len(f.recs)-2] // drop the two approvals
	for range 100000 {
		f.add("attachment", f.pipeline, &record.Attachment{})
	}
	f.policy.Releases.Approvals.Cover = append(f.policy.Releases.Approvals.Cover, "attachment")
	f.approve(f.rita, "approve", f.runDigests()...)
	f.approve(f.victor, "approve", f.runDigests()...)
	in := f.input()
	if rep := Evaluate(in); !rep.OK() {
		b.Fatalf("fixture fails: %s", rep.Error())
	}
	n := float64(len(in.Records))
	start := time.Now()
	for range 20 {
		m := make(map[string]Record, len(in.Records))
		for _, r := range in.Records {
			m[r.Digest] = r
		}
	}
	bound := float64(time.Since(start).Nanoseconds()) / 20 / n
	b.ResetTimer()
	for b.Loop() {
		Evaluate(in)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/record")
	b.ReportMetric(bound, "bound-ns/record")
}
