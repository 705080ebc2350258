package layout

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func desc(b []byte) ocispec.Descriptor {
	return ocispec.Descriptor{MediaType: "application/octet-stream", Digest: digest.FromBytes(b), Size: int64(len(b))}
}

func TestPutGetTag(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	l, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	blob := []byte("hello")
	d := desc(blob)
	if err := l.Put(d, blob); err != nil {
		t.Fatal(err)
	}
	if err := l.Put(d, blob); err != nil {
		t.Fatalf("second put of the same blob: %v", err)
	}
	got, err := l.Get(d)
	if err != nil || string(got) != "hello" {
		t.Fatalf("Get = %q, %v", got, err)
	}
	if err := l.Tag("run-a", d, map[string]string{"kind": "x"}); err != nil {
		t.Fatal(err)
	}
	if err := l.Tag("run-a", d, nil); err != nil {
		t.Fatal(err)
	}
	r, err := l.Resolve("run-a")
	if err != nil || r.Digest != d.Digest {
		t.Fatalf("Resolve = %v, %v", r, err)
	}
	if _, err := l.Resolve("run-b"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing tag: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "oci-layout")); err != nil {
		t.Fatal(err)
	}
}

func TestPutRefusesMismatch(t *testing.T) {
	t.Parallel()
	l, _ := Open(t.TempDir())
	d := desc([]byte("hello"))
	if err := l.Put(d, []byte("hellO")); !errors.Is(err, ErrDigestMismatch) {
		t.Fatalf("got %v", err)
	}
}

func TestGetDetectsCorruption(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	l, _ := Open(dir)
	blob := []byte("hello")
	d := desc(blob)
	_ = l.Put(d, blob)
	p := filepath.Join(dir, "blobs", "sha256", d.Digest.Encoded())
	_ = os.Chmod(p, 0o644)
	_ = os.WriteFile(p, []byte("jello"), 0o644)
	if _, err := l.Get(d); !errors.Is(err, ErrDigestMismatch) {
		t.Fatalf("got %v", err)
	}
}
