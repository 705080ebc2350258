package record

// ModelRelease is the predicate of kind "model-release": a model version
// placed into use, the weights it consists of, the runs it comes from, its
// risk tier and intended use (EU AI Act Annex IV 1(a) and 6, SR 11-7 model
// inventory). It is run-scoped: runId names the run that produced the
// released weights (its root is also listed in runs, with any other runs
// the release draws on). Its statement's subject[0] is that run's root and
// subject[1..] name the weight files (see releaseSubjects).
type ModelRelease struct {
	Common
	ModelID         string               `json:"modelId"`
	Version         string               `json:"version"`
	RiskTier        string               `json:"riskTier"`
	PreviousVersion *PreviousRelease     `json:"previousVersion,omitempty"`
	Runs            []string             `json:"runs"`
	Weights         []ResourceDescriptor `json:"weights"`
	IntendedUse     string               `json:"intendedUse"`
	Licence         *Licence             `json:"licence,omitempty"`
	Limitations     []string             `json:"limitations,omitempty"`
}

// PreviousRelease links a release to the one it replaces.
type PreviousRelease struct {
	Version string `json:"version"`
	Release string `json:"release"`
}

// CommonFields returns the common fields.
func (p *ModelRelease) CommonFields() Common { return p.Common }

// Validate checks the predicate; see spec/predicates/model-release.md.
func (p *ModelRelease) Validate() error {
	c := &checker{}
	c.common(&p.Common, true)
	c.str("modelId", p.ModelID, true, MaxShort)
	c.str("version", p.Version, true, MaxShort)
	c.str("riskTier", p.RiskTier, true, 64)
	if pv := p.PreviousVersion; pv != nil {
		c.str("previousVersion.version", pv.Version, true, MaxShort)
		c.digest("previousVersion.release", pv.Release, true)
		if pv.Version == p.Version {
			c.add("previousVersion.version", ErrInconsistent, "same as version %q", p.Version)
		}
	}
	c.digests("runs", p.Runs, true, MaxList)
	c.rds("weights", p.Weights, true, MaxSubjects-1)
	c.str("intendedUse", p.IntendedUse, true, MaxText)
	if p.Licence != nil {
		c.licence("licence", *p.Licence, true)
	}
	c.strings("limitations", p.Limitations, false, MaxText)
	return c.err()
}

// releaseSubjects returns subject[1..] of a model-release statement: one
// per weights entry, in order, {"name":"model:<modelId>@<version>/<name>",
// "digest":{"sha256":<the entry's sha256>}}.
func releaseSubjects(p Predicate) []ResourceDescriptor {
	mr := p.(*ModelRelease)
	out := make([]ResourceDescriptor, len(mr.Weights))
	for i, w := range mr.Weights {
		out[i] = ResourceDescriptor{Name: "model:" + mr.ModelID + "@" + mr.Version + "/" + w.Name,
			Digest: map[string]string{"sha256": w.SHA256()}}
	}
	return out
}

// releaseRunListed checks that the run root of subject[0] is one of the
// release's runs.
func releaseRunListed(c *checker, root ResourceDescriptor, p Predicate) {
	want := "sha256:" + root.SHA256()
	for _, r := range p.(*ModelRelease).Runs {
		if r == want {
			return
		}
	}
	c.add("subject[0].digest.sha256", ErrSubjectMismatch, "%s is not listed in predicate.runs", want)
}

const modelReleaseTemplate = `{
 "runId": "llama3-ft-2026-11-27-001", "attempt": 1, "producedAt": "2026-11-28T11:30:00Z",
 "producer": {"id": "person:e20417", "name": "Max Mustermann", "kind": "person"},
 "timeEvidence": {"digest": "sha256:4d7a9e1c3b5f2a6d8e0c1b3a5f7e9d2c4b6a8f0e1d3c5b7a9f2e4d6c8b0a1f3e"},
 "modelId": "support-assistant-de", "version": "1.3.0", "riskTier": "tier-2",
 "previousVersion": {"version": "1.2.0", "release": "sha256:fd61a03af4f77d870fc21e05e7e80678095c92d808cfb3b5c279ee04c74aca13"},
 "runs": ["sha256:9b74c9897bac770ffc029102a200c5de6e2d1b2a8f9c2a1a3e4f5d6c7b8a9f0e"],
 "weights": [{"name": "adapter_model.safetensors", "mediaType": "application/octet-stream", "digest": {"sha256": "18ac3e7343f016890c510e93f935261169d9e3f565436429830faf0934f4f8e4"}, "annotations": {"size": 167832240}}],
 "intendedUse": "Drafting replies to German-language customer support tickets for review by a human agent. Not for automated sending.",
 "licence": {"spdx": "LicenseRef-internal-use"},
 "limitations": ["Not evaluated on languages other than German.", "May reproduce product names from 2024-2026 only."]
}`
