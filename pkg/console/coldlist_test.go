package console_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/dossier-audit/dossier/pkg/console"
	"github.com/dossier-audit/dossier/pkg/gate"
	"github.com/dossier-audit/dossier/pkg/ingest/auth"
)

// scans records the passes a LogBackend makes over the log.
type scans struct {
	mu   sync.Mutex
	runs [][]string // the run ids of each pass
}

func countScans(t *testing.T, f *logFixture) (*console.LogBackend, *scans) {
	t.Helper()
	b, err := console.NewLogBackend(f.cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := &scans{}
	console.OnScan(b, func(runs []string) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.runs = append(s.runs, slices.Sorted(slices.Values(runs)))
	})
	return b, s
}

// since returns the passes made after the first n.
func (s *scans) since(n int) [][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.runs[n:])
}

func (s *scans) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.runs)
}

var allRuns = []string{"notes-ft-001", "notes-ft-100", "notes-ft-101", "notes-ft-102", "notes-ft-103"}

// TestColdListReadsLogOnce: after a restart the queue page reads the log
// once for every run, a second page not at all; when the log has grown,
// the runs are refreshed in the background in one pass.
func TestColdListReadsLogOnce(t *testing.T) {
	t.Parallel()
	f, _ := newManyRunsFixture(t, 4, 5, 300)
	b, s := countScans(t, f)
	ctx := context.Background()
	for i := range 2 {
		p, err := b.Runs(ctx, console.Filter{Page: console.Page{Limit: 50}})
		if err != nil || p.Total != len(allRuns) {
			t.Fatalf("queue page %d: %d runs, %v; want %d", i+1, p.Total, err, len(allRuns))
		}
	}
	if got := s.since(0); len(got) != 1 || !slices.Equal(got[0], allRuns) {
		t.Fatalf("two queue pages after a restart read the log for %v, want once for %v", got, allRuns)
	}
	f.append(t, f.signRun(t, f.root, "dataset", 9, f.timeEvidence(t)), f.root.Digest())
	awaitCheckpoint(t, f.log)
	if _, err := b.Runs(ctx, console.Filter{Page: console.Page{Limit: 50}}); err != nil {
		t.Fatal(err)
	}
	for range 250 {
		if s.count() > 1 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := s.since(1); len(got) != 1 || !slices.Equal(got[0], allRuns) {
		t.Fatalf("the queue page after the log grew refreshed %v, want one pass for %v", got, allRuns)
	}
}

// TestColdRunPageReadsLogOnce: after a restart the page of a run reads
// the log once for the run and the earlier runs of its model, verifies
// them newest first only until the last approved one, and the queue page
// then reads the log once for the runs not verified yet.
func TestColdRunPageReadsLogOnce(t *testing.T) {
	t.Parallel()
	f, _ := newManyRunsFixture(t, 4, 5, 300)
	ctx := context.Background()
	approved := "notes-ft-101"
	d, err := f.b.Run(ctx, approved)
	if err != nil {
		t.Fatal(err)
	}
	a, err := gate.NewApproval(gate.ApprovalRequest{Review: d.Review, PrintedName: f.rita.owner.Name, SignerID: f.rita.owner.PersonID,
		Meaning: "approval", Decision: "approve", At: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	bun, err := gate.SignApproval(ctx, f.rita.signer, d.RunRoot, a)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.b.SubmitApproval(ctx, approved, bun, auth.Identity{Subject: "rita"}); err != nil {
		t.Fatal(err)
	}
	awaitCheckpoint(t, f.log)
	b, s := countScans(t, f)
	d, err = b.Run(ctx, "notes-ft-103")
	if err != nil || d.Previous != "run "+approved {
		t.Fatalf("run page: previous %q, %v; want run %s", d.Previous, err, approved)
	}
	if got, want := s.since(0), []string{"notes-ft-001", "notes-ft-100", "notes-ft-101", "notes-ft-102", "notes-ft-103"}; len(got) != 1 || !slices.Equal(got[0], want) {
		t.Fatalf("cold run page read the log for %v, want once for %v", got, want)
	}
	if _, err := b.Runs(ctx, console.Filter{Page: console.Page{Limit: 50}}); err != nil {
		t.Fatal(err)
	}
	if got := s.since(1); len(got) != 1 || !slices.Equal(got[0], []string{"notes-ft-001", "notes-ft-100"}) {
		t.Fatalf("queue page after the run page read the log for %v, want once for the runs older than the approved one", got)
	}
}
