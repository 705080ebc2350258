package record

// Transfer is the predicate of kind "transfer": written when a spool tar
// carried across an air gap is imported (dossier import, dossierd
// /v1/import). It records who carried what, when: the digest of the spool
// tar as received, the spool's own statement of where and when it was
// packed and by whom, who carried it, and exactly which records it held.
// Its producer is the importer and its producedAt the import time; it is
// log-scoped (stream "transfers"), appended after the spool's records.
// subject[0] is {"name":"dossier-spool","digest":{"sha256": <spool hex>}}.
type Transfer struct {
	Common
	Spool            string   `json:"spool"`
	SpoolID          string   `json:"spoolId"`
	Origin           string   `json:"origin"`
	PackedAt         string   `json:"packedAt"`
	PackedBy         Party    `json:"packedBy"`
	CarriedBy        Party    `json:"carriedBy"`
	Runs             []string `json:"runs"`
	RecordListDigest string   `json:"recordListDigest"`
	RecordCount      int      `json:"recordCount"`
	Imported         int      `json:"imported"`
}

// TransferStream is the log stream transfer records are appended to.
const TransferStream = "transfers"

// transferSubjectName is subject[0].name of a transfer statement.
const transferSubjectName = "dossier-spool"

// CommonFields returns the common fields.
func (p *Transfer) CommonFields() Common { return p.Common }

// Validate checks the predicate; see spec/predicates/transfer.md.
func (p *Transfer) Validate() error {
	c := &checker{}
	c.common(&p.Common, false)
	c.digest("spool", p.Spool, true)
	c.str("spoolId", p.SpoolID, true, MaxShort)
	c.str("origin", p.Origin, true, MaxShort)
	c.timestamp("packedAt", p.PackedAt, true)
	c.str("packedBy.id", p.PackedBy.ID, true, MaxShort)
	c.str("packedBy.name", p.PackedBy.Name, true, MaxShort)
	c.str("carriedBy.id", p.CarriedBy.ID, true, MaxShort)
	c.str("carriedBy.name", p.CarriedBy.Name, true, MaxShort)
	c.digests("runs", p.Runs, true, MaxList)
	c.digest("recordListDigest", p.RecordListDigest, true)
	c.intRange("recordCount", int64(p.RecordCount), 1, 1<<40)
	c.intRange("imported", int64(p.Imported), 0, int64(p.RecordCount))
	return c.err()
}

// transferSubject: {"name":"dossier-spool","digest":{"sha256": spool}}.
func transferSubject(_ []byte, p Predicate) (ResourceDescriptor, error) {
	return digestSubject(transferSubjectName, p.(*Transfer).Spool), nil
}

const transferTemplate = `{
 "producedAt": "2026-12-03T08:40:12Z",
 "producer": {"id": "person:e30211", "name": "Erika Musterfrau", "kind": "person"},
 "spool": "sha256:e3a1b0c4d5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90",
 "spoolId": "spool-gpu-node-17-20261202T1800Z",
 "origin": "gpu-node-17.train.corp (air-gapped training segment)",
 "packedAt": "2026-12-02T18:00:04Z",
 "packedBy": {"id": "workload:slurm/llama-ft", "name": "llama-ft training job"},
 "carriedBy": {"id": "person:m41877", "name": "Max Mustermann"},
 "runs": ["sha256:9b74c9897bac770ffc029102a200c5de6e2d1b2a8f9c2a1a3e4f5d6c7b8a9f0e"],
 "recordListDigest": "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef",
 "recordCount": 6,
 "imported": 6
}`
