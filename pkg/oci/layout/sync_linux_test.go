package layout

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func TestVersionAtLeast(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		release string
		want    bool
	}{
		{"6.18.44-fc-v669", true},
		{"5.8.0", true},
		{"5.8-rc1", true},
		{"5.10.0-21-amd64", true},
		{"5.7.19", false},
		{"4.19.0", false},
		{"3", false},
		{"", false},
		{"x.y", false},
	} {
		if got := versionAtLeast(c.release, 5, 8); got != c.want {
			t.Errorf("versionAtLeast(%q, 5, 8) = %v, want %v", c.release, got, c.want)
		}
	}
}

// With syncfs, the file it is called on is opened before the first blob
// of a batch is written and closed by the Commit that syncs the batch;
// blobs put concurrently with Commits all end up published, none is left
// staged without a watch, and no descriptor is leaked.
func TestSyncfsWatchSpansTheBatch(t *testing.T) {
	if !syncByFS {
		t.Skip("kernel before 5.8: blobs are fsynced one by one")
	}
	dir := t.TempDir()
	l, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	first := []byte("first")
	if err := l.Put(desc(first), first); err != nil {
		t.Fatal(err)
	}
	if l.watch == nil {
		t.Fatal("a blob is staged and no syncfs watch is open")
	}
	if err := l.Commit(); err != nil {
		t.Fatal(err)
	}
	if l.watch != nil {
		t.Fatal("Commit left the syncfs watch open")
	}
	var wg sync.WaitGroup
	var blobs [][]byte
	for i := range 200 {
		blobs = append(blobs, fmt.Appendf(nil, "blob %d", i))
	}
	for w := range 4 {
		wg.Go(func() {
			for i := w; i < len(blobs); i += 4 {
				if err := l.Put(desc(blobs[i]), blobs[i]); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			if err := l.Commit(); err != nil {
				t.Error(err)
			}
		}
	})
	wg.Wait()
	l.bmu.Lock()
	if len(l.staged) > 0 && l.watch == nil {
		t.Error("blobs staged without a syncfs watch")
	}
	l.bmu.Unlock()
	if err := l.Commit(); err != nil {
		t.Fatal(err)
	}
	for _, b := range blobs {
		if _, err := os.Stat(filepath.Join(dir, "blobs", "sha256", desc(b).Digest.Encoded())); err != nil {
			t.Fatalf("blob not published: %v", err)
		}
	}
	if l.watch != nil || len(l.staged) != 0 {
		t.Fatalf("after the last Commit: watch %v, %d staged", l.watch, len(l.staged))
	}
}
