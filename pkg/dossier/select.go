package dossier

import (
	"cmp"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"

	"github.com/dossier-audit/dossier/pkg/bundle"
	"github.com/dossier-audit/dossier/pkg/keyring"
	"github.com/dossier-audit/dossier/pkg/record"
	"github.com/dossier-audit/dossier/pkg/run"
)

// Log-scoped streams (pkg/tlog/FORMAT.md).
const (
	streamTime    = "time-evidence"
	streamExport  = "export"
	streamKeyring = "keyring"
)

// item is one logged record or keyring version going into the package.
type item struct {
	entry leafEntry
	bytes []byte // bundle (or keyring envelope) bytes as stored
	kind  string // record kind; "keyring" for keyring versions
	stmt  *record.Statement
	root  *run.Root // run-scoped records only
}

func (it *item) digest() string { return it.entry.Leaf.Bundle }

// head is an earlier export's sealed head.
type head struct {
	Sealed   string // digest of the export-sealed record
	Package  string
	Size     uint64
	Root     [32]byte
	RootHash string // base64
}

// Omitted names something deliberately left out of the package.
type Omitted struct {
	Kind   string `json:"kind"`
	Digest string `json:"digest"`
	Reason string `json:"reason"`
}

// selection is what the log contributes to a package.
type selection struct {
	runs    []*run.Root // by run id
	records []*item     // run records and time evidence, by log index
	keyring []*item     // the keyring stream, by seq
	heads   []head      // earlier export heads, oldest first
	omitted []Omitted
}

// logIndex indexes the leaves of a view.
type logIndex struct {
	byStream map[string][]leafEntry
	byDigest map[string]leafEntry
}

func indexLeaves(ls []leafEntry) *logIndex {
	ix := &logIndex{byStream: map[string][]leafEntry{}, byDigest: map[string]leafEntry{}}
	for _, e := range ls {
		ix.byStream[e.Leaf.Stream] = append(ix.byStream[e.Leaf.Stream], e)
		ix.byDigest[e.Leaf.Bundle] = e
	}
	for _, es := range ix.byStream {
		slices.SortFunc(es, func(a, b leafEntry) int { return cmp.Compare(a.Leaf.Seq, b.Leaf.Seq) })
	}
	return ix
}

// selectContent gathers the runs' records, the time evidence they name,
// the keyring stream and the earlier export heads.
func selectContent(ctx context.Context, l Log, ix *logIndex, req *ExportRequest) (*selection, error) {
	s := &selection{runs: slices.Clone(req.Runs)}
	slices.SortFunc(s.runs, func(a, b *run.Root) int { return cmp.Compare(a.Registration.RunID, b.Registration.RunID) })
	for i := 1; i < len(s.runs); i++ {
		if s.runs[i].Digest() == s.runs[i-1].Digest() || s.runs[i].Registration.RunID == s.runs[i-1].Registration.RunID {
			return nil, fmt.Errorf("%w: run %s given twice", ErrRequest, s.runs[i].Registration.RunID)
		}
	}
	for _, r := range s.runs {
		if err := s.addRun(ctx, l, ix, r); err != nil {
			return nil, err
		}
	}
	if err := s.addTimeEvidence(ctx, l, ix); err != nil {
		return nil, err
	}
	slices.SortFunc(s.records, func(a, b *item) int { return cmp.Compare(a.entry.Index, b.entry.Index) })
	if err := s.addKeyring(ctx, l, ix, req.Keyring); err != nil {
		return nil, err
	}
	return s, s.addHeads(ctx, l, ix)
}

// fetch reads a logged bundle and parses its statement.
func fetch(ctx context.Context, l Log, e leafEntry) (*item, error) {
	b, err := l.Bundle(ctx, e.Leaf.Bundle)
	if err != nil {
		return nil, fmt.Errorf("%w: bundle %s (leaf %d): %w", ErrLog, e.Leaf.Bundle, e.Index, err)
	}
	return parseItem(e, b)
}

// parseItem parses a logged bundle and its statement.
func parseItem(e leafEntry, b []byte) (*item, error) {
	bun, err := bundle.Parse(b)
	if err != nil || bun.Digest() != e.Leaf.Bundle {
		return nil, fmt.Errorf("%w: bundle %s (leaf %d) does not parse as the logged bundle: %v", ErrRecord, e.Leaf.Bundle, e.Index, err)
	}
	st, err := record.ParseStatement(bun.Payload())
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrRecord, e.Leaf.Bundle, err)
	}
	k, _ := st.Kind()
	return &item{entry: e, bytes: b, kind: k.Name, stmt: st}, nil
}

