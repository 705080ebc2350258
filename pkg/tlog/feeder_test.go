package tlog

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/transparency-dev/tessera"
)

// TestFeederGroups: leaves queued while a group is in flight are added
// together as the next group, in queue order; after the feeder stops, Add
// fails at once.
func TestFeederGroups(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	release := make(chan struct{})
	var mu sync.Mutex
	var added []string
	var next uint64
	add := func(_ context.Context, e *tessera.Entry) tessera.IndexFuture {
		mu.Lock()
		added = append(added, string(e.Data()))
		i := next
		next++
		mu.Unlock()
		return func() (tessera.Index, error) { <-release; return tessera.Index{Index: i}, nil }
	}
	f := newFeeder(ctx, add, time.Millisecond)
	first := f.Add(ctx, tessera.NewEntry([]byte("a")))
	for len(snapshotAdded(&mu, &added)) < 1 { // wait until the first group is in flight
	}
	futs := []tessera.IndexFuture{f.Add(ctx, tessera.NewEntry([]byte("b"))), f.Add(ctx, tessera.NewEntry([]byte("c")))}
	if got := snapshotAdded(&mu, &added); len(got) != 1 {
		t.Fatalf("while the first group is in flight: added %q, want only a", got)
	}
	close(release)
	if idx, err := first(); err != nil || idx.Index != 0 {
		t.Fatalf("first: got %v, %v", idx, err)
	}
	for i, fut := range futs {
		if idx, err := fut(); err != nil || idx.Index != uint64(i+1) {
			t.Errorf("leaf %d: got %v, %v, want index %d", i, idx, err, i+1)
		}
	}
	if got := snapshotAdded(&mu, &added); len(got) != 3 || got[1] != "b" || got[2] != "c" {
		t.Errorf("added: got %q, want a b c", got)
	}
	cancel()
	for {
		if _, err := f.Add(ctx, tessera.NewEntry([]byte("d")))(); errors.Is(err, errFeederStopped) {
			break
		}
	}
}

func snapshotAdded(mu *sync.Mutex, added *[]string) []string {
	mu.Lock()
	defer mu.Unlock()
	return append([]string(nil), *added...)
}

// TestFeederStopsAfterFailure: once a leaf failed, later groups are failed
// without reaching Tessera.
func TestFeederStopsAfterFailure(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	boom := errors.New("boom")
	var calls int
	add := func(context.Context, *tessera.Entry) tessera.IndexFuture {
		calls++ // only the feeder goroutine calls add
		return func() (tessera.Index, error) { return tessera.Index{}, boom }
	}
	f := newFeeder(ctx, add, time.Millisecond)
	if _, err := f.Add(ctx, tessera.NewEntry([]byte("a")))(); !errors.Is(err, boom) {
		t.Fatalf("first: got %v, want %v", err, boom)
	}
	if _, err := f.Add(ctx, tessera.NewEntry([]byte("b")))(); !errors.Is(err, boom) {
		t.Fatalf("after the failure: got %v, want %v", err, boom)
	}
	if calls != 1 {
		t.Errorf("leaves handed to Tessera: got %d, want 1", calls)
	}
}
