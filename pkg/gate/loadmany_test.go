package gate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/transparency-dev/tessera/api/layout"
	"github.com/transparency-dev/tessera/client"

	"github.com/dossier-audit/dossier/pkg/policy"
	"github.com/dossier-audit/dossier/pkg/record"
	"github.com/dossier-audit/dossier/pkg/run"
)

// withRun logs a run-closed record of a new run id (model acme/notes)
// and returns that run.
func withRun(t *testing.T, f *fixture, id string) *run.Root {
	t.Helper()
	r, err := run.New(run.Registration{RunID: id, Project: "support-assistant", Model: "acme/notes",
		StartedBy: run.Identity{ID: "workload:trainer", Kind: "workload"}, StartedAt: "2026-11-27T09:30:00Z"})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(record.Template("run-closed"), &m); err != nil {
		t.Fatal(err)
	}
	m["runId"], m["timeEvidence"] = id, nil
	pred, _ := json.Marshal(m)
	l := f.open(t)
	defer f.close(t, l)
	f.appendTo(t, l, f.signFor(t, r, f.pipeline, "run-closed", pred), r.Digest())
	return r
}

// countingFetch reads entry bundles from dir and counts the reads.
func countingFetch(dir string, n *atomic.Int64) client.EntryBundleFetcherFunc {
	return func(ctx context.Context, i uint64, p uint8) ([]byte, error) {
		n.Add(1)
		return client.FileFetcher{Root: dir}.ReadEntryBundle(ctx, i, p)
	}
}

func recordIDs(rs []policy.Record) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Digest+"@"+r.Kind)
	}
	return out
}

// TestLoadMany: the facts of several runs read in one pass over the log
// (each entry bundle read once) are those Load reads run by run.
func TestLoadMany(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	roots := []*run.Root{withRun(t, f, "other-001"), f.root, withRun(t, f, "other-002")}
	var want []*Facts
	for _, r := range roots {
		w, err := Load(context.Background(), f.dir, r, [][]byte{f.keyring}, "")
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, w)
	}
	l := f.open(t)
	defer f.close(t, l)
	var reads atomic.Int64
	got, err := loadMany(context.Background(), f.dir, countingFetch(f.dir, &reads), l.Bundle, roots, [][]byte{f.keyring}, "")
	if err != nil || len(got) != len(roots) {
		t.Fatalf("LoadMany: %d facts for %d roots, %v", len(got), len(roots), err)
	}
	for i, g := range got {
		w := want[i]
		if g.Run != roots[i] || g.Size != w.Size || !slices.Equal(g.Indices, w.Indices) || !slices.Equal(recordIDs(g.Records), recordIDs(w.Records)) {
			t.Errorf("run %s: size %d, keyring at %v, records %v; want %d, %v, %v", roots[i].Registration.RunID,
				g.Size, g.Indices, recordIDs(g.Records), w.Size, w.Indices, recordIDs(w.Records))
		}
	}
	if bundles := int64((want[0].Size + layout.EntryBundleWidth - 1) / layout.EntryBundleWidth); reads.Load() != bundles {
		t.Fatalf("LoadMany of %d runs read %d entry bundles, want %d (the log once)", len(roots), reads.Load(), bundles)
	}
}

// TestLoadManyOneRunFails: a run whose bundle the store returns swapped or
// not at all fails in LoadMany with the error LoadFrom returns for it
// alone; the other runs load.
func TestLoadManyOneRunFails(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	roots := []*run.Root{withRun(t, f, "other-001"), f.root, withRun(t, f, "other-002")}
	facts := f.load(t)
	victim := facts.Records[len(facts.Records)-1].Digest
	l := f.open(t)
	defer f.close(t, l)
	tests := []struct {
		name string
		get  BundleFunc
		want error
	}{
		{"missing", missingBundle(l, victim), ErrLog},
		{"swapped", swappedBundle(l, victim, facts.Records[0].Digest), ErrRecord},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, alone := LoadFrom(context.Background(), f.dir, tc.get, f.root, [][]byte{f.keyring}, "")
			got, err := LoadMany(context.Background(), f.dir, tc.get, roots, [][]byte{f.keyring}, "")
			var re *RunsError
			if !errors.As(err, &re) || !errors.Is(err, tc.want) || len(re.Errs) != len(roots) {
				t.Fatalf("LoadMany: %v, want a *RunsError wrapping %v", err, tc.want)
			}
			if alone == nil || re.Errs[1] == nil || re.Errs[1].Error() != alone.Error() || !strings.Contains(alone.Error(), victim) {
				t.Fatalf("LoadMany's error for the run: %v; want LoadFrom's: %v (naming %s)", re.Errs[1], alone, victim)
			}
			if got[1] != nil || got[0] == nil || got[2] == nil || re.Errs[0] != nil || re.Errs[2] != nil {
				t.Fatalf("LoadMany: facts %v, errors %v; want the other two runs loaded", got, re.Errs)
			}
		})
	}
}

