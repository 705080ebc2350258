package policy

import (
	"slices"
	"testing"

	"github.com/dossier-audit/dossier/pkg/record"
)

func rel(rules ...string) []string {
	out := make([]string, len(rules))
	for i, r := range rules {
		out[i] = releasePrefix + r
	}
	slices.Sort(out)
	return out
}

func (f *fixture) approvalBy(p person) *Record {
	for i := range f.recs {
		if f.recs[i].Kind == "approval" && f.recs[i].Signer == p.key.ID {
			return &f.recs[i]
		}
	}
	return nil
}

func approvalOf(r *Record) *record.Approval { return r.Predicate.(*record.Approval) }

func TestEvaluate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(t *testing.T, f *fixture, in *Input)
		failed []string
		voided []string
	}{
		{name: "valid release", mutate: func(*testing.T, *fixture, *Input) {}},
		{name: "one key listed twice under two ids", mutate: func(t *testing.T, f *fixture, in *Input) {
			r := f.approvalBy(f.victor)
			r.Signer = "SHA256:aliasOfRitasKey"
			in.Records = f.recs
			in.Keys = aliasView{KeyView: in.Keys, alias: r.Signer, of: f.rita.key.ID, owner: f.victor.key.Owner}
		}, failed: rel(RuleKeyMaterial, RuleDistinctPeople)},
		{name: "one person with two keys", mutate: func(t *testing.T, f *fixture, in *Input) {
			rita2 := newPerson(t, "person:rita", "validation", "reviewer")
			f.versions[0].Keys = append(f.versions[0].Keys, rita2.key)
			r := f.approvalBy(f.victor)
			r.Signer = rita2.key.ID
			approvalOf(r).Signer.ID = "person:rita"
		}, failed: rel(RuleDistinctPeople)},
		{name: "two people from the developers' team", mutate: func(t *testing.T, f *fixture, in *Input) {
			tom2 := newPerson(t, "person:tom2", "ml-platform", "reviewer")
			f.versions[0].Keys = append(f.versions[0].Keys, tom2.key)
			for _, pair := range [][2]person{{f.rita, f.tom}, {f.victor, tom2}} {
				r := f.approvalBy(pair[0])
				r.Signer = pair[1].key.ID
				approvalOf(r).Signer.ID = pair[1].key.Owner.PersonID
			}
		}, failed: rel(RuleSeparationTeam, RuleDistinctPeople)},
		{name: "approval signed with the trainer's key", mutate: func(t *testing.T, f *fixture, in *Input) {
			r := f.approvalBy(f.victor)
			r.Signer = f.alice.key.ID
			approvalOf(r).Signer.ID = "person:alice"
		}, failed: rel(RuleSignerRole, RuleSeparationPerson, RuleSeparationTeam, RuleDistinctPeople)},
		{name: "approval covers other digests", mutate: func(t *testing.T, f *fixture, in *Input) {
			ap := approvalOf(f.approvalBy(f.rita))
			ap.ReviewedRecords = append([]string{"sha256:0000000000000000000000000000000000000000000000000000000000000000"}, ap.ReviewedRecords...)
		}, failed: rel(RuleCoverage, RuleDistinctPeople)},
		{name: "approval older in the log than a record it covers", mutate: func(t *testing.T, f *fixture, in *Input) {
			f.approvalBy(f.rita).LogIndex = 3
		}, failed: rel(RuleLogOrder, RuleDistinctPeople)},
		{name: "key compromised before signing", mutate: func(t *testing.T, f *fixture, in *Input) {
			f.revoke(f.victor, "compromised")
			f.approvalBy(f.victor).LogIndex = f.next
			*in = f.input()
		}, failed: rel(RuleKeyValid, RuleDistinctPeople)},
		{name: "departed reviewer's earlier approval stays valid", mutate: func(t *testing.T, f *fixture, in *Input) {
			f.revoke(f.victor, "departed")
			*in = f.input()
		}},
		{name: "departed reviewer's later approval is void", mutate: func(t *testing.T, f *fixture, in *Input) {
			f.revoke(f.victor, "departed")
			f.approvalBy(f.victor).LogIndex = f.next
			*in = f.input()
		}, failed: rel(RuleKeyValid, RuleDistinctPeople)},
		{name: "metrics pass the pipeline's thresholds but fail the plan", mutate: func(t *testing.T, f *fixture, in *Input) {
			ev := f.rec("evaluation").Predicate.(*record.Evaluation)
			ev.Metrics[0].Value = "0.82"
			ev.Thresholds = []record.MetricThreshold{{Metric: "exact_match", Op: ">=", Threshold: "0.8"}}
		}, failed: rel(RulePlanThresholds)},
		{name: "evaluation of other weights than the released ones", mutate: func(t *testing.T, f *fixture, in *Input) {
			f.rec("model-release").Predicate.(*record.ModelRelease).Weights = []record.ResourceDescriptor{{Name: "w", Digest: map[string]string{"sha256": "aa"}}}
			f.rec("evaluation").Predicate.(*record.Evaluation).Model = &record.ResourceDescriptor{Name: "w", Digest: map[string]string{"sha256": "bb"}}
		}, failed: rel(RuleReleasedModel)},
		{name: "evaluation of the released weights", mutate: func(t *testing.T, f *fixture, in *Input) {
			f.rec("model-release").Predicate.(*record.ModelRelease).Weights = []record.ResourceDescriptor{{Name: "w", Digest: map[string]string{"sha256": "aa"}}}
			f.rec("evaluation").Predicate.(*record.Evaluation).Model = &record.ResourceDescriptor{Name: "w", Digest: map[string]string{"sha256": "aa"}}
		}},
		{name: "plan logged after the evaluation", mutate: func(t *testing.T, f *fixture, in *Input) {
			f.rec("evaluation-plan").LogIndex, f.rec("evaluation").LogIndex = 4, 3
		}, failed: rel(RulePlanOrder, RulePlanCoverage)},
		{name: "plan signed without the validation role", mutate: func(t *testing.T, f *fixture, in *Input) {
			f.rec("evaluation-plan").Signer = f.alice.key.ID
		}, failed: rel(RulePlanSigner)},
		{name: "withdrawal cancels an approval", mutate: func(t *testing.T, f *fixture, in *Input) {
			d := f.add("approval", f.rita, &record.Approval{Signer: record.Signer{ID: "person:rita"}, Meaning: "approval",
				Decision: "withdraw", Withdraws: f.approvalBy(f.rita).Digest, ReviewedRecords: approvalOf(f.approvalBy(f.rita)).ReviewedRecords})
			_ = d
			in.Records = f.recs
		}, failed: rel(RuleDistinctPeople), voided: rel(RuleWithdrawn)},
		{name: "expired approval", mutate: func(t *testing.T, f *fixture, in *Input) {
			approvalOf(f.approvalBy(f.rita)).ExpiresAt = "2026-11-30T00:00:00Z"
		}, failed: rel(RuleDistinctPeople), voided: rel(RuleExpired)},
		{name: "unexpired approval counts", mutate: func(t *testing.T, f *fixture, in *Input) {
			approvalOf(f.approvalBy(f.rita)).ExpiresAt = "2027-11-30T00:00:00Z"
		}},
		{name: "evaluation logged after the approvals", mutate: func(t *testing.T, f *fixture, in *Input) {
			f.add("evaluation", f.pipeline, &record.Evaluation{Plan: f.rec("evaluation-plan").Digest, Benchmark: record.Benchmark{Name: "qa"},
				Metrics: []record.Metric{{Name: "exact_match", Value: "0.9"}}, Verdict: "pass"})
			in.Records = f.recs
		}, failed: rel(RuleDistinctPeople), voided: rel(RuleCoverage)},
		{name: "rejection does not count", mutate: func(t *testing.T, f *fixture, in *Input) {
			approvalOf(f.approvalBy(f.victor)).Decision = "reject"
		}, failed: rel(RuleDistinctPeople), voided: rel(RuleDecision)},
		{name: "meaning review does not count as approval", mutate: func(t *testing.T, f *fixture, in *Input) {
			approvalOf(f.approvalBy(f.victor)).Meaning = "review"
		}, failed: rel(RuleDistinctPeople), voided: rel(RuleMeaning)},
		{name: "signer id differs from the key's owner", mutate: func(t *testing.T, f *fixture, in *Input) {
			approvalOf(f.approvalBy(f.victor)).Signer.ID = "person:rita"
		}, failed: rel(RuleSignerIdentity, RuleDistinctPeople)},
		{name: "approval of another run is ignored", mutate: func(t *testing.T, f *fixture, in *Input) {
			approvalOf(f.approvalBy(f.victor)).RunID = "r2"
		}, failed: rel(RuleDistinctPeople)},
		{name: "run without a release: release rules do not apply", mutate: func(t *testing.T, f *fixture, in *Input) {
			f.rec("model-release").Kind = "attachment"
			f.approvalBy(f.victor).Kind = "attachment"
		}},
		{name: "run being released without a release record", mutate: func(t *testing.T, f *fixture, in *Input) {
			f.rec("model-release").Kind = "attachment"
			in.Release = true
		}, failed: rel(RuleRequiredKinds)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			in := f.input()
			tt.mutate(t, f, &in)
			rep := Evaluate(in)
			if got := rep.Failed(); !slices.Equal(got, tt.failed) {
				t.Errorf("failed rules = %q, want %q\n%s", got, tt.failed, dump(rep))
			}
			if got := voided(rep); !slices.Equal(got, tt.voided) {
				t.Errorf("voided rules = %q, want %q\n%s", got, tt.voided, dump(rep))
			}
			if rep.OK() != (len(tt.failed) == 0) {
				t.Errorf("OK() = %v with failures %q", rep.OK(), rep.Failed())
			}
		})
	}
}

