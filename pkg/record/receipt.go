package record

// Receipt is the predicate of kind "receipt": written by the ingest daemon
// (dossierd) for every record it accepts, signed by its ingest key and
// appended to the log-scoped stream "receipts" right after the record.
// It binds the record's bundle digest to the stream position the daemon
// assigned (stream, seq, prev, log index), the receipt time, the daemon's
// time verdict and the authenticated submitter. Its producedAt is the
// receipt time; the statement's subject[0] is
// {"name":"dossier-record","digest":{"sha256": <record hex>}}.
type Receipt struct {
	Common
	Record      string    `json:"record"`
	Stream      string    `json:"stream"`
	Seq         int64     `json:"seq"`
	Prev        string    `json:"prev,omitempty"`
	LogIndex    int64     `json:"logIndex"`
	ReceivedAt  string    `json:"receivedAt"`
	TimeVerdict string    `json:"timeVerdict"`
	Flags       []string  `json:"flags"`
	Submitter   Submitter `json:"submitter"`
}

// Submitter is the authenticated identity that submitted a record, as the
// daemon's authenticator established it (not a key: a person or workload).
type Submitter struct {
	Subject string `json:"subject"`
	Name    string `json:"name"`
	Team    string `json:"team,omitempty"`
	Method  string `json:"method"`
}

// ReceiptStream is the log stream receipts are appended to.
const ReceiptStream = "receipts"

// receiptSubjectName is subject[0].name of a receipt statement.
const receiptSubjectName = "dossier-record"

// CommonFields returns the common fields.
func (p *Receipt) CommonFields() Common { return p.Common }

// Validate checks the predicate; see spec/predicates/receipt.md.
func (p *Receipt) Validate() error {
	c := &checker{}
	c.common(&p.Common, false)
	c.digest("record", p.Record, true)
	c.str("stream", p.Stream, true, MaxShort)
	c.intRange("seq", p.Seq, 0, 1<<62)
	c.digest("prev", p.Prev, false)
	if p.Seq == 0 && p.Prev != "" {
		c.add("prev", ErrUnknownField, "not allowed at seq 0")
	}
	if p.Seq > 0 && p.Prev == "" {
		c.add("prev", ErrMissing, "required at seq %d", p.Seq)
	}
	c.intRange("logIndex", p.LogIndex, 0, 1<<62)
	c.timestamp("receivedAt", p.ReceivedAt, true)
	c.enum("timeVerdict", p.TimeVerdict, true, "good", "degraded", "untraceable", "bad", "unknown")
	c.strings("flags", p.Flags, false, 64)
	c.str("submitter.subject", p.Submitter.Subject, true, MaxShort)
	c.str("submitter.name", p.Submitter.Name, true, MaxShort)
	c.str("submitter.team", p.Submitter.Team, false, MaxShort)
	c.enum("submitter.method", p.Submitter.Method, true, "token", "mtls", "jwt", "import", "local")
	return c.err()
}

// receiptSubject: {"name":"dossier-record","digest":{"sha256": record}}.
func receiptSubject(_ []byte, p Predicate) (ResourceDescriptor, error) {
	return digestSubject(receiptSubjectName, p.(*Receipt).Record), nil
}

const receiptTemplate = `{
 "producedAt": "2026-11-27T09:14:03.120443Z",
 "producer": {"id": "workload:dossierd/dmz-ingest-1", "name": "dossierd", "kind": "workload"},
 "timeEvidence": {"digest": "sha256:9f2c4e1d8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e"},
 "record": "sha256:3a7bd3e2360a3d29eea436fcfb7e44c735d117c42d1c1835420b6b9942dd4f1b",
 "stream": "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef",
 "seq": 3,
 "prev": "sha256:c7be1ed902fb8dd4d48997c6452f5d7e509fbcdbe2808b16bcf4edce4c07d14e",
 "logIndex": 1842,
 "receivedAt": "2026-11-27T09:14:03.101002Z",
 "timeVerdict": "untraceable",
 "flags": ["time-untraceable"],
 "submitter": {"subject": "system:serviceaccount:training:llama-ft", "name": "llama-ft", "team": "ml-platform", "method": "jwt"}
}`
