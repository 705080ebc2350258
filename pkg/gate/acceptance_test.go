package gate

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/dossier-audit/dossier/pkg/dossier"
	"github.com/dossier-audit/dossier/pkg/keyring"
	"github.com/dossier-audit/dossier/pkg/record"
	"github.com/dossier-audit/dossier/pkg/review"
	"github.com/dossier-audit/dossier/pkg/run"
	"github.com/dossier-audit/dossier/pkg/verify"
)

// TestTamperedPackagesFailPolicy is issue 8's acceptance at library level
// (scripts/demo_tamper.sh does the same on the demo's outputs): removing
// one approval, swapping in an approval from another run, or signing an
// approval with the trainer's key gives a package that is validly signed
// and complete, yet rejected by the verifier with policy failures only,
// naming the rule. The control (both approvals) verifies.
func TestTamperedPackagesFailPolicy(t *testing.T) {
	t.Parallel()
	pol, err := verify.ParsePolicy([]byte(releasePolicy))
	if err != nil {
		t.Fatal(err)
	}
	// The trainer (alice signed the training run) also holds the reviewer
	// role, so only separation of duties keeps her from approving.
	trainerReviews := func(f *fixture) { f.alice.roles = append(f.alice.roles, "reviewer") }
	tests := []struct {
		name string
		// approve appends the approvals and returns the runs to export.
		approve func(t *testing.T, f *fixture, doc []byte) []*run.Root
		want    []string
	}{
		{"both approvals (control)", func(t *testing.T, f *fixture, doc []byte) []*run.Root {
			f.appendAll(t, f.approval(t, doc, f.rita, "approve"), f.approval(t, doc, f.victor, "approve"))
			return []*run.Root{f.root}
		}, nil},
		{"one approval removed", func(t *testing.T, f *fixture, doc []byte) []*run.Root {
			f.appendAll(t, f.approval(t, doc, f.rita, "approve"))
			return []*run.Root{f.root}
		}, []string{"release.approvals.distinct-people"}},
		{"approval swapped in from another run", func(t *testing.T, f *fixture, doc []byte) []*run.Root {
			f.appendAll(t, f.approval(t, doc, f.rita, "approve"))
			other := f.otherRunApprovedBy(t, f.victor)
			return []*run.Root{f.root, other}
		}, []string{"release.approvals.distinct-people"}},
		{"approval signed with the trainer's key", func(t *testing.T, f *fixture, doc []byte) []*run.Root {
			f.appendAll(t, f.approval(t, doc, f.rita, "approve"), f.approval(t, doc, f.alice, "approve"))
			return []*run.Root{f.root}
		}, []string{"release.approvals.distinct-people", "release.approvals.separation-of-duties.person", "release.approvals.separation-of-duties.team"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, trainerReviews)
			doc, _, err := review.Render(f.load(t).ReviewInput(nil, ""))
			if err != nil {
				t.Fatal(err)
			}
			runs := tc.approve(t, f, doc)
			res := f.verify(t, f.exportRuns(t, runs...), pol)
			var rules []string
			for _, fe := range res.Failures {
				if fe.Class != verify.FailPolicy || fe.Step != "11" {
					t.Errorf("failure of class %s at step %s (%s): the package must fail the policy only", fe.Class, fe.Step, fe.Message)
				}
				rules = append(rules, fe.Rule)
			}
			slices.Sort(rules)
			if !slices.Equal(rules, tc.want) {
				t.Errorf("failed rules %q, want %q", rules, tc.want)
			}
			wantOutcome := verify.Rejected
			if tc.want == nil {
				wantOutcome = verify.Verified
			}
			if res.Outcome != wantOutcome {
				t.Errorf("outcome %s, want %s", res.Outcome, wantOutcome)
			}
		})
	}
}

// exportRuns writes a package of runs from the fixture's log.
func (f *fixture) exportRuns(t *testing.T, runs ...*run.Root) string {
	t.Helper()
	l := f.open(t)
	defer f.close(t, l)
	out := filepath.Join(t.TempDir(), "package.tar")
	_, err := dossier.Export(context.Background(), dossier.ExportRequest{Runs: runs, Keyring: [][]byte{f.keyring},
		Producer: record.Producer{ID: "person:erika", Name: "Erika", Kind: "person"}, RequestedBy: record.Party{ID: "person:erika", Name: "Erika"},
		Recipient: record.Recipient{Organisation: "Notified Body"}, Purpose: "audit", At: at, Output: out}, dossier.Deps{Log: l, Exporter: f.exporter.signer})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// verify runs the verifier on a package file with the fixture's pin.
func (f *fixture) verify(t *testing.T, path string, pol *verify.Policy) *verify.Result {
	t.Helper()
	v1, err := keyring.Parse(f.keyring)
	if err != nil {
		t.Fatal(err)
	}
	file, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	st, err := file.Stat()
	if err != nil {
		t.Fatal(err)
	}
	return verify.VerifyPackage(file, st.Size(), verify.PackageOptions{RootFingerprint: keyring.RootFingerprint(v1.Payload), Policy: pol, At: at})
}

// otherRunApprovedBy logs another run (dataset, training run, evaluation,
// end: what every run must hold) and h's genuine approval of it.
func (f *fixture) otherRunApprovedBy(t *testing.T, h holder) *run.Root {
	t.Helper()
	other, err := run.New(run.Registration{RunID: "other-run", Project: "support-assistant", Model: "acme/notes",
		StartedBy: run.Identity{ID: "workload:trainer", Kind: "workload"}, StartedAt: "2026-11-20T08:00:00Z"})
	if err != nil {
		t.Fatal(err)
	}
	te := ""
	for _, r := range f.load(t).Records {
		if r.Kind == "time-evidence" {
			te = r.Digest
		}
	}
	l := f.open(t)
	for _, k := range []struct {
		kind string
		h    holder
	}{{"dataset", f.pipeline}, {"training-run", f.alice}, {"evaluation", f.pipeline}, {"run-closed", f.pipeline}} {
		var m map[string]any
		if err := json.Unmarshal(record.Template(k.kind), &m); err != nil {
			t.Fatal(err)
		}
		m["runId"], m["timeEvidence"], m["producedAt"] = "other-run", map[string]any{"digest": te}, "2026-11-27T10:00:00Z"
		delete(m, "plan")
		pred, _ := json.Marshal(m)
		f.appendTo(t, l, f.signFor(t, other, k.h, k.kind, pred), other.Digest())
	}
	f.close(t, l)
	facts, err := Load(context.Background(), f.dir, other, [][]byte{f.keyring}, "")
	if err != nil {
		t.Fatal(err)
	}
	doc, _, err := review.Render(facts.ReviewInput(nil, ""))
	if err != nil {
		t.Fatal(err)
	}
	a, err := NewApproval(ApprovalRequest{Run: other, Review: doc, PrintedName: h.owner.Name, SignerID: h.owner.PersonID,
		Meaning: "approval", Decision: "approve", At: at})
	if err != nil {
		t.Fatal(err)
	}
	b, err := SignApproval(context.Background(), h.signer, other.Digest(), a)
	if err != nil {
		t.Fatal(err)
	}
	l = f.open(t)
	defer f.close(t, l)
	f.appendTo(t, l, b, other.Digest())
	return other
}