func voided(r Report) []string {
	var out []string
	for _, res := range r.Results {
		if res.Status == Void && !slices.Contains(out, res.Rule) {
			out = append(out, res.Rule)
		}
	}
	slices.Sort(out)
	return out
}

func dump(r Report) string {
	s := ""
	for _, res := range r.Results {
		s += res.Status + " " + res.Rule + " " + res.Subject + " " + res.Message + "\n"
	}
	return s
}

func TestEvaluateCountsQuorum(t *testing.T) {
	t.Parallel()
	rep := Evaluate(newFixture(t).input())
	i := slices.IndexFunc(rep.Results, func(r Result) bool { return r.Rule == releasePrefix+RuleDistinctPeople && r.Subject == "" })
	if i < 0 || rep.Results[i].Status != Pass || rep.Results[i].Message[:1] != "2" {
		t.Fatalf("quorum result missing or not 2 distinct approvers:\n%s", dump(rep))
	}
	if !rep.Release {
		t.Error("Release = false for a run with a model-release record")
	}
}

func TestEvaluateWithoutPolicyOrKeys(t *testing.T) {
	t.Parallel()
	for _, in := range []Input{{RunID: "r1"}, {RunID: "r1", Policy: &Policy{}}} {
		if rep := Evaluate(in); rep.OK() || !slices.Equal(rep.Failed(), []string{"policy.input"}) {
			t.Errorf("Evaluate(%+v).Failed() = %q, want [policy.input]", in, rep.Failed())
		}
	}
}

