package filelock

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestLock checks that a second open file cannot take a held lock without
// waiting, and can once the first holder unlocks.
func TestLock(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "lock")
	release, err := Open(path, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(path, false); !errors.Is(err, ErrLocked) {
		t.Fatalf("second lock: got %v, want %v", err, ErrLocked)
	}
	release()
	again, err := Open(path, false)
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	again()
}

// TestLockWaits checks that a waiting Lock returns once the holder closes
// its file.
func TestLockWaits(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "lock")
	release, err := Open(path, false)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		r, err := Open(path, true)
		if err == nil {
			r()
		}
		done <- err
	}()
	release()
	if err := <-done; err != nil {
		t.Fatalf("waiting lock: %v", err)
	}
}

// TestOpenMissingDir reports the open error, not a lock error.
func TestOpenMissingDir(t *testing.T) {
	t.Parallel()
	_, err := Open(filepath.Join(t.TempDir(), "no", "lock"), false)
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("got %v, want %v", err, os.ErrNotExist)
	}
}
