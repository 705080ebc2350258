package spool

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/dossier-audit/dossier/pkg/bundle"
	"github.com/dossier-audit/dossier/pkg/dsse"
	"github.com/dossier-audit/dossier/pkg/oci"
	"github.com/dossier-audit/dossier/pkg/record"
	"github.com/dossier-audit/dossier/pkg/run"
)

// PackOptions say who packs the spool, with which key, when.
type PackOptions struct {
	// PackedBy is the person or workload sealing the spool.
	PackedBy record.Party
	// Signer signs the spool document (a key the importer trusts with the
	// producer role); keyring.NewSigner adapts a sigstore signer.
	Signer dsse.Signer
	// Now is the pack time; default time.Now.
	Now func() time.Time
}

// Packed describes a written spool tar.
type Packed struct {
	Digest   string    `json:"digest"`
	Size     int64     `json:"size"`
	Document *Document `json:"document"`
}

// Pack seals the spool into a tar written to w. The same spool, packer
// and time give the same bytes.
func (d *Dir) Pack(ctx context.Context, w io.Writer, opts PackOptions) (*Packed, error) {
	if opts.Signer == nil || opts.PackedBy.ID == "" || opts.PackedBy.Name == "" {
		return nil, fmt.Errorf("%w: packing needs a signer and packedBy id and name", ErrSpool)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	unlock, err := lockDir(d.dir)
	if err != nil {
		return nil, err
	}
	defer unlock()
	st, err := readState(d.dir)
	if err != nil {
		return nil, err
	}
	if len(st.Records) == 0 {
		return nil, fmt.Errorf("%w: %v", ErrSpool, errNoRecords)
	}
	roots, recs, err := d.load(ctx, st)
	if err != nil {
		return nil, err
	}
	doc := newDocument(st, opts)
	env, err := signDocument(doc, opts.Signer)
	if err != nil {
		return nil, err
	}
	l, err := buildLayout(doc, env, roots, recs)
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	cw := &countWriter{w: io.MultiWriter(w, h)}
	if err := l.write(cw); err != nil {
		return nil, err
	}
	return &Packed{Digest: "sha256:" + hex.EncodeToString(h.Sum(nil)), Size: cw.n, Document: doc}, nil
}

func newDocument(st *state, opts PackOptions) *Document {
	digests := make([]string, len(st.Records))
	for i, e := range st.Records {
		digests[i] = e.Record
	}
	return &Document{MediaType: DocumentMediaType, SpoolID: st.SpoolID, Origin: st.Origin, CreatedAt: st.CreatedAt,
		PackedAt: stamp(opts.Now()), PackedBy: opts.PackedBy, Runs: st.Runs, Records: st.Records,
		RecordCount: len(st.Records), RecordListDigest: RecordListDigest(digests)}
}

func signDocument(doc *Document, s dsse.Signer) ([]byte, error) {
	payload, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	env, err := dsse.Sign(DocumentMediaType, payload, s)
	if err != nil {
		return nil, fmt.Errorf("signing the spool document: %w", err)
	}
	return env.MarshalJSON()
}

// load reads the run roots and records of the state from the layout and
// checks that they are what spool.json says.
func (d *Dir) load(ctx context.Context, st *state) ([]*run.Root, []*oci.Record, error) {
	roots := map[string]*run.Root{}
	var order []*run.Root
	for _, r := range st.Runs {
		root, err := d.root(ctx, r)
		if err != nil {
			return nil, nil, err
		}
		roots[r.RunID] = root
		order = append(order, root)
	}
	perRun := map[string]uint64{}
	recs := make([]*oci.Record, 0, len(st.Records))
	for _, e := range st.Records {
		root := roots[e.RunID]
		if root == nil {
			return nil, nil, fmt.Errorf("%w: record %s names run %q, not in the spool", ErrSpool, e.Record, e.RunID)
		}
		b, err := d.blob(e.Record, bundle.MaxSize)
		if err != nil {
			return nil, nil, err
		}
		rec, err := oci.PackRecord(root.Descriptor, b, perRun[e.RunID])
		if err != nil || rec.Descriptor.Digest.String() != e.Manifest {
			return nil, nil, fmt.Errorf("%w: record %s does not repack to manifest %s: %v", ErrSpool, e.Record, e.Manifest, err)
		}
		perRun[e.RunID]++
		recs = append(recs, rec)
	}
	return order, recs, nil
}

func (d *Dir) root(ctx context.Context, r RunRef) (*run.Root, error) {
	desc, err := d.layout.Resolve(ctx, "run-"+r.RunID)
	if err != nil || desc.Digest.String() != r.Root {
		return nil, fmt.Errorf("%w: run root of %s (%s) not in the layout: %v", ErrSpool, r.RunID, r.Root, err)
	}
	m, err := d.layout.Fetch(ctx, desc)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSpool, err)
	}
	return parseRoot(m, func(dg string, max int64) ([]byte, error) { return d.blob(dg, max) })
}

// blob reads a blob of the spool's layout and checks its digest.
func (d *Dir) blob(dg string, max int64) ([]byte, error) {
	hexd, ok := strings.CutPrefix(dg, "sha256:")
	if !ok || len(hexd) != 64 {
		return nil, fmt.Errorf("%w: bad digest %q", ErrSpool, dg)
	}
	f, err := os.Open(filepath.Join(d.dir, "blobs", "sha256", hexd))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSpool, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSpool, err)
	}
	if int64(len(b)) > max || digestOf(b) != dg {
		return nil, fmt.Errorf("%w: blob %s is corrupt", ErrSpool, dg)
	}
	return b, nil
}

// parseRoot rebuilds a run root from its manifest, fetching the
// registration layer with get.
func parseRoot(manifest []byte, get func(digest string, max int64) ([]byte, error)) (*run.Root, error) {
	var m struct {
		Layers []struct {
			Digest string `json:"digest"`
			Size   int64  `json:"size"`
		} `json:"layers"`
	}
	if err := json.Unmarshal(manifest, &m); err != nil || len(m.Layers) != 1 {
		return nil, fmt.Errorf("%w: run root manifest is not a run root", ErrTar)
	}
	reg, err := get(m.Layers[0].Digest, 64<<10)
	if err != nil {
		return nil, err
	}
	root, err := run.Parse(manifest, reg)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrTar, err)
	}
	return root, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
