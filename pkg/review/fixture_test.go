package review

import (
	"crypto/sha256"
	"fmt"
	"testing"

	"github.com/dossier-audit/dossier/pkg/keyring"
	"github.com/dossier-audit/dossier/pkg/policy"
	"github.com/dossier-audit/dossier/pkg/record"
)

// parsed returns record.Template(kind) parsed as its typed predicate.
func parsed[T record.Predicate](tb testing.TB, kind string) T {
	tb.Helper()
	p, err := record.ParsePredicate("https://dossier.dev/predicates/"+kind+"/v1", record.Template(kind))
	if err != nil {
		tb.Fatalf("template of %s: %v", kind, err)
	}
	return p.(T)
}

// bigRun returns a run of n records as the daemon logs a large run: the
// time evidence, a training run, a plan, an evaluation, a release, an
// attachment, a run end and an approval from the record templates, then
// datasets named dataset-00000.. (shallow copies of the template: Render
// only reads them). version is every dataset's version, to make a
// previous run differ.
func bigRun(tb testing.TB, run string, n int, version string) []policy.Record {
	tb.Helper()
	te := parsed[*record.TimeEvidence](tb, "time-evidence")
	tr := parsed[*record.TrainingRun](tb, "training-run")
	pl := parsed[*record.EvaluationPlan](tb, "evaluation-plan")
	ev := parsed[*record.Evaluation](tb, "evaluation")
	mr := parsed[*record.ModelRelease](tb, "model-release")
	at := parsed[*record.Attachment](tb, "attachment")
	rc := parsed[*record.RunClosed](tb, "run-closed")
	ap := parsed[*record.Approval](tb, "approval")
	for _, c := range []*record.Common{&tr.Common, &pl.Common, &ev.Common, &mr.Common, &at.Common, &rc.Common, &ap.Common} {
		c.RunID = run
	}
	ev.Plan = fixtureDigest(run, "plan")
	recs := []policy.Record{
		{Kind: "time-evidence", Predicate: te}, {Kind: "training-run", Predicate: tr},
		{Kind: "evaluation-plan", Predicate: pl}, {Kind: "evaluation", Predicate: ev},
		{Kind: "model-release", Predicate: mr}, {Kind: "attachment", Predicate: at},
		{Kind: "run-closed", Predicate: rc}, {Kind: "approval", Predicate: ap},
	}
	recs[2].Digest = ev.Plan
	base := parsed[*record.Dataset](tb, "dataset")
	for i := len(recs); i < n; i++ {
		d := *base
		d.RunID, d.Name, d.Version = run, fmt.Sprintf("dataset-%05d", i), version
		recs = append(recs, policy.Record{Kind: "dataset", Predicate: &d})
	}
	for i := range recs {
		if recs[i].Digest == "" {
			recs[i].Digest = fixtureDigest(run, fmt.Sprint(i))
		}
		recs[i].LogIndex = uint64(1000 + 2*i)
		recs[i].Signer = fixtureSigners[i%len(fixtureSigners)]
	}
	return recs
}

var fixtureSigners = []string{"SHA256:pipeline", "SHA256:alice", "SHA256:unknown"}

func fixtureOwners() map[string]keyring.Owner {
	return map[string]keyring.Owner{
		"SHA256:pipeline": {Name: "data-prep pipeline", PersonID: "workload:pipeline", Team: "ml-platform"},
		"SHA256:alice":    {Name: "Alice A.", PersonID: "person:alice", Team: "ml-platform"},
	}
}

func fixtureDigest(run, s string) string {
	return fmt.Sprintf("sha256:%x", sha256.Sum256([]byte(run+"/"+s)))
}

// bigInput is a run of n records with its keyring owners, as the console
// renders it.
func bigInput(tb testing.TB, n int) Input {
	return Input{RunID: "llama3-ft-2026-11-27-001", RunRoot: fixtureDigest("root", "r"),
		Records: bigRun(tb, "llama3-ft-2026-11-27-001", n, "2026.11"), Owners: fixtureOwners()}
}
