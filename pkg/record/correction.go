package record

import "encoding/json"

// Correction is the predicate of kind "correction": it supersedes an
// earlier record of the same run without deleting it, says why, and gives
// the replacement record, the corrected field values, or neither (a
// retraction) (21 CFR 11.10(e), SEC 17a-4(f)(2)(i)(A)).
type Correction struct {
	Common
	Supersedes  string           `json:"supersedes"`
	Reason      string           `json:"reason"`
	Replacement string           `json:"replacement,omitempty"`
	Fields      []CorrectedField `json:"fields,omitempty"`
}

// CorrectedField gives the corrected value of one field of the superseded
// record's predicate, by JSON path.
type CorrectedField struct {
	Path  string          `json:"path"`
	Value json.RawMessage `json:"value"`
}

// CommonFields returns the common fields.
func (p *Correction) CommonFields() Common { return p.Common }

// Validate checks the predicate; see spec/predicates/correction.md.
func (p *Correction) Validate() error {
	c := &checker{}
	c.common(&p.Common, true)
	c.digest("supersedes", p.Supersedes, true)
	c.str("reason", p.Reason, true, MaxText)
	c.digest("replacement", p.Replacement, false)
	if p.Replacement != "" && p.Replacement == p.Supersedes {
		c.add("replacement", ErrInconsistent, "a record cannot replace itself")
	}
	c.count("fields", len(p.Fields), false, MaxList)
	seen := map[string]bool{}
	for i, f := range p.Fields {
		path := index("fields", i)
		c.str(path+".path", f.Path, true, MaxShort)
		if seen[f.Path] {
			c.add(path+".path", ErrDuplicate, "%q corrected twice", f.Path)
		}
		seen[f.Path] = true
		if len(f.Value) == 0 {
			c.add(path+".value", ErrMissing, "")
		}
	}
	return c.err()
}

const correctionTemplate = `{
 "runId": "llama3-ft-2026-11-27-001", "attempt": 1, "producedAt": "2026-11-29T08:00:00Z",
 "producer": {"id": "person:e12345", "name": "Jane Q. Doe", "kind": "person"},
 "supersedes": "sha256:a1fce4363854ff888cff4b8e7875d600c2682390412a8cf79b37d0b11148b0fa",
 "reason": "Dataset licence was recorded as CC-BY-4.0; the supplier contract says internal use only.",
 "replacement": "sha256:7b9e1d3a5c7f9e1b3d5a7c9e1f3b5d7a9c1e3f5b7d9a1c3e5f7b9d1a3c5e7f9b",
 "fields": [{"path": "licence.spdx", "value": "LicenseRef-internal-use"}]
}`
