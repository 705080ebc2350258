package review

import (
	"bytes"
	"runtime"
	"testing"
	"time"
)

// BenchmarkRender10k renders the review document of a 10,000-record run
// (bigInput). Its physical bound, measured in the same run, is writing the
// same document's bytes once: copying the rendered output into a bytes
// Buffer sized for it and taking its SHA-256 digest (which Render also
// does), i.e. the cost of producing and digesting the output with every
// escaping and layout decision already made. Reported: ns/op, the MiB
// Render allocates, the bound (ns) and ratio = ns/op / bound.
func BenchmarkRender10k(b *testing.B) {
	in := bigInput(b, 10000)
	doc, _, err := Render(in)
	if err != nil {
		b.Fatal(err)
	}
	var bound time.Duration = 1 << 62
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	for b.Loop() {
		if _, _, err := Render(in); err != nil {
			b.Fatal(err)
		}
	}
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	for range 5 {
		t := time.Now()
		var buf bytes.Buffer
		buf.Grow(len(doc))
		buf.Write(doc)
		_ = Digest(buf.Bytes())
		bound = min(bound, time.Since(t))
	}
	per := float64(elapsed.Nanoseconds()) / float64(b.N)
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(b.N)/(1<<20), "MiB/op")
	b.ReportMetric(float64(len(doc))/(1<<20), "doc-MiB")
	b.ReportMetric(float64(bound.Nanoseconds()), "bound-ns")
	b.ReportMetric(per/float64(bound.Nanoseconds()), "ratio")
}
