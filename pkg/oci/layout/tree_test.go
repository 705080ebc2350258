package layout

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// TestTreeStaysSmallAndKeepsOrder appends n entries one commit at a time
// (the worst case) and checks the top index stays bounded and a walk gives
// every entry back exactly once.
func TestTreeStaysSmallAndKeepsOrder(t *testing.T) {
	t.Parallel()
	l, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	root := manifestBlob(t, l, nil, 0)
	const n = Fanout*Fanout + 3*Fanout + 7
	var want []digest.Digest
	for i := range n {
		d := manifestBlob(t, l, &root, i+1)
		want = append(want, d.Digest)
		if i%97 == 0 || i == n-1 {
			if err := l.Commit(); err != nil {
				t.Fatal(err)
			}
		}
	}
	idx, _ := readIndex(l.dir)
	top := treeTop(idx, root.Digest.String())
	b, _ := l.Get(*top)
	ti, _ := parseTree(b, root.Digest.String())
	if got, max := len(ti.Manifests), 3*(Fanout-1); got > max {
		t.Fatalf("top index has %d entries, bound %d", got, max)
	}
	m, err := l.Members(root.Digest.String())
	if err != nil || len(m) != n {
		t.Fatalf("Members = %d entries, %v; want %d", len(m), err, n)
	}
	got := map[digest.Digest]bool{}
	for _, e := range m {
		got[e.Digest] = true
	}
	for i, d := range want {
		if !got[d] {
			t.Fatalf("entry %d missing from the walk", i)
		}
	}
}

func manifestBlob(t *testing.T, l *Layout, subject *ocispec.Descriptor, i int) ocispec.Descriptor {
	t.Helper()
	m := ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest, Subject: subject,
		Annotations: map[string]string{"n": fmt.Sprint(i)}}
	m.SchemaVersion = 2
	b, _ := json.Marshal(m)
	d := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromBytes(b), Size: int64(len(b))}
	if err := l.PushManifest(d, b); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestCorruptLayoutIsReported(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	l, _ := Open(dir)
	root := manifestBlob(t, l, nil, 0)
	manifestBlob(t, l, &root, 1)
	if err := l.Commit(); err != nil {
		t.Fatal(err)
	}
	// A tree top that names another subject.
	idx, _ := readIndex(dir)
	top := treeTop(idx, root.Digest.String())
	b, d, _ := newIndex("sha256:"+fmt.Sprintf("%064d", 0), nil)
	l.Put(d, b)
	*top = d
	top.Annotations = map[string]string{AnnotationTreeSubject: root.Digest.String()}
	writeIndex(dir, idx)
	if _, err := l.Members(root.Digest.String()); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Members over a foreign tree = %v, want ErrCorrupt", err)
	}
	os.WriteFile(filepath.Join(dir, "index.json"), []byte("{"), 0o644)
	if _, err := l.Resolve("x"); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Resolve with a broken index.json = %v, want ErrCorrupt", err)
	}
	if err := l.PushManifest(ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromString("x"), Size: 1}, []byte("y")); !errors.Is(err, ErrDigestMismatch) {
		t.Fatalf("PushManifest of mismatching bytes = %v, want ErrDigestMismatch", err)
	}
}

// TestConcurrentWriters appends from two Layout values on one directory
// (as two processes would): the flock and the re-read of index.json under
// it must lose nothing.
func TestConcurrentWriters(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first, _ := Open(dir)
	root := manifestBlob(t, first, nil, 0)
	if err := first.Commit(); err != nil {
		t.Fatal(err)
	}
	const each = 40
	errs := make(chan error, 2)
	for w := range 2 {
		go func() {
			l, err := Open(dir)
			for i := 0; err == nil && i < each; i++ {
				manifestBlob(t, l, &root, 1000*(w+1)+i)
				err = l.Commit()
			}
			errs <- err
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	m, err := first.Members(root.Digest.String())
	if err != nil || len(m) != 2*each {
		t.Fatalf("Members = %d, %v; want %d", len(m), err, 2*each)
	}
}
