package verify

import (
	"sync/atomic"
	"testing"
)

func TestParallel(t *testing.T) {
	t.Parallel()
	var sum atomic.Int64
	parallel(1000, 4, func(i int) { sum.Add(int64(i)) })
	if sum.Load() != 999*1000/2 {
		t.Fatalf("sum %d", sum.Load())
	}
	parallel(0, 4, func(int) { t.Error("called for n = 0") })
}

// TestParallelPanic: a panicking worker re-panics in the caller (where
// VerifyPackage's recover makes the result inconclusive), never crashes.
func TestParallelPanic(t *testing.T) {
	t.Parallel()
	defer func() {
		if recover() == nil {
			t.Fatal("panic was swallowed")
		}
	}()
	parallel(100, 3, func(i int) {
		if i == 42 {
			panic("boom")
		}
	})
}
