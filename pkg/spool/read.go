package spool

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"regexp"

	"github.com/opencontainers/go-digest"

	"github.com/dossier-audit/dossier/pkg/bundle"
	"github.com/dossier-audit/dossier/pkg/dsse"
	"github.com/dossier-audit/dossier/pkg/internal/strictjson"
	"github.com/dossier-audit/dossier/pkg/oci"
	"github.com/dossier-audit/dossier/pkg/run"
)

// Limits bound what Read accepts. Zero fields take the defaults.
type Limits struct {
	// MaxBytes bounds the whole tar (default 256 MiB; the tar is held in
	// memory while it is verified).
	MaxBytes int64
	// MaxEntries bounds the tar entries (default 4 × MaxRecords).
	MaxEntries int
}

// Default limits.
const (
	DefaultMaxBytes = 256 << 20
	maxDocument     = 64 << 20
)

// Tar is a spool tar that Read found well-formed: every blob hashes to its
// name, the document describes exactly what the tar holds, every manifest
// is canonical. Nothing is trusted yet: see Verify.
type Tar struct {
	// Digest and Size are the tar file's, exactly as read.
	Digest   string
	Size     int64
	Document *Document
	// Envelope is the DSSE envelope of the document.
	Envelope *dsse.Envelope
	// Roots are the run roots by run id; Items the records in spool order.
	Roots map[string]*run.Root
	Items []*Item
}

// Item is one record of a spool.
type Item struct {
	Entry  Entry
	Bundle []byte
	Root   *run.Root
}

var blobEntry = regexp.MustCompile(`^blobs/sha256/([a-f0-9]{64})$`)

// Read reads a spool tar from r and checks that it is exactly what Pack
// writes for the document it carries. It reads to the end of r.
func Read(r io.Reader, lim Limits) (*Tar, error) {
	if lim.MaxBytes <= 0 {
		lim.MaxBytes = DefaultMaxBytes
	}
	if lim.MaxEntries <= 0 {
		lim.MaxEntries = 4 * MaxRecords
	}
	cr := &countReader{r: r, max: lim.MaxBytes, h: sha256.New()}
	files, err := readEntries(tar.NewReader(cr), lim)
	if err != nil {
		return nil, err
	}
	if _, err := io.Copy(io.Discard, cr); err != nil {
		return nil, err
	}
	t, want, err := decode(files)
	if err != nil {
		return nil, err
	}
	t.Digest, t.Size = "sha256:"+hex.EncodeToString(cr.h.Sum(nil)), cr.n
	return t, sameBytes(want, t.Digest)
}

// sameBytes requires the tar to be byte for byte what Pack writes for its
// content: tar headers, padding and trailer included, so a tar damaged only
// where archive/tar does not look (padding, the end-of-archive blocks, bytes
// after them) is refused instead of imported as another transfer.
func sameBytes(want *tarLayout, got string) error {
	h := sha256.New()
	if err := want.write(&countWriter{w: h}); err != nil {
		return err
	}
	if d := "sha256:" + hex.EncodeToString(h.Sum(nil)); d != got {
		return fmt.Errorf("%w: the tar (%s) is not byte for byte what 'dossier spool pack' writes for its content (%s): damaged padding, headers or trailer", ErrTar, got, d)
	}
	return nil
}

type tarFiles struct {
	index    []byte
	blobs    map[digest.Digest][]byte
	envelope digest.Digest
}

// readEntries reads oci-layout, index.json and blobs in strictly ascending
// order, each a regular file whose content hashes to its name.
func readEntries(tr *tar.Reader, lim Limits) (*tarFiles, error) {
	f := &tarFiles{blobs: map[digest.Digest][]byte{}}
	last := ""
	for i := 0; ; i++ {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, tarError(err)
		}
		if i >= lim.MaxEntries {
			return nil, fmt.Errorf("%w: more than %d tar entries", ErrLimit, lim.MaxEntries)
		}
		if err := checkHeader(h, i, last); err != nil {
			return nil, err
		}
		last = h.Name
		b, err := io.ReadAll(io.LimitReader(tr, h.Size))
		if err != nil {
			return nil, tarError(err)
		}
		if err := f.store(h.Name, b); err != nil {
			return nil, err
		}
	}
	if f.index == nil {
		return nil, fmt.Errorf("%w: no index.json", ErrTar)
	}
	return f, nil
}

func tarError(err error) error {
	var le *limitError
	if errors.As(err, &le) {
		return le
	}
	return fmt.Errorf("%w: %v", ErrTar, err)
}

