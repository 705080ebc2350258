package review

import (
	"bytes"
	"runtime"
	"testing"
	"time"
)

// BenchmarkRender10k renders the review document of a 10,000-record run
// (bigInput: datasets from the record template, a training run, plan,
// evaluation, release, attachment, run end and approval). Its physical
// bound, measured in the same run, is writing the same document's bytes
// once: copying the rendered output into a bytes.Buffer sized for it and
// taking its SHA-256 digest (which Render also does), i.e. producing and
// digesting the output with every escaping and layout decision already
// made. Reported: ns/op, the MiB Render allocates per render (MiB/op),
// the document's size, the bound (bound-ns) and ratio = ns/op / bound.
func BenchmarkRender10k(b *testing.B) {
	benchRender(b, bigInput(b, 10000))
}

// BenchmarkRender10kPrevious is BenchmarkRender10k compared with a
// previous approved run of 10,000 records whose every dataset version
// differs (5,000 changes listed, the rest counted), the console's case
// once a model has an approved version.
func BenchmarkRender10kPrevious(b *testing.B) {
	in := bigInput(b, 10000)
	in.Previous, in.PreviousLabel = bigRun(b, "llama3-ft-2026-10-01-001", 10000, "2026.10"), "llama3 1.0.0"
	benchRender(b, in)
}

func benchRender(b *testing.B, in Input) {
	doc, _, err := Render(in)
	if err != nil {
		b.Fatal(err)
	}
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
	bound := time.Duration(1 << 62)
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
