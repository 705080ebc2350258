package tlog

import (
	"context"
	"os"
	"runtime"
	"sync/atomic"
	"testing"
)

// maxHeapPerLeaf is the budget of the appender's in-memory state per leaf
// (issue 6: 1,000,000 records, two leaves each, within 256 MiB of daemon
// RSS): the digest index, the stream heads and the bundle store's index.
const maxHeapPerLeaf = 40

// TestHeapPerLeaf appends N leaves (200,000; 1,000,000 with
// DOSSIER_BENCH_LARGE=1) and checks the live heap they leave behind, after
// a GC, against maxHeapPerLeaf. It also checks the reopened log.
func TestHeapPerLeaf(t *testing.T) {
	if testing.Short() {
		t.Skip("appends 200,000 leaves")
	}
	n := 200_000
	if os.Getenv("DOSSIER_BENCH_LARGE") != "" {
		n = 1_000_000
	}
	k := newTestKey(t, testOrigin)
	dir := t.TempDir()
	base := liveHeap()
	l := openTestLog(t, dir, Options{Signer: k.signer, BatchMaxSize: 4096})
	appendMany(t, l, n)
	perLeaf := float64(liveHeap()-base) / float64(n)
	t.Logf("after %d appends: %.1f bytes of live heap per leaf", n, perLeaf)
	closeLog(t, l)
	runtime.KeepAlive(l)
	l = openTestLog(t, dir, Options{Signer: k.signer})
	reopened := float64(liveHeap()-base) / float64(n)
	t.Logf("after reopening: %.1f bytes of live heap per leaf", reopened)
	if r, ok := l.Lookup(digestOf(heapBundle(int64(n / 2)))); !ok || r.Bundle != digestOf(heapBundle(int64(n/2))) {
		t.Errorf("Lookup of leaf %d after reopen: got %+v, %v", n/2, r, ok)
	}
	closeLog(t, l)
	runtime.KeepAlive(l)
	if perLeaf > maxHeapPerLeaf || reopened > maxHeapPerLeaf {
		t.Errorf("live heap per leaf: got %.1f after appending, %.1f after reopening, want <= %d", perLeaf, reopened, maxHeapPerLeaf)
	}
}

func heapBundle(i int64) []byte { return benchBundle(i)[:64] }

// appendMany appends bundles 1..n over 4 streams from benchWriters goroutines.
func appendMany(t testing.TB, l *Log, n int) {
	streams := []string{runA, "time-evidence", "export", "keyring"}
	var next atomic.Int64
	var failed atomic.Bool
	done := make(chan struct{})
	w := min(benchWriters(), 1024)
	for range w {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := next.Add(1); i <= int64(n) && !failed.Load(); i = next.Add(1) {
				if _, err := l.Append(context.Background(), heapBundle(i), streams[i%4]); err != nil {
					t.Error(err)
					failed.Store(true)
				}
			}
		}()
	}
	for range w {
		<-done
	}
}

// liveHeap returns the bytes of live heap after a full GC.
func liveHeap() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
