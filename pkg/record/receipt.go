package record

// Receipt is the predicate of kind "receipt": written by the ingest daemon
// (dossierd) for every record it accepts, signed by its ingest key and
// appended to the log-scoped stream "receipts" together with the record
// (one tlog.Log.AppendMany call). It binds the record by its bundle digest
// (and its stream) to the receipt time, the latest time evidence, the
// daemon's time verdict and flags and the authenticated submitter; it
// names nothing that depends on the record's log position (the record's
// leaf carries seq and prev, authenticated by the checkpoint; its
// inclusion proof carries the index). Its producedAt is the receipt time;
// the statement's subject[0] is
// {"name":"dossier-record","digest":{"sha256": <record hex>}}.
type Receipt struct {
	Common
	Record      string    `json:"record"`
	Stream      string    `json:"stream"`
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
 "receivedAt": "2026-11-27T09:14:03.101002Z",
 "timeVerdict": "untraceable",
 "flags": ["time-untraceable"],
 "submitter": {"subject": "system:serviceaccount:training:llama-ft", "name": "llama-ft", "team": "ml-platform", "method": "jwt"}
}`
