package console_test

import (
	"context"
	"crypto"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/tessera/api/layout"
	"github.com/transparency-dev/tessera/client"

	"github.com/dossier-audit/dossier/pkg/bundle"
	"github.com/dossier-audit/dossier/pkg/console"
	"github.com/dossier-audit/dossier/pkg/record"
	"github.com/dossier-audit/dossier/pkg/run"
	"github.com/dossier-audit/dossier/pkg/tlog"
	"github.com/dossier-audit/dossier/pkg/tlog/tlogproof"
)

// newManyRunsFixture is newLogFixtureN(0) (its run of three records) with
// others leaves of other streams and runs more runs of the same model,
// started one minute apart after it, each of records records (training
// run, evaluation, run end and datasets) logged with their receipts, as
// dossierd logs them. It returns the added runs, oldest first.
func newManyRunsFixture(tb testing.TB, runs, records, others int) (*logFixture, []*run.Root) {
	tb.Helper()
	f := newLogFixtureN(tb, 0)
	f.otherRuns(tb, others)
	te := f.timeEvidence(tb)
	var out []*run.Root
	for i := range runs {
		r, err := run.New(run.Registration{RunID: fmt.Sprintf("notes-ft-%03d", i+100), Project: "notes", Model: "acme/notes",
			StartedBy: run.Identity{ID: "workload:trainer", Kind: "workload"}, StartedAt: fmt.Sprintf("2026-11-27T09:%02d:00Z", i)})
		if err != nil {
			tb.Fatal(err)
		}
		f.logRun(tb, r, records, te)
		if err := os.WriteFile(filepath.Join(f.cfg.RunsDir, r.Registration.RunID+".json"), r.MarshalFile(), 0o644); err != nil {
			tb.Fatal(err)
		}
		out = append(out, r)
	}
	awaitCheckpoint(tb, f.log)
	return f, out
}

// logRun logs records records of run r, each with its receipt, in one
// AppendMany.
func (f *logFixture) logRun(tb testing.TB, r *run.Root, records int, te string) {
	tb.Helper()
	var items []tlog.Item
	for i := range records {
		kind := []string{"training-run", "evaluation", "run-closed"}[min(i, 2)]
		if i >= 3 {
			kind = "dataset"
		}
		rec := f.signRun(tb, r, kind, i, te)
		items = append(items, tlog.Item{Bundle: rec, Stream: r.Digest()}, tlog.Item{Bundle: f.receipt(tb, rec, te), Stream: record.ReceiptStream})
	}
	if _, err := f.log.AppendMany(context.Background(), items); err != nil {
		tb.Fatal(err)
	}
}

