package record

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// bigDatasetStatement returns a dataset statement listing n content files.
func bigDatasetStatement(b *testing.B, n int) []byte {
	b.Helper()
	var sb strings.Builder
	for i := range n {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"name":"train/part-%06d.parquet","digest":{"sha256":"%064x"},"annotations":{"size":%d}}`, i, i, 1<<20+i)
	}
	pred := strings.Replace(string(Template("dataset")), `"content": [`, `"content": [`+sb.String()+",", 1)
	st, err := NewStatement([]ResourceDescriptor{RunSubject("llama3-ft-2026-11-27-001", rootHex)}, PredicateTypePrefix+"dataset/v1", []byte(pred))
	if err != nil {
		b.Fatal(err)
	}
	return st
}

// BenchmarkParseStatement measures strict parsing and validation of a
// 10,000-file dataset statement beside its bound: plain encoding/json
// decoding of the same bytes into the same types, measured in the same run
// ("x-bound" is the ratio; strictness costs one extra token pass).
func BenchmarkParseStatement(b *testing.B) {
	st := bigDatasetStatement(b, 10000)
	bound := plainDecodeRate(b, st)
	b.SetBytes(int64(len(st)))
	b.ResetTimer()
	for b.Loop() {
		if _, err := ParseStatement(st); err != nil {
			b.Fatal(err)
		}
	}
	perOp := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(bound, "bound-ns/op")
	b.ReportMetric(perOp*1e9/bound, "x-bound")
}

// plainDecodeRate returns ns per encoding/json decode of st into the
// statement and dataset types, best of a few rounds.
func plainDecodeRate(b *testing.B, st []byte) float64 {
	b.Helper()
	best := time.Duration(1 << 62)
	for range 5 {
		start := time.Now()
		var s Statement
		var d Dataset
		if json.Unmarshal(st, &s) != nil || json.Unmarshal(s.Predicate, &d) != nil {
			b.Fatal("plain decode failed")
		}
		best = min(best, time.Since(start))
	}
	return float64(best.Nanoseconds())
}