func checkHeader(h *tar.Header, i int, last string) error {
	if h.Typeflag != tar.TypeReg {
		return fmt.Errorf("%w: entry %q is not a regular file", ErrTar, h.Name)
	}
	if h.Size < 0 || h.Size > maxDocument {
		return fmt.Errorf("%w: entry %q has %d bytes, limit %d", ErrLimit, h.Name, h.Size, maxDocument)
	}
	switch {
	case i == 0 && h.Name == "oci-layout", i == 1 && h.Name == "index.json":
		return nil
	case i >= 2 && blobEntry.MatchString(h.Name) && (i == 2 || h.Name > last):
		return nil
	}
	return fmt.Errorf("%w: unexpected entry %q at position %d (want oci-layout, index.json, then blobs/sha256/<hex> in ascending order)", ErrTar, h.Name, i)
}

func (f *tarFiles) store(name string, b []byte) error {
	switch name {
	case "oci-layout":
		if string(b) != ociLayoutFile {
			return fmt.Errorf("%w: oci-layout is %q, want %q", ErrTar, b, ociLayoutFile)
		}
	case "index.json":
		f.index = b
	default:
		d := digest.NewDigestFromEncoded(digest.SHA256, blobEntry.FindStringSubmatch(name)[1])
		if digest.FromBytes(b) != d {
			return fmt.Errorf("%w: %s holds content with digest %s", ErrTar, name, digest.FromBytes(b))
		}
		f.blobs[d] = b
	}
	return nil
}

// decode finds the document through index.json, rebuilds the layout it
// describes and requires the tar to be exactly that.
func decode(f *tarFiles) (*Tar, *tarLayout, error) {
	env, doc, err := document(f)
	if err != nil {
		return nil, nil, err
	}
	t := &Tar{Document: doc, Envelope: env, Roots: map[string]*run.Root{}}
	roots, err := t.roots(f)
	if err != nil {
		return nil, nil, err
	}
	recs, err := t.records(f)
	if err != nil {
		return nil, nil, err
	}
	want, err := buildLayout(doc, envelopeBytes(f), roots, recs)
	if err != nil {
		return nil, nil, err
	}
	return t, want, sameLayout(want, f)
}

// document reads index.json's first manifest: the spool manifest and its
// signed document.
func document(f *tarFiles) (*dsse.Envelope, *Document, error) {
	var idx struct {
		Manifests []struct {
			Digest       digest.Digest `json:"digest"`
			ArtifactType string        `json:"artifactType"`
		} `json:"manifests"`
	}
	if err := json.Unmarshal(f.index, &idx); err != nil || len(idx.Manifests) == 0 || idx.Manifests[0].ArtifactType != ArtifactType {
		return nil, nil, fmt.Errorf("%w: index.json does not start with a spool manifest", ErrTar)
	}
	env, err := dsse.ParseStrict(envelopeOf(f, idx.Manifests[0].Digest))
	if err != nil {
		return nil, nil, fmt.Errorf("%w: spool document envelope: %v", ErrTar, err)
	}
	if env.PayloadType != DocumentMediaType {
		return nil, nil, fmt.Errorf("%w: spool document payloadType %q, want %q", ErrTar, env.PayloadType, DocumentMediaType)
	}
	var doc Document
	if err := strictjson.Decode(env.Payload, &doc, strictjson.Limits{MaxBytes: maxDocument, RequireFields: true}); err != nil {
		return nil, nil, fmt.Errorf("%w: spool document: %v", ErrTar, err)
	}
	if err := checkDocument(&doc); err != nil {
		return nil, nil, err
	}
	return env, &doc, nil
}

// envelopeOf returns the single layer of the spool manifest (nil when absent).
func envelopeOf(f *tarFiles, manifest digest.Digest) []byte {
	var m struct {
		Layers []struct {
			Digest digest.Digest `json:"digest"`
		} `json:"layers"`
	}
	if json.Unmarshal(f.blobs[manifest], &m) != nil || len(m.Layers) != 1 {
		return nil
	}
	f.envelope = m.Layers[0].Digest
	return f.blobs[m.Layers[0].Digest]
}

func envelopeBytes(f *tarFiles) []byte { return f.blobs[f.envelope] }

