package spool

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/dossier-audit/dossier/pkg/oci"
	"github.com/dossier-audit/dossier/pkg/run"
)

// TestReadRejectsTampering covers the corrupt/partial batch cases (IN23):
// the whole spool is refused with the specific error, before anything
// is imported.
func TestReadRejectsTampering(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	bundleName := "blobs/sha256/" + strings.TrimPrefix(digestOf(f.bundles[1]), "sha256:")
	extra := []byte("extra blob")
	sum := sha256.Sum256(extra)
	tests := []struct {
		name string
		tar  func() []byte
		want error
	}{
		{"flipped byte in a record", func() []byte {
			return rewrite(t, f.tar, func(n string, b []byte) []byte {
				if n == bundleName {
					b = append([]byte(nil), b...)
					b[10] ^= 1
				}
				return b
			})
		}, ErrTar},
		{"truncated", func() []byte { return f.tar[:len(f.tar)/2] }, ErrTar},
		{"no index.json", func() []byte {
			return rewrite(t, f.tar, func(n string, b []byte) []byte { return keepUnless(n == "index.json", b) })
		}, ErrTar},
		{"record missing", func() []byte {
			return rewrite(t, f.tar, func(n string, b []byte) []byte { return keepUnless(n == bundleName, b) })
		}, ErrTar},
		{"unlisted blob", func() []byte { return appendEntry(t, f.tar, "blobs/sha256/"+hex.EncodeToString(sum[:]), extra) }, ErrTar},
		{"foreign file", func() []byte { return appendEntry(t, f.tar, "README.txt", extra) }, ErrTar},
		{"index.json edited", func() []byte {
			return rewrite(t, f.tar, func(n string, b []byte) []byte {
				if n == "index.json" {
					return bytes.Replace(b, []byte(`"schemaVersion":2`), []byte(`"schemaVersion":2 `), 1)
				}
				return b
			})
		}, ErrTar},
		// archive/tar skips these bytes; the spool tar must still be exactly
		// what Pack writes (a damaged copy is not another transfer).
		{"byte flipped in an entry's padding", func() []byte { return flipAt(f.tar, 512+100) }, ErrTar},
		{"byte flipped in the end-of-archive blocks", func() []byte { return flipAt(f.tar, len(f.tar)-100) }, ErrTar},
		{"zeros after the end of the archive", func() []byte { return append(append([]byte(nil), f.tar...), make([]byte, 512)...) }, ErrTar},
		{"too large", func() []byte { return f.tar }, ErrLimit},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			lim := Limits{}
			if tc.want == ErrLimit {
				lim.MaxBytes = 4096
			}
			_, err := Read(bytes.NewReader(tc.tar()), lim)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func flipAt(in []byte, i int) []byte {
	b := append([]byte(nil), in...)
	b[i] ^= 0xff
	return b
}

func keepUnless(drop bool, b []byte) []byte {
	if drop {
		return nil
	}
	return b
}

// appendEntry adds an entry at the end of the tar (after the blobs).
func appendEntry(t *testing.T, in []byte, name string, data []byte) []byte {
	t.Helper()
	out := rewrite(t, in, func(_ string, b []byte) []byte { return b })
	// Re-open and append: rewrite's writer is closed; build anew.
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tr := tar.NewReader(bytes.NewReader(out))
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		tw.WriteHeader(h)
		b := make([]byte, h.Size)
		tr.Read(b)
		tw.Write(b)
	}
	tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Size: int64(len(data)), Mode: 0o444})
	tw.Write(data)
	tw.Close()
	return buf.Bytes()
}

// craft packs a spool from parts, as a forger would.
func craft(t *testing.T, doc *Document, signer *key, roots []*run.Root, items []*Item) []byte {
	t.Helper()
	env, err := signDocument(doc, signer.d)
	if err != nil {
		t.Fatal(err)
	}
	per := map[string]uint64{}
	var recs []*oci.Record
	for _, it := range items {
		r, err := oci.PackRecord(it.Root.Descriptor, it.Bundle, per[it.Entry.RunID])
		if err != nil {
			t.Fatal(err)
		}
		per[it.Entry.RunID]++
		recs = append(recs, r)
	}
	l, err := buildLayout(doc, env, roots, recs)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := l.write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestVerifyRejectsUntrusted(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tr, err := Read(bytes.NewReader(f.tar), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	mallory := newKey(t)
	// The document re-signed by a key the importer does not trust.
	resigned := craft(t, tr.Document, mallory, f.roots, tr.Items)
	// A record signed by an untrusted key, in a document signed by the
	// trusted packer.
	forged := signRecord(t, mallory, f.roots[0], "evaluation", 9)
	items := append([]*Item(nil), tr.Items...)
	doc := *tr.Document
	doc.Records = append(append([]Entry(nil), doc.Records...), Entry{Seq: 5, Record: digestOf(forged), RunID: "run-a", Kind: "evaluation", AddedAt: doc.PackedAt})
	r, _ := oci.PackRecord(f.roots[0].Descriptor, forged, 3)
	doc.Records[4].Manifest = r.Descriptor.Digest.String()
	doc.RecordCount = 5
	var ds []string
	for _, e := range doc.Records {
		ds = append(ds, e.Record)
	}
	doc.RecordListDigest = RecordListDigest(ds)
	items = append(items, &Item{Entry: doc.Records[4], Bundle: forged, Root: f.roots[0]})
	withForged := craft(t, &doc, f.producer, f.roots, items)

	for name, b := range map[string][]byte{"document by untrusted key": resigned, "record by untrusted key": withForged} {
		tr, err := Read(bytes.NewReader(b), Limits{})
		if err != nil {
			t.Fatalf("%s: read: %v", name, err)
		}
		if _, err := Verify(tr, f.keys(t)); !errors.Is(err, ErrUntrusted) {
			t.Errorf("%s: got %v, want ErrUntrusted", name, err)
		}
	}
}

func TestReadRejectsReorderedDocument(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tr, err := Read(bytes.NewReader(f.tar), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	doc := *tr.Document
	doc.Records = append([]Entry(nil), doc.Records...)
	doc.Records[0], doc.Records[2] = doc.Records[2], doc.Records[0]
	b := craft(t, &doc, f.producer, f.roots, tr.Items)
	if _, err := Read(bytes.NewReader(b), Limits{}); !errors.Is(err, ErrTar) {
		t.Fatalf("got %v, want ErrTar", err)
	}
}
