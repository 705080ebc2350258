package record

import "encoding/base64"

// ExportSealed is the predicate of kind "export-sealed": appended to the
// log after a package was sealed, it binds the export record to the final
// package digest and the checkpoint the package's proofs are against.
// Later packages list these records as the heads of their export ledger
// (spec/package.md §2).
type ExportSealed struct {
	Common
	Export     string         `json:"export"`
	Package    string         `json:"package"`
	Checkpoint CheckpointHead `json:"checkpoint"`
}

// CheckpointHead names a log checkpoint by tree size and root hash
// (standard base64 of the 32-byte RFC 6962 root, as in the checkpoint
// note).
type CheckpointHead struct {
	Size     int64  `json:"size"`
	RootHash string `json:"rootHash"`
}

// Package is the predicate of kind "package": the package attestation,
// signed by an exporter key, binding the package index (its subject) to
// the export record and the checkpoint (spec/package.md §3).
type Package struct {
	Common
	PackageID        string         `json:"packageId"`
	PackageIndex     string         `json:"packageIndex"`
	ExportRecord     string         `json:"exportRecord"`
	RecordListDigest string         `json:"recordListDigest"`
	RecordCount      int            `json:"recordCount"`
	Checkpoint       CheckpointHead `json:"checkpoint"`
}

// CommonFields returns the common fields.
func (p *ExportSealed) CommonFields() Common { return p.Common }

// CommonFields returns the common fields.
func (p *Package) CommonFields() Common { return p.Common }

// Validate checks the predicate; see spec/predicates/export-sealed.md.
func (p *ExportSealed) Validate() error {
	c := &checker{}
	c.common(&p.Common, false)
	c.digest("export", p.Export, true)
	c.digest("package", p.Package, true)
	c.checkpoint("checkpoint", p.Checkpoint)
	return c.err()
}

// Validate checks the predicate; see spec/predicates/package.md.
func (p *Package) Validate() error {
	c := &checker{}
	c.common(&p.Common, false)
	c.str("packageId", p.PackageID, true, MaxShort)
	c.digest("packageIndex", p.PackageIndex, true)
	c.digest("exportRecord", p.ExportRecord, true)
	c.digest("recordListDigest", p.RecordListDigest, true)
	c.intRange("recordCount", int64(p.RecordCount), 1, 1<<40)
	c.checkpoint("checkpoint", p.Checkpoint)
	return c.err()
}

func (c *checker) checkpoint(path string, h CheckpointHead) {
	c.intRange(path+".size", h.Size, 1, 1<<62)
	if !c.str(path+".rootHash", h.RootHash, true, 64) {
		return
	}
	if b, err := base64.StdEncoding.Strict().DecodeString(h.RootHash); err != nil || len(b) != 32 {
		c.add(path+".rootHash", ErrFormat, "%q, want standard base64 of 32 bytes", h.RootHash)
	}
}

// packageSubjectName is subject[0].name of export-sealed and package
// statements.
const packageSubjectName = "dossier-package"

// exportSealedSubject: {"name":"dossier-package","digest":{"sha256": package}}.
func exportSealedSubject(_ []byte, p Predicate) (ResourceDescriptor, error) {
	return digestSubject(packageSubjectName, p.(*ExportSealed).Package), nil
}

// packageSubject: {"name":"dossier-package","digest":{"sha256": packageIndex}}.
func packageSubject(_ []byte, p Predicate) (ResourceDescriptor, error) {
	return digestSubject(packageSubjectName, p.(*Package).PackageIndex), nil
}

const exportSealedTemplate = `{
 "producedAt": "2026-12-02T14:00:00Z",
 "producer": {"id": "person:e30211", "name": "Erika Musterfrau", "kind": "person"},
 "export": "sha256:3a7bd3e2360a3d29eea436fcfb7e44c735d117c42d1c1835420b6b9942dd4f1b",
 "package": "sha256:c7be1ed902fb8dd4d48997c6452f5d7e509fbcdbe2808b16bcf4edce4c07d14e",
 "checkpoint": {"size": 1843, "rootHash": "4eLqzY3B9P0yjZ7WcJ9Q8bY9c2Gk1YfY5Q9s0a1b2c0="}
}`

const packageTemplate = `{
 "producedAt": "2026-12-02T14:00:00Z",
 "producer": {"id": "person:e30211", "name": "Erika Musterfrau", "kind": "person"},
 "packageId": "nb0123-2026-0415-support-assistant-de",
 "packageIndex": "sha256:0b5d2c1e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c",
 "exportRecord": "sha256:3a7bd3e2360a3d29eea436fcfb7e44c735d117c42d1c1835420b6b9942dd4f1b",
 "recordListDigest": "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef",
 "recordCount": 14,
 "checkpoint": {"size": 1843, "rootHash": "4eLqzY3B9P0yjZ7WcJ9Q8bY9c2Gk1YfY5Q9s0a1b2c0="}
}`
