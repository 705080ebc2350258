package anchorer_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/dossier-audit/dossier/pkg/anchor/anchorer"
	"github.com/dossier-audit/dossier/pkg/tlog/tlogproof"
	"github.com/dossier-audit/dossier/pkg/witness/witnesstest"
)

// BenchmarkBuild assembles the anchors.json of a package over a store of
// 2,000 anchored checkpoints (a daemon anchoring once a minute for a day
// and a half), proving 1,000 leaves. Bound, measured in the same run:
// listing the store and reading every stored file once.
func BenchmarkBuild(b *testing.B) {
	const stored = 2000
	l := witnesstest.NewLog(b, "audit.example.internal/log", "leaf", stored+1)
	dir := b.TempDir()
	store := anchorer.Store{Dir: dir}
	for size := uint64(1); size <= stored; size++ {
		cp, err := tlogproof.VerifyCheckpoint(l.Checkpoint(b, size), l.Verifier)
		if err != nil {
			b.Fatal(err)
		}
		if err := store.Put(cp); err != nil {
			b.Fatal(err)
		}
		if err := store.PutToken(size, "tsa", make([]byte, 2048)); err != nil {
			b.Fatal(err)
		}
	}
	pkg, err := tlogproof.VerifyCheckpoint(l.Checkpoint(b, stored+1), l.Verifier)
	if err != nil {
		b.Fatal(err)
	}
	var idx []uint64
	for i := uint64(0); i < stored; i += 2 {
		idx = append(idx, i)
	}
	a := &anchorer.Anchorer{Log: l.Verifier, Store: store,
		Prove: func(_ context.Context, old, size uint64) ([][32]byte, error) { return make([][32]byte, 11), nil }}
	bound := readAll(b, dir)
	start := time.Now()
	for b.Loop() {
		if f, err := a.Build(context.Background(), pkg, idx); err != nil || len(f.Anchors) != len(idx) {
			b.Fatalf("Build: %v (%d entries)", err, len(f.Anchors))
		}
	}
	per := time.Since(start) / time.Duration(b.N)
	b.ReportMetric(per.Seconds()*1e3, "ms/build")
	b.ReportMetric(bound.Seconds()*1e3, "bound-ms/build")
	b.ReportMetric(per.Seconds()/bound.Seconds(), "x-bound")
}

// readAll times passes reading every file of the store, and returns the
// time of one pass (the best of 5).
func readAll(b *testing.B, dir string) time.Duration {
	b.Helper()
	best := time.Duration(1 << 62)
	for range 5 {
		start := time.Now()
		n := 0
		err := filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
			if err == nil && !e.IsDir() {
				_, err = os.ReadFile(p)
				n++
			}
			return err
		})
		if err != nil || n == 0 {
			b.Fatal(err, n)
		}
		best = min(best, time.Since(start))
	}
	return best
}
