package record

// Export is the predicate of kind "export": who exported which records of
// which runs, why, and to whom (NIST 800-53 AU-10 chain of custody, HIPAA
// 164.312(b), SEC 17a-4(f)(2), 21 CFR 11.10(b)). It is appended to the log
// before the package is sealed.
type Export struct {
	Common
	RequestedBy      Party     `json:"requestedBy"`
	Purpose          string    `json:"purpose"`
	Recipient        Recipient `json:"recipient"`
	Runs             []string  `json:"runs"`
	RecordListDigest string    `json:"recordListDigest"`
	RecordCount      int       `json:"recordCount"`
}

// Party is a person or organisation named in a record.
type Party struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Recipient receives an export.
type Recipient struct {
	Organisation string `json:"organisation"`
	Contact      string `json:"contact,omitempty"`
}

// CommonFields returns the common fields.
func (p *Export) CommonFields() Common { return p.Common }

// Validate checks the predicate; see spec/predicates/export.md.
func (p *Export) Validate() error {
	c := &checker{}
	c.common(&p.Common, false)
	c.str("requestedBy.id", p.RequestedBy.ID, true, MaxShort)
	c.str("requestedBy.name", p.RequestedBy.Name, true, MaxShort)
	c.str("purpose", p.Purpose, true, MaxText)
	c.str("recipient.organisation", p.Recipient.Organisation, true, MaxShort)
	c.str("recipient.contact", p.Recipient.Contact, false, MaxShort)
	c.digests("runs", p.Runs, true, MaxList)
	c.digest("recordListDigest", p.RecordListDigest, true)
	c.intRange("recordCount", int64(p.RecordCount), 1, 1<<40)
	return c.err()
}

// exportSubject: {"name":"export","digest":{"sha256": recordListDigest}}.
func exportSubject(_ []byte, p Predicate) (ResourceDescriptor, error) {
	return digestSubject("export", p.(*Export).RecordListDigest), nil
}

const exportTemplate = `{
 "producedAt": "2026-12-02T14:00:00Z",
 "producer": {"id": "workload:dossierd", "name": "dossierd ingest", "kind": "workload"},
 "timeEvidence": {"digest": "sha256:4d7a9e1c3b5f2a6d8e0c1b3a5f7e9d2c4b6a8f0e1d3c5b7a9f2e4d6c8b0a1f3e"},
 "requestedBy": {"id": "person:e30211", "name": "Erika Musterfrau"},
 "purpose": "Technical documentation requested by the notified body, reference NB-2026-0415",
 "recipient": {"organisation": "Notified Body 0123", "contact": "assessor@nb0123.example"},
 "runs": ["sha256:9b74c9897bac770ffc029102a200c5de6e2d1b2a8f9c2a1a3e4f5d6c7b8a9f0e"],
 "recordListDigest": "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef",
 "recordCount": 14
}`
