package tlog

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestReadOnlyStoreLeavesAWriteInProgress: a reader opening the store
// while the writer is in the middle of a frame (here: half a frame at the
// tail) finds the whole frames, refuses Put and leaves the file as it is:
// no cut (which would pull the frame from under the writer, whose index
// points past it) and no saved tail.
func TestReadOnlyStoreLeavesAWriteInProgress(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	w := mustStoreNoCleanup(t, dir)
	defer w.Close()
	a, b := bundleN(1), bundleN(2)
	if err := w.Put(ctx, digestOf(a), a); err != nil {
		t.Fatal(err)
	}
	seg := filepath.Join(dir, "seg-000001")
	before, err := os.Stat(seg)
	if err != nil {
		t.Fatal(err)
	}
	// The writer's next frame, half written.
	frame := append(append([]byte(frameMagic), 0, 0, 0, byte(len(b))), make([]byte, 32)...)
	f, err := os.OpenFile(seg, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(frame[:20]); err != nil {
		t.Fatal(err)
	}
	f.Close()

	r, err := OpenDirStoreReadOnly(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got, err := r.Get(ctx, digestOf(a)); err != nil || string(got) != string(a) {
		t.Fatalf("read-only Get of a whole frame: %q, %v", got, err)
	}
	if err := r.Put(ctx, digestOf(b), b); !errors.Is(err, ErrReadOnlyStore) {
		t.Fatalf("read-only Put: %v, want ErrReadOnlyStore", err)
	}
	after, err := os.Stat(seg)
	if err != nil || after.Size() != before.Size()+20 {
		t.Fatalf("the reader changed the segment: size %d, want %d (%v)", after.Size(), before.Size()+20, err)
	}
	if tails, _ := filepath.Glob(seg + ".tail-*"); len(tails) != 0 {
		t.Fatalf("the reader saved a tail: %v", tails)
	}
}

// TestReadOnlyStoreMissingDir: opening a store that does not exist
// read-only fails and creates nothing.
func TestReadOnlyStoreMissingDir(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "bundles")
	if _, err := OpenDirStoreReadOnly(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("got %v, want ErrNotExist", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the directory was created: %v", err)
	}
}
