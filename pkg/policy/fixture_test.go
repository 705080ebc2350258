package policy

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/dossier-audit/dossier/pkg/keyring"
	"github.com/dossier-audit/dossier/pkg/record"
)

// person is a key holder of the fixture.
type person struct {
	key  keyring.Key
	priv *ecdsa.PrivateKey
}

func newPerson(t testing.TB, id, team string, roles ...string) person {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := keyring.NewKey(&priv.PublicKey, roles, keyring.Owner{Name: "Name of " + id, PersonID: id, Team: team}, "2026-01-01T00:00:00Z", "")
	if err != nil {
		t.Fatal(err)
	}
	return person{key: k, priv: priv}
}

// fixture is a run r1 that satisfies the release policy: a pipeline and a
// developer (team ml-platform) make the records, a validator signs the
// plan, two reviewers of team validation approve.
type fixture struct {
	pipeline, alice, vera, rita, victor, tom person
	versions                                 []*keyring.Document
	indices                                  []uint64
	recs                                     []Record
	next                                     uint64
	policy                                   *Policy
	at                                       time.Time
}

func newFixture(t testing.TB) *fixture {
	f := &fixture{
		pipeline: newPerson(t, "workload:pipeline", "ml-platform", "producer"),
		alice:    newPerson(t, "person:alice", "ml-platform", "producer"),
		vera:     newPerson(t, "person:vera", "validation", "reviewer"),
		rita:     newPerson(t, "person:rita", "validation", "reviewer"),
		victor:   newPerson(t, "person:victor", "validation", "reviewer"),
		tom:      newPerson(t, "person:tom", "ml-platform", "reviewer"),
		at:       time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC),
	}
	f.keyring(f.pipeline, f.alice, f.vera, f.rita, f.victor, f.tom)
	f.add("dataset", f.pipeline, &record.Dataset{})
	f.add("training-run", f.alice, &record.TrainingRun{})
	plan := f.add("evaluation-plan", f.vera, &record.EvaluationPlan{SignedByRole: "reviewer",
		Metrics: []record.MetricThreshold{{Benchmark: "qa", Metric: "exact_match", Op: ">=", Threshold: "0.85"}}})
	f.add("evaluation", f.pipeline, &record.Evaluation{Plan: plan, Benchmark: record.Benchmark{Name: "qa"},
		Metrics: []record.Metric{{Name: "exact_match", Value: "0.873"}}, Verdict: "pass"})
	f.add("model-release", f.pipeline, &record.ModelRelease{})
	f.add("run-closed", f.pipeline, &record.RunClosed{})
	f.approve(f.rita, "approve", f.runDigests()...)
	f.approve(f.victor, "approve", f.runDigests()...)
	f.policy = mustParse(t, releasePolicy)
	return f
}

const releasePolicy = `{"mediaType":"application/vnd.dossier.policy.v2+json","name":"release",
 "time":{"accept":["good"],"acceptUntraceable":false,"maxProducerSkewSeconds":300},
 "requiredKinds":["dataset","training-run","evaluation","run-closed"],
 "releases":{"requiredKinds":["evaluation-plan","model-release","approval"],
  "evaluationPlan":{"role":"reviewer"},
  "approvals":{"min":2,"role":"reviewer","meanings":["approval"],
   "cover":["dataset","training-run","evaluation-plan","evaluation","model-release","run-closed"]},
  "separationOfDuties":{"byPerson":true,"byTeam":true,"developerKinds":["dataset","training-run"]}}}`

func mustParse(t testing.TB, s string) *Policy {
	t.Helper()
	p, err := Parse([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// keyring logs a new keyring version listing ps.
func (f *fixture) keyring(ps ...person) *keyring.Document {
	d := &keyring.Document{MediaType: "application/vnd.dossier.keyring.v1+json", Version: len(f.versions) + 1, RootThreshold: 1}
	for _, p := range ps {
		d.Keys = append(d.Keys, p.key)
	}
	f.versions = append(f.versions, d)
	f.indices = append(f.indices, f.next)
	f.next++
	return d
}

// revoke logs a keyring version that lists every key of the last version,
// with p's key revoked for reason.
func (f *fixture) revoke(p person, reason string) {
	last := f.versions[len(f.versions)-1]
	d := f.keyring()
	for _, k := range last.Keys {
		if k.ID == p.key.ID {
			k.Revocation = &keyring.Revocation{At: "2026-06-01T00:00:00Z", Reason: reason}
		}
		d.Keys = append(d.Keys, k)
	}
}

func (f *fixture) add(kind string, by person, p record.Predicate) string {
	c := record.Common{RunID: "r1", Attempt: 1, ProducedAt: "2026-11-27T00:00:00Z",
		Producer: record.Producer{ID: by.key.Owner.PersonID, Name: by.key.Owner.Name, Kind: "person"}}
	setCommon(p, c)
	sum := sha256.Sum256(fmt.Appendf(nil, "%s/%d", kind, f.next))
	r := Record{Digest: fmt.Sprintf("sha256:%x", sum), Kind: kind, LogIndex: f.next, Signer: by.key.ID, Predicate: p}
	f.recs = append(f.recs, r)
	f.next++
	return r.Digest
}

func setCommon(p record.Predicate, c record.Common) {
	switch v := p.(type) {
	case *record.Dataset:
		v.Common = c
	case *record.TrainingRun:
		v.Common = c
	case *record.EvaluationPlan:
		v.Common = c
	case *record.Evaluation:
		v.Common = c
	case *record.ModelRelease:
		v.Common = c
	case *record.RunClosed:
		v.Common = c
	case *record.Approval:
		v.Common = c
	case *record.Attachment:
		v.Common = c
	}
}

func (f *fixture) approve(by person, decision string, digests ...string) string {
	ds := slices.Clone(digests)
	slices.Sort(ds)
	return f.add("approval", by, &record.Approval{Signer: record.Signer{PrintedName: by.key.Owner.Name, ID: by.key.Owner.PersonID},
		SignedAt: "2026-11-28T00:00:00Z", Meaning: "approval", Decision: decision, ReviewedRecords: ds})
}

// runDigests are the digests of the run's non-approval records so far.
func (f *fixture) runDigests() []string {
	var out []string
	for _, r := range f.recs {
		if r.Kind != "approval" {
			out = append(out, r.Digest)
		}
	}
	return out
}

func (f *fixture) rec(kind string) *Record {
	for i := range f.recs {
		if f.recs[i].Kind == kind {
			return &f.recs[i]
		}
	}
	return nil
}

func (f *fixture) input() Input {
	chain := &keyring.Chain{}
	for _, d := range f.versions {
		chain.Versions = append(chain.Versions, &keyring.Version{Document: d})
	}
	return Input{Policy: f.policy, RunID: "r1", Records: f.recs, Keys: ChainView{Chain: chain, Indices: f.indices}, At: f.at}
}

// aliasView lists one key under a second id (same key material).
type aliasView struct {
	KeyView
	alias, of string
	owner     keyring.Owner
}

func (v aliasView) KeyAt(id string, i uint64) (KeyState, error) {
	if id != v.alias {
		return v.KeyView.KeyAt(id, i)
	}
	st, err := v.KeyView.KeyAt(v.of, i)
	st.Fingerprint, st.Owner = v.alias, v.owner
	return st, err
}
