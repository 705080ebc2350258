package atomicfile

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestWriteFile replaces content whole and leaves no temporary file.
func TestWriteFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	for _, content := range []string{"first", "second, longer"} {
		if err := WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if got, _ := os.ReadFile(path); string(got) != content {
			t.Fatalf("got %q, want %q", got, content)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("%d entries in the directory, want 1", len(ents))
	}
}

// TestWriteNewRefuses never replaces an existing file.
func TestWriteNewRefuses(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "f")
	if err := WriteNew(path, []byte("a"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteNew(path, []byte("b"), 0o644); !errors.Is(err, os.ErrExist) {
		t.Fatalf("got %v, want %v", err, os.ErrExist)
	}
	if got, _ := os.ReadFile(path); string(got) != "a" {
		t.Fatalf("content %q, want %q", got, "a")
	}
}

// TestSyncDir syncs a directory and reports a missing one.
func TestSyncDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := SyncDir(dir); err != nil {
		t.Fatal(err)
	}
	if err := SyncDir(filepath.Join(dir, "none")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("got %v, want %v", err, os.ErrNotExist)
	}
}