func TestRunRequiredKinds(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.policy = mustParse(t, `{"mediaType":"application/vnd.dossier.policy.v1+json","time":{"accept":["good"],"acceptUntraceable":false,"maxProducerSkewSeconds":300},"requiredKinds":["dataset","correction"]}`)
	rep := Evaluate(f.input())
	if got := rep.Failed(); !slices.Equal(got, []string{RuleRequiredKinds}) {
		t.Fatalf("Failed() = %q, want [%s]\n%s", got, RuleRequiredKinds, dump(rep))
	}
}

func TestEvaluateMistypedRecord(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.approvalBy(f.victor).Predicate = &record.Dataset{}
	f.recs = append(f.recs, Record{Digest: "sha256:nil", Kind: "dataset", LogIndex: 99})
	rep := Evaluate(f.input())
	want := []string{"policy.input", rel(RuleDistinctPeople)[0]}
	slices.Sort(want)
	if got := rep.Failed(); !slices.Equal(got, want) {
		t.Fatalf("Failed() = %q, want %q\n%s", got, want, dump(rep))
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(releasePolicy))
	f.Add([]byte(`{"mediaType":"application/vnd.dossier.policy.v1+json","time":{"accept":[],"acceptUntraceable":false,"maxProducerSkewSeconds":0},"requiredKinds":[]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Parse(b)
		if err == nil {
			if p.Validate() != nil {
				t.Fatal("Parse accepted a policy Validate rejects")
			}
			Tighten(p, p)
		}
	})
}