// signRun signs the i-th record of run r, of kind kind, citing te.
func (f *logFixture) signRun(tb testing.TB, r *run.Root, kind string, i int, te string) []byte {
	tb.Helper()
	var m map[string]any
	_ = json.Unmarshal(record.Template(kind), &m)
	m["timeEvidence"], m["producedAt"], m["runId"] = map[string]any{"digest": te}, "2026-11-27T10:00:00Z", r.Registration.RunID
	if kind == "dataset" {
		m["name"] = fmt.Sprintf("dataset-%05d", i)
	}
	delete(m, "plan")
	pred, _ := json.Marshal(m)
	pt := record.PredicateTypePrefix + kind + "/v1"
	rs := record.RunSubject(r.Registration.RunID, r.Digest())
	subjects, err := record.Subjects(pt, pred, &rs)
	if err != nil {
		tb.Fatal(err)
	}
	st, err := record.NewStatement(subjects, pt, pred)
	if err != nil {
		tb.Fatal(err)
	}
	b, err := bundle.Sign(context.Background(), f.pipeline.signer, bundle.PayloadTypeInToto, st)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// BenchmarkLogBackendColdList measures, after a restart (a fresh
// LogBackend, empty cache), the queue page (Runs, every run) and the page
// of the newest run (which renders its review against the model's last
// approved version: none here, so every earlier run of the model is read)
// over a log of 21 runs of one model (20 of 500 records with receipts)
// and 200,000 leaves of other streams. Its physical bound, measured in
// the same run: reading, parsing and hashing every leaf of the log once
// and reading and verifying every record of the runs once.
func BenchmarkLogBackendColdList(b *testing.B) {
	const runs, records, others = 20, 500, 200000
	start := time.Now()
	f, roots := newManyRunsFixture(b, runs, records, others)
	b.Logf("fixture: %d other leaves, %d runs of %d records and receipts in %v", others, runs, records, time.Since(start).Round(time.Millisecond))
	newest := roots[len(roots)-1].Registration.RunID
	pages := []struct {
		name string
		read func(ctx context.Context, be *console.LogBackend) error
	}{
		{"queue", func(ctx context.Context, be *console.LogBackend) error {
			p, err := be.Runs(ctx, console.Filter{Page: console.Page{Limit: 50}})
			if err == nil && p.Total != runs+1 {
				err = fmt.Errorf("%d runs listed, want %d", p.Total, runs+1)
			}
			return err
		}},
		{"run", func(ctx context.Context, be *console.LogBackend) error {
			d, err := be.Run(ctx, newest)
			if err == nil && d.Summary.Records < records {
				err = fmt.Errorf("the run has %d records, want at least %d", d.Summary.Records, records)
			}
			return err
		}},
	}
	for _, p := range pages {
		b.Run("page="+p.name, func(b *testing.B) {
			var cold, bound []time.Duration
			for b.Loop() {
				fresh, err := console.NewLogBackend(f.cfg)
				if err != nil {
					b.Fatal(err)
				}
				start := time.Now()
				if err := p.read(b.Context(), fresh); err != nil {
					b.Fatal(err)
				}
				cold = append(cold, time.Since(start))
				start = time.Now()
				f.scanAndVerify(b, roots)
				bound = append(bound, time.Since(start))
			}
			reportCold(b, cold, bound)
		})
	}
}

// scanAndVerify is the bound of a cold read of the runs: every leaf of the
// log read, parsed and hashed into a tree once, and every record of the
// fixture's runs (those of roots and its own) read from the bundle store
// and its signature verified once.
func (f *logFixture) scanAndVerify(tb testing.TB, roots []*run.Root) {
	tb.Helper()
	want := map[string]bool{f.root.Digest(): true}
	for _, r := range roots {
		want[r.Digest()] = true
	}
	raw, err := tlog.ReadCheckpoint(f.log.Dir())
	if err != nil {
		tb.Fatal(err)
	}
	size, err := strconv.ParseUint(strings.SplitN(string(raw), "\n", 3)[1], 10, 64)
	if err != nil {
		tb.Fatal(err)
	}
	fetch := client.FileFetcher{Root: f.log.Dir()}
	rng := (&compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}).NewEmptyRange(0)
	var digests []string
	for i := uint64(0); i*layout.EntryBundleWidth < size; i++ {
		eb, err := client.GetEntryBundle(context.Background(), fetch.ReadEntryBundle, i, size)
		if err != nil {
			tb.Fatal(err)
		}
		for _, e := range eb.Entries {
			lf, err := tlogproof.ParseLeaf(e)
			if err != nil {
				tb.Fatal(err)
			}
			if err := rng.Append(rfc6962.DefaultHasher.HashLeaf(e), nil); err != nil {
				tb.Fatal(err)
			}
			if want[lf.Stream] {
				digests = append(digests, lf.Bundle)
			}
		}
	}
	if _, err := rng.GetRootHash(nil); err != nil {
		tb.Fatal(err)
	}
	v, err := signature.LoadVerifier(f.pipeline.pub, crypto.SHA256)
	if err != nil {
		tb.Fatal(err)
	}
	for _, d := range digests {
		b, err := f.log.Bundle(context.Background(), d)
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := bundle.Verify(b, v); err != nil {
			tb.Fatal(err)
		}
	}
}
