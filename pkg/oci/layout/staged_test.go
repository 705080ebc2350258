package layout

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A blob is readable at once but appears under blobs/sha256/ only at
// Commit, after it is synced: a crash before Commit (here: the Layout is
// abandoned) leaves no blob under its name, and a retried put commits it.
func TestStagedBlobAppearsAtCommit(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	blob := []byte("staged")
	d := desc(blob)
	if err := l.Put(d, blob); err != nil {
		t.Fatal(err)
	}
	final := filepath.Join(dir, "blobs", "sha256", d.Digest.Encoded())
	if _, err := os.Stat(final); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("blob under its name before Commit: %v", err)
	}
	if got, err := l.Get(d); err != nil || string(got) != "staged" {
		t.Fatalf("Get before Commit = %q, %v", got, err)
	}
	if ok, err := l.Exists(d); !ok || err != nil {
		t.Fatalf("Exists before Commit = %v, %v", ok, err)
	}
	crashed, err := Open(dir) // the first writer "crashed": nothing committed
	if err != nil {
		t.Fatal(err)
	}
	if _, err := crashed.Get(d); !errors.Is(err, ErrNotFound) {
		t.Fatalf("uncommitted blob seen by another writer: %v", err)
	}
	if err := crashed.Put(d, blob); err != nil {
		t.Fatal(err)
	}
	if err := crashed.Commit(); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(final); err != nil || string(b) != "staged" {
		t.Fatalf("after Commit: %q, %v", b, err)
	}
}

// A failed sync drops the staged blobs: nothing unsynced is renamed into
// place, and the retry writes them again.
func TestFailedSyncDropsStaged(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	errDisk := errors.New("injected EIO")
	syncStaged = func(*os.File, []string) error { return errDisk }
	defer func() { syncStaged = syncFiles }()
	blob := []byte("lost")
	d := desc(blob)
	if err := l.Put(d, blob); err != nil {
		t.Fatal(err)
	}
	if err := l.Tag("run-x", d, nil); !errors.Is(err, errDisk) {
		t.Fatalf("Commit = %v, want the sync error", err)
	}
	if _, err := l.Get(d); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get after a failed sync = %v, want ErrNotFound", err)
	}
	left, _ := filepath.Glob(filepath.Join(dir, ingestDir, "blob-*"))
	if len(left) != 0 {
		t.Fatalf("temporary files left: %v", left)
	}
	if err := l.Commit(); err != nil { // nothing staged is left to publish
		t.Fatal(err)
	}
	if _, err := l.Resolve("run-x"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a tag of the failed commit was published later: %v", err)
	}
	syncStaged = syncFiles
	if err := l.Put(d, blob); err != nil {
		t.Fatal(err)
	}
	if err := l.Tag("run-x", d, nil); err != nil {
		t.Fatal(err)
	}
	if got, err := l.Get(d); err != nil || string(got) != "lost" {
		t.Fatalf("after the retry: %q, %v", got, err)
	}
}

// Open removes staged blob files left by a writer that crashed long ago,
// and keeps recent ones (another writer may be about to commit them).
func TestOpenRemovesStaleStaged(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := Open(dir); err != nil {
		t.Fatal(err)
	}
	old := filepath.Join(dir, ingestDir, "blob-old")
	recent := filepath.Join(dir, ingestDir, "blob-recent")
	for _, p := range []string{old, recent} {
		if err := os.WriteFile(p, []byte("x"), 0o444); err != nil {
			t.Fatal(err)
		}
	}
	long := time.Now().Add(-2 * staleStaged)
	if err := os.Chtimes(old, long, long); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(old); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale staged file kept: %v", err)
	}
	if _, err := os.Stat(recent); err != nil {
		t.Errorf("recent staged file removed: %v", err)
	}
}