// TestLoadManyChecksOtherStreams: a leaf of a stream no root asked for,
// altered on disk, fails the whole load with the error Load returns (the
// leaves do not hash to the checkpoint's root).
func TestLoadManyChecksOtherStreams(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	other := withOtherRun(t, f)
	second := withRun(t, f, "other-002")
	hex := other.Hex()
	flipped := "0" + hex[1:]
	if hex[0] == '0' {
		flipped = "1" + hex[1:]
	}
	altered := 0
	err := filepath.WalkDir(filepath.Join(f.dir, "tile", "entries"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if nb := bytes.ReplaceAll(b, []byte(hex), []byte(flipped)); !bytes.Equal(nb, b) {
			altered++
			return os.WriteFile(p, nb, 0o644)
		}
		return nil
	})
	if err != nil || altered == 0 {
		t.Fatalf("altering the other run's leaf: %v, %d entry bundles changed", err, altered)
	}
	_, alone := Load(context.Background(), f.dir, f.root, [][]byte{f.keyring}, "")
	got, err := LoadMany(context.Background(), f.dir, func(context.Context, string) ([]byte, error) { return nil, fs.ErrNotExist },
		[]*run.Root{f.root, second}, [][]byte{f.keyring}, "")
	var re *RunsError
	if got != nil || errors.As(err, &re) || !errors.Is(err, ErrLog) || !strings.Contains(err.Error(), "do not hash to the checkpoint root") || alone == nil || err.Error() != alone.Error() {
		t.Fatalf("LoadMany with another run's leaf altered: %v, %v; want Load's error: %v", got, err, alone)
	}
}

// TestLoadManyNoRoots: with no roots LoadMany returns no facts and reads
// nothing (not even the keyring or the checkpoint).
func TestLoadManyNoRoots(t *testing.T) {
	t.Parallel()
	var reads atomic.Int64
	dir := filepath.Join(t.TempDir(), "no-log-here")
	got, err := loadMany(context.Background(), dir, countingFetch(dir, &reads), nil, nil, nil, "")
	if err != nil || got == nil || len(got) != 0 || reads.Load() != 0 {
		t.Fatalf("LoadMany(no roots): %v, %v, %d entry bundles read; want no facts, no error, nothing read", got, err, reads.Load())
	}
}

// TestScanFactsNotScanned: Scan.Facts of a run the scan did not keep
// fails with ErrNotScanned rather than returning a run without records.
func TestScanFactsNotScanned(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	other := withRun(t, f, "other-001")
	s, err := ScanLog(context.Background(), f.dir, []*run.Root{other}, [][]byte{f.keyring}, "")
	if err != nil {
		t.Fatal(err)
	}
	l := f.open(t)
	defer f.close(t, l)
	if got, err := s.Facts(context.Background(), l.Bundle, other); err != nil || len(got.Records) != 1 || got.Size != s.Size() {
		t.Fatalf("Facts of the scanned run: %v, %v; want its one record at size %d", got, err, s.Size())
	}
	if got, err := s.Facts(context.Background(), l.Bundle, f.root); !errors.Is(err, ErrNotScanned) || got != nil {
		t.Fatalf("Facts of a run not scanned: %v, %v; want ErrNotScanned", got, err)
	}
}

// TestScanRecords: the scan counts each scanned run's records without
// reading them; a run not scanned is not counted.
func TestScanRecords(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	other := withRun(t, f, "other-001")
	want, err := Load(context.Background(), f.dir, f.root, [][]byte{f.keyring}, "")
	if err != nil {
		t.Fatal(err)
	}
	s, err := ScanLog(context.Background(), f.dir, []*run.Root{other, f.root}, [][]byte{f.keyring}, "")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		root *run.Root
		n    int
		ok   bool
	}{
		{"one record", other, 1, true},
		{"the fixture's run, without the time evidence it cites", f.root, len(slices.DeleteFunc(want.Records, func(r policy.Record) bool { return r.Kind == "time-evidence" })), true},
		{"not scanned", withRun(t, f, "other-002"), 0, false},
	}
	for _, tc := range tests {
		if n, ok := s.Records(tc.root); n != tc.n || ok != tc.ok {
			t.Errorf("%s: Records = %d, %t; want %d, %t", tc.name, n, ok, tc.n, tc.ok)
		}
	}
}

// TestScanLogMax: a scan keeping at most one record a run still counts a
// larger run's records, and Facts of it fails with ErrScanLimit; a run
// within the limit loads as from ScanLog.
func TestScanLogMax(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	other := withRun(t, f, "other-001")
	all, err := ScanLog(context.Background(), f.dir, []*run.Root{other, f.root}, [][]byte{f.keyring}, "")
	if err != nil {
		t.Fatal(err)
	}
	s, err := ScanLogMax(context.Background(), f.dir, []*run.Root{other, f.root}, [][]byte{f.keyring}, "", 1)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := all.Records(f.root)
	if n, ok := s.Records(f.root); n != want || !ok || want < 2 {
		t.Fatalf("Records of the larger run: %d, %t; want %d (more than 1)", n, ok, want)
	}
	l := f.open(t)
	defer f.close(t, l)
	if got, err := s.Facts(context.Background(), l.Bundle, f.root); !errors.Is(err, ErrScanLimit) || got != nil {
		t.Fatalf("Facts of a run over the scan's limit: %v, %v; want ErrScanLimit", got, err)
	}
	if got, err := s.Facts(context.Background(), l.Bundle, other); err != nil || len(got.Records) != 1 {
		t.Fatalf("Facts of the run within the limit: %v, %v; want its one record", got, err)
	}
}
