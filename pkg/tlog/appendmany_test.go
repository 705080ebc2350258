package tlog

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"testing"
)

func TestAppendManySequencesInOrder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	k := newTestKey(t, testOrigin)
	dir := t.TempDir()
	l := openTestLog(t, dir, testOptions(k))
	items := []Item{
		{Bundle: bundleN(0), Stream: runA}, {Bundle: bundleN(1), Stream: "receipts"},
		{Bundle: bundleN(2), Stream: runA}, {Bundle: bundleN(3), Stream: "receipts"},
	}
	rs, err := l.AppendMany(ctx, items)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		seq  uint64
		prev string
	}{{0, ""}, {0, ""}, {1, digestOf(bundleN(0))}, {1, digestOf(bundleN(1))}}
	for i, r := range rs {
		if r.Bundle != digestOf(items[i].Bundle) || r.Stream != items[i].Stream || r.Seq != want[i].seq || r.Prev != want[i].prev || r.Existing {
			t.Errorf("receipt %d: got %+v, want seq %d prev %q", i, r, want[i].seq, want[i].prev)
		}
	}
	again, err := l.AppendMany(ctx, items)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range again {
		if !r.Existing || r.Index != rs[i].Index || r.Seq != rs[i].Seq {
			t.Errorf("retry %d: got %+v, want the receipt %+v with Existing", i, r, rs[i])
		}
	}
	closeLog(t, l)
	l = openTestLog(t, dir, testOptions(k))
	defer closeLog(t, l)
	for i, r := range rs {
		got, ok := l.Lookup(r.Bundle)
		if !ok || got.Index != r.Index || string(got.Leaf) != string(r.Leaf) {
			t.Errorf("Lookup %d after reopen: got %+v, %v, want %+v", i, got, ok, r)
		}
	}
	next, err := l.Append(ctx, bundleN(4), runA)
	if err != nil || next.Seq != 2 || next.Prev != rs[2].Bundle {
		t.Errorf("Append after AppendMany: got %+v, %v, want seq 2 after %s", next, err, rs[2].Bundle)
	}
}

func TestAppendManyRejects(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	k := newTestKey(t, testOrigin)
	l := openTestLog(t, t.TempDir(), testOptions(k))
	defer closeLog(t, l)
	if _, err := l.Append(ctx, bundleN(0), "export"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		items []Item
		want  error
	}{
		{"logged under another stream", []Item{{Bundle: bundleN(1), Stream: runA}, {Bundle: bundleN(0), Stream: runA}}, ErrRecordConflict},
		{"empty bundle", []Item{{Stream: runA}}, nil},
		{"bad stream", []Item{{Bundle: bundleN(2), Stream: "Bad"}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := l.AppendMany(ctx, tt.items)
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

// collidingBundles returns two bundles whose digests share the index key
// (the top 24 bits), found by a birthday search.
func collidingBundles(t *testing.T) ([]byte, []byte) {
	seen := map[uint64][]byte{}
	for i := range 1 << 20 {
		b := fmt.Appendf(nil, `{"collide":%d}`, i)
		key := prefixOf(sha256.Sum256(b))
		if other, ok := seen[key]; ok {
			return other, b
		}
		seen[key] = b
	}
	t.Fatal("no two digests share a key")
	return nil, nil
}

// TestIndexKeyCollision: two digests with the same index key are told apart
// by the leaf and the frame on disk, before and after a reopen.
func TestIndexKeyCollision(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, b := collidingBundles(t)
	k := newTestKey(t, testOrigin)
	dir := t.TempDir()
	l := openTestLog(t, dir, testOptions(k))
	ra, err := l.Append(ctx, a, runA)
	if err != nil {
		t.Fatal(err)
	}
	check := func(stage string) {
		t.Helper()
		if got, ok := l.Lookup(ra.Bundle); !ok || got.Index != ra.Index {
			t.Errorf("%s: Lookup of a: got %+v, %v, want index %d", stage, got, ok, ra.Index)
		}
		rb, err := l.Append(ctx, b, runA)
		if err != nil || rb.Bundle != digestOf(b) || rb.Index == ra.Index {
			t.Fatalf("%s: Append of b: got %+v, %v, want a new record", stage, rb, err)
		}
		for _, bb := range [][]byte{a, b} {
			got, err := l.Bundle(ctx, digestOf(bb))
			if err != nil || string(got) != string(bb) {
				t.Errorf("%s: Bundle %s: got %q, %v", stage, digestOf(bb), got, err)
			}
		}
	}
	check("first open")
	closeLog(t, l)
	l = openTestLog(t, dir, testOptions(k))
	defer closeLog(t, l)
	check("reopened") // b is now logged: Append returns it as Existing
	if rb, _ := l.Lookup(digestOf(b)); rb.Seq != 1 || rb.Prev != ra.Bundle {
		t.Errorf("Lookup of b: got %+v, want seq 1 after a", rb)
	}
}
