package layout

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// TestWriteBlobSkipsExistingName: a staged file left under the next
// counter name (a crashed writer of the same pid) is neither opened nor
// trusted; the blob goes to a new file, created read-only.
func TestWriteBlobSkipsExistingName(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	l, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	next := stagedSeq.Load() + 1
	left := filepath.Join(dir, ingestDir, "blob-"+strconv.Itoa(os.Getpid())+"-"+strconv.FormatUint(next, 10))
	if err := os.WriteFile(left, []byte("partial"), 0o600); err != nil {
		t.Fatal(err)
	}
	content := []byte(`{"x":1}`)
	desc := ocispec.Descriptor{MediaType: "application/json", Digest: digest.FromBytes(content), Size: int64(len(content))}
	if err := l.Put(desc, content); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(left); !bytes.Equal(b, []byte("partial")) {
		t.Fatalf("leftover file changed: %q", b)
	}
	tmp := l.staged[desc.Digest]
	if tmp == left || tmp == "" {
		t.Fatalf("staged at %q, want a new file", tmp)
	}
	fi, err := os.Stat(tmp)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm()&0o222 != 0 {
		t.Errorf("staged blob mode %v, want read-only", fi.Mode().Perm())
	}
	if err := l.Commit(); err != nil {
		t.Fatal(err)
	}
	if got, err := l.Get(desc); err != nil || !bytes.Equal(got, content) {
		t.Fatalf("Get = %q, %v; want %q", got, err, content)
	}
}