func checkDocument(doc *Document) error {
	switch {
	case doc.MediaType != DocumentMediaType:
		return fmt.Errorf("%w: document mediaType %q", ErrTar, doc.MediaType)
	case doc.RecordCount != len(doc.Records) || doc.RecordCount == 0:
		return fmt.Errorf("%w: recordCount %d, the document lists %d records", ErrTar, doc.RecordCount, len(doc.Records))
	case doc.RecordCount > MaxRecords:
		return fmt.Errorf("%w: %d records, limit %d", ErrLimit, doc.RecordCount, MaxRecords)
	}
	digests := make([]string, len(doc.Records))
	for i, e := range doc.Records {
		if e.Seq != i+1 {
			return fmt.Errorf("%w: record %d has seq %d, want %d (entries out of order)", ErrTar, i, e.Seq, i+1)
		}
		digests[i] = e.Record
	}
	if got := RecordListDigest(digests); got != doc.RecordListDigest {
		return fmt.Errorf("%w: recordListDigest %s, the records hash to %s", ErrTar, doc.RecordListDigest, got)
	}
	return nil
}

func (t *Tar) roots(f *tarFiles) ([]*run.Root, error) {
	var out []*run.Root
	for _, r := range t.Document.Runs {
		m, ok := f.blobs[digest.Digest(r.Root)]
		if !ok {
			return nil, fmt.Errorf("%w: run root %s of %s missing", ErrTar, r.Root, r.RunID)
		}
		root, err := parseRoot(m, f.get)
		if err != nil {
			return nil, err
		}
		if root.Registration.RunID != r.RunID || t.Roots[r.RunID] != nil {
			return nil, fmt.Errorf("%w: run root %s is run %q, listed as %q (or listed twice)", ErrTar, r.Root, root.Registration.RunID, r.RunID)
		}
		t.Roots[r.RunID] = root
		out = append(out, root)
	}
	return out, nil
}

func (f *tarFiles) get(d string, max int64) ([]byte, error) {
	b, ok := f.blobs[digest.Digest(d)]
	if !ok || int64(len(b)) > max {
		return nil, fmt.Errorf("%w: blob %s missing or too large", ErrTar, d)
	}
	return b, nil
}

// records repacks every record and requires the listed manifest digest.
func (t *Tar) records(f *tarFiles) ([]*oci.Record, error) {
	perRun := map[string]uint64{}
	seen := map[string]bool{}
	var out []*oci.Record
	for _, e := range t.Document.Records {
		root := t.Roots[e.RunID]
		if root == nil || seen[e.Record] {
			return nil, fmt.Errorf("%w: record %s: run %q not in the spool, or record listed twice", ErrTar, e.Record, e.RunID)
		}
		seen[e.Record] = true
		b, err := f.get(e.Record, bundle.MaxSize)
		if err != nil {
			return nil, err
		}
		rec, err := oci.PackRecord(root.Descriptor, b, perRun[e.RunID])
		if err != nil {
			return nil, fmt.Errorf("%w: record %s: %v", ErrTar, e.Record, err)
		}
		if rec.Descriptor.Digest.String() != e.Manifest || rec.Kind != e.Kind {
			return nil, fmt.Errorf("%w: record %s repacks to %s (%s), the document says %s (%s)", ErrTar, e.Record, rec.Descriptor.Digest, rec.Kind, e.Manifest, e.Kind)
		}
		perRun[e.RunID]++
		out = append(out, rec)
		t.Items = append(t.Items, &Item{Entry: e, Bundle: b, Root: root})
	}
	return out, nil
}

// sameLayout requires the tar to hold exactly the expected index.json and
// blobs.
func sameLayout(want *tarLayout, f *tarFiles) error {
	if !bytes.Equal(want.index, f.index) {
		return fmt.Errorf("%w: index.json is not the one the document describes", ErrTar)
	}
	for d, b := range want.blobs {
		if got, ok := f.blobs[d]; !ok || !bytes.Equal(got, b) {
			return fmt.Errorf("%w: blob %s missing", ErrTar, d)
		}
	}
	if len(f.blobs) != len(want.blobs) {
		return fmt.Errorf("%w: %d blobs, the document describes %d", ErrTar, len(f.blobs), len(want.blobs))
	}
	return nil
}

type limitError struct{ max int64 }

func (e *limitError) Error() string { return fmt.Sprintf("%v: larger than %d bytes", ErrLimit, e.max) }
func (e *limitError) Unwrap() error { return ErrLimit }

// countReader hashes and counts what it reads and fails past max.
type countReader struct {
	r   io.Reader
	max int64
	n   int64
	h   hash.Hash
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	c.h.Write(p[:n])
	if c.n > c.max {
		return n, &limitError{max: c.max}
	}
	return n, err
}
