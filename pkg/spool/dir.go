package spool

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/dossier-audit/dossier/internal/atomicfile"
	"github.com/dossier-audit/dossier/internal/filelock"
	"github.com/dossier-audit/dossier/pkg/internal/strictjson"
	"github.com/dossier-audit/dossier/pkg/oci"
	"github.com/dossier-audit/dossier/pkg/run"
)

// MaxRecords bounds the records of one spool.
const MaxRecords = 100_000

// maxState bounds spool.json.
const maxState = 64 << 20

// state is spool.json.
type state struct {
	MediaType string   `json:"mediaType"`
	SpoolID   string   `json:"spoolId"`
	Origin    string   `json:"origin"`
	CreatedAt string   `json:"createdAt"`
	Runs      []RunRef `json:"runs"`
	Records   []Entry  `json:"records"`
}

// Dir is a spool directory opened for adding records. Writers serialise on
// an flock of DIR/spool.lock; spool.json is replaced atomically after the
// record's blobs are durable in the layout, so a crash leaves the spool as
// it was before the Add (unreferenced blobs at most).
type Dir struct {
	dir    string
	layout *oci.LayoutStore
	now    func() time.Time
}

// Create makes a new spool directory with an id (e.g.
// "spool-gpu-node-17-20261202") and an origin (where it is written, e.g.
// "gpu-node-17.train.corp"). It fails if dir already holds a spool.
func Create(dir, id, origin string, now func() time.Time) (*Dir, error) {
	if id == "" || origin == "" || len(id) > 256 || len(origin) > 256 {
		return nil, fmt.Errorf("%w: id and origin must be 1-256 characters", ErrSpool)
	}
	if _, err := os.Stat(filepath.Join(dir, stateFile)); err == nil {
		return nil, fmt.Errorf("%w: %s already holds a spool", ErrSpool, dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSpool, err)
	}
	st := state{MediaType: stateMediaType, SpoolID: id, Origin: origin, CreatedAt: stamp(now()), Runs: []RunRef{}, Records: []Entry{}}
	if err := writeState(dir, &st); err != nil {
		return nil, err
	}
	return Open(dir, now)
}

// Open opens an existing spool directory.
func Open(dir string, now func() time.Time) (*Dir, error) {
	if now == nil {
		now = time.Now
	}
	if _, err := readState(dir); err != nil {
		return nil, err
	}
	l, err := oci.OpenLayout(dir)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSpool, err)
	}
	return &Dir{dir: dir, layout: l, now: now}, nil
}

// Path returns the spool directory.
func (d *Dir) Path() string { return d.dir }

// Add appends a signed record of root's run to the spool (the run root is
// stored with its first record). Signatures are checked at import, not
// here; the record must be a run-scoped record whose subject is root.
func (d *Dir) Add(ctx context.Context, root *run.Root, bundle []byte) (Entry, error) {
	unlock, err := lockDir(d.dir)
	if err != nil {
		return Entry{}, err
	}
	defer unlock()
	st, err := readState(d.dir)
	if err != nil {
		return Entry{}, err
	}
	e, rc, err := d.pack(st, root, bundle)
	if err != nil {
		return Entry{}, err
	}
	if err := oci.WriteRun(ctx, d.layout, rc); err != nil {
		return Entry{}, fmt.Errorf("%w: writing the layout: %v", ErrSpool, err)
	}
	st.Records = append(st.Records, e)
	if !slices.ContainsFunc(st.Runs, func(r RunRef) bool { return r.Root == root.Digest() }) {
		st.Runs = append(st.Runs, RunRef{RunID: root.Registration.RunID, Root: root.Digest()})
	}
	return e, writeState(d.dir, st)
}

// pack checks the record against the spool and packs it with its per-run
// position in the spool as its sequence annotation.
func (d *Dir) pack(st *state, root *run.Root, bundle []byte) (Entry, *oci.RunContent, error) {
	if len(st.Records) >= MaxRecords {
		return Entry{}, nil, fmt.Errorf("%w: the spool holds %d records, the limit; pack it and start another", ErrRecord, MaxRecords)
	}
	for _, r := range st.Runs {
		if r.RunID == root.Registration.RunID && r.Root != root.Digest() {
			return Entry{}, nil, fmt.Errorf("%w: run %s is in the spool with root %s, not %s", ErrRecord, r.RunID, r.Root, root.Digest())
		}
	}
	seq := 0
	dg := digestOf(bundle)
	for _, e := range st.Records {
		if e.Record == dg {
			return Entry{}, nil, fmt.Errorf("%w: %s is already in the spool (seq %d)", ErrRecord, dg, e.Seq)
		}
		if e.RunID == root.Registration.RunID {
			seq++
		}
	}
	rec, err := oci.PackRecord(root.Descriptor, bundle, uint64(seq))
	if err != nil {
		return Entry{}, nil, fmt.Errorf("%w: %v", ErrRecord, err)
	}
	rc := oci.NewRunContent(root)
	rc.Records = []*oci.Record{rec}
	e := Entry{Seq: len(st.Records) + 1, Record: dg, Manifest: rec.Descriptor.Digest.String(),
		RunID: root.Registration.RunID, Kind: rec.Kind, AddedAt: stamp(d.now())}
	return e, rc, nil
}

// Entries returns the spool's records in order.
func (d *Dir) Entries() ([]Entry, error) {
	st, err := readState(d.dir)
	if err != nil {
		return nil, err
	}
	return st.Records, nil
}

func readState(dir string) (*state, error) {
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSpool, err)
	}
	var st state
	if err := strictjson.Decode(b, &st, strictjson.Limits{MaxBytes: maxState, RequireFields: true}); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrSpool, stateFile, err)
	}
	if st.MediaType != stateMediaType {
		return nil, fmt.Errorf("%w: %s: mediaType %q, want %q", ErrSpool, stateFile, st.MediaType, stateMediaType)
	}
	return &st, nil
}

func writeState(dir string, st *state) error {
	b, err := json.MarshalIndent(st, "", " ")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, stateFile), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("%w: %v", ErrSpool, err)
	}
	return nil
}

func lockDir(dir string) (func(), error) {
	f, err := os.OpenFile(filepath.Join(dir, "spool.lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSpool, err)
	}
	if err := filelock.Lock(f, true); err != nil {
		f.Close()
		return nil, fmt.Errorf("%w: lock: %v", ErrSpool, err)
	}
	return func() { _ = filelock.Unlock(f); f.Close() }, nil
}

func digestOf(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// RecordListDigest is the digest of a set of record digests as the export
// and transfer predicates define it: SHA-256 over the concatenation, in
// ascending byte order, of "<digest>\n".
func RecordListDigest(digests []string) string {
	s := append([]string(nil), digests...)
	sort.Strings(s)
	return digestOf([]byte(strings.Join(s, "\n") + "\n"))
}

var errNoRecords = errors.New("the spool holds no records")
