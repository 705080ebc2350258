package policy

import (
	"slices"
	"testing"
)

func TestTighten(t *testing.T) {
	t.Parallel()
	base := mustParse(t, `{"mediaType":"application/vnd.dossier.policy.v1+json","time":{"accept":["good","degraded"],"acceptUntraceable":true,"maxProducerSkewSeconds":300},"requiredKinds":["run-closed"]}`)
	proposal := mustParse(t, `{"mediaType":"application/vnd.dossier.policy.v2+json","time":{"accept":["good"],"acceptUntraceable":false,"maxProducerSkewSeconds":600},"requiredKinds":["dataset"],
	 "releases":{"approvals":{"min":1,"role":"reviewer","meanings":["approval","review"],"cover":["evaluation"]},
	  "separationOfDuties":{"byPerson":true,"byTeam":false,"developerKinds":["training-run"]}}}`)
	stricter := mustParse(t, `{"mediaType":"application/vnd.dossier.policy.v2+json","time":{"accept":["good"],"acceptUntraceable":false,"maxProducerSkewSeconds":60},"requiredKinds":[],
	 "releases":{"approvals":{"min":2,"role":"reviewer","meanings":["approval"],"cover":["model-release"]},
	  "separationOfDuties":{"byPerson":false,"byTeam":true,"developerKinds":["dataset"]}}}`)
	got := Tighten(Tighten(base, proposal), stricter)
	if err := got.Validate(); err != nil {
		t.Fatalf("tightened policy is invalid: %v", err)
	}
	a, s := got.Releases.Approvals, got.Releases.SeparationOfDuties
	switch {
	case got.MediaType != MediaTypeV2:
		t.Errorf("mediaType %q", got.MediaType)
	case !slices.Equal(got.Time.Accept, []string{"good"}) || got.Time.AcceptUntraceable || got.Time.MaxProducerSkewSeconds != 60:
		t.Errorf("time %+v", got.Time)
	case !slices.Equal(got.RequiredKinds, []string{"run-closed", "dataset"}):
		t.Errorf("requiredKinds %q", got.RequiredKinds)
	case a.Min != 2 || !slices.Equal(a.Meanings, []string{"approval"}) || !slices.Equal(a.Cover, []string{"evaluation", "model-release"}):
		t.Errorf("approvals %+v", a)
	case !s.ByPerson || !s.ByTeam || !slices.Equal(s.DeveloperKinds, []string{"training-run", "dataset"}):
		t.Errorf("separation %+v", s)
	}
	if proposal.Releases.Approvals.Min != 1 || len(base.RequiredKinds) != 1 {
		t.Error("Tighten modified its inputs")
	}
}