func (s *selection) addRun(ctx context.Context, l Log, ix *logIndex, r *run.Root) error {
	es := ix.byStream[r.Digest()]
	if len(es) == 0 {
		return fmt.Errorf("%w: run %s (%s) has no records in the log", ErrNotLogged, r.Registration.RunID, r.Digest())
	}
	items, err := fetchAll(ctx, l, es)
	if err != nil {
		return err
	}
	for _, it := range items {
		it.root = r
		s.records = append(s.records, it)
		switch p := it.stmt.Parsed().(type) {
		case *record.ModelRelease:
			s.omitUnselected(p.Runs)
		case *record.Attachment:
			s.omit(Omitted{Kind: "attachment-document", Digest: "sha256:" + p.Document.SHA256(),
				Reason: "documents are not carried in package format v1; attachment record " + it.digest() + " names its digest"})
		}
	}
	return nil
}

// omit adds o unless its digest is listed, keeping the list sorted by
// digest.
func (s *selection) omit(o Omitted) {
	if slices.ContainsFunc(s.omitted, func(x Omitted) bool { return x.Digest == o.Digest }) {
		return
	}
	s.omitted = append(s.omitted, o)
	slices.SortFunc(s.omitted, func(a, b Omitted) int { return cmp.Compare(a.Digest, b.Digest) })
}

// fetchAll fetches and parses entries on every core, keeping their order.
func fetchAll(ctx context.Context, l Log, es []leafEntry) ([]*item, error) {
	out := make([]*item, len(es))
	errs := make([]error, len(es))
	var wg sync.WaitGroup
	workers := runtime.GOMAXPROCS(0)
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(es); i += workers {
				out[i], errs[i] = fetch(ctx, l, es[i])
			}
		})
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// omitUnselected lists runs a release draws on that are not exported.
func (s *selection) omitUnselected(runs []string) {
	for _, d := range runs {
		if !slices.ContainsFunc(s.runs, func(r *run.Root) bool { return r.Digest() == d }) {
			s.omit(Omitted{Kind: "run", Digest: d, Reason: "not selected"})
		}
	}
}

// addTimeEvidence adds every time-evidence record a run record names.
func (s *selection) addTimeEvidence(ctx context.Context, l Log, ix *logIndex) error {
	seen := map[string]bool{}
	for _, it := range slices.Clone(s.records) {
		te := it.stmt.Parsed().CommonFields().TimeEvidence
		if te == nil || seen[te.Digest] {
			continue
		}
		seen[te.Digest] = true
		e, ok := ix.byDigest[te.Digest]
		if !ok || e.Leaf.Stream != streamTime {
			return fmt.Errorf("%w: time-evidence record %s named by %s", ErrNotLogged, te.Digest, it.digest())
		}
		ti, err := fetch(ctx, l, e)
		if err != nil {
			return err
		}
		s.records = append(s.records, ti)
	}
	return nil
}

// addKeyring takes the log's keyring stream and checks that every version
// the caller gave is part of it.
func (s *selection) addKeyring(ctx context.Context, l Log, ix *logIndex, given [][]byte) error {
	for _, e := range ix.byStream[streamKeyring] {
		b, err := l.Bundle(ctx, e.Leaf.Bundle)
		if err != nil {
			return fmt.Errorf("%w: keyring version %s: %w", ErrLog, e.Leaf.Bundle, err)
		}
		s.keyring = append(s.keyring, &item{entry: e, bytes: b, kind: "keyring"})
	}
	if len(s.keyring) == 0 {
		return fmt.Errorf("%w: the log has no keyring versions (append them to stream %q first)", ErrNotLogged, streamKeyring)
	}
	for _, g := range given {
		if e, ok := ix.byDigest[keyring.Digest(g)]; !ok || e.Leaf.Stream != streamKeyring {
			return fmt.Errorf("%w: keyring version %s is not in the log's keyring stream", ErrNotLogged, keyring.Digest(g))
		}
	}
	return nil
}

// addHeads collects the export-sealed records of earlier exports.
func (s *selection) addHeads(ctx context.Context, l Log, ix *logIndex) error {
	es := slices.Clone(ix.byStream[streamExport])
	slices.SortFunc(es, func(a, b leafEntry) int { return cmp.Compare(a.Index, b.Index) })
	for _, e := range es {
		it, err := fetch(ctx, l, e)
		if err != nil {
			return err
		}
		sealed, ok := it.stmt.Parsed().(*record.ExportSealed)
		if !ok {
			continue
		}
		h := head{Sealed: it.digest(), Package: sealed.Package, Size: uint64(sealed.Checkpoint.Size), RootHash: sealed.Checkpoint.RootHash}
		root, _ := base64.StdEncoding.DecodeString(sealed.Checkpoint.RootHash)
		copy(h.Root[:], root)
		s.heads = append(s.heads, h)
	}
	return nil
}

// recordList returns the digest strings of the package's records (not the
// export record), sorted, and the record list digest (spec/package.md §2).
func (s *selection) recordList() ([]string, string) {
	ds := make([]string, len(s.records))
	for i, it := range s.records {
		ds[i] = it.digest()
	}
	slices.Sort(ds)
	var buf []byte
	for _, d := range ds {
		buf = append(buf, d+"\n"...)
	}
	return ds, keyring.Digest(buf)
}
