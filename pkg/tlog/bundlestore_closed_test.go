package tlog

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"testing"
)

// TestDirStoreGetAfterClose: a Get after Close (a reader that outlives
// the log, e.g. the console's background refresh at shutdown) returns
// errStoreClosed rather than panicking.
func TestDirStoreGetAfterClose(t *testing.T) {
	t.Parallel()
	s, err := OpenDirStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	b := []byte("a bundle")
	d := fmt.Sprintf("sha256:%x", sha256.Sum256(b))
	if err := s.Put(context.Background(), d, b); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(context.Background(), d); !errors.Is(err, errStoreClosed) {
		t.Fatalf("Get after Close: %v, want errStoreClosed", err)
	}
}
