// Package spool carries records across a physical air gap.
//
// On the training side (no network), a spool directory collects signed
// records in the order they were made: it is an OCI image layout (the run
// roots and one record manifest per record, as pkg/oci writes them) plus
// spool.json, the ordered list of what it holds (Dir, Create, Open, Add).
// Pack seals it into a hash-verified tar: a canonical OCI layout tar whose
// index.json lists a signed spool document (the ordered manifest of what the
// tar holds, DSSE-signed by the packer), then the run roots, then every
// record manifest in order.
//
// On the compliance side, Read parses such a tar strictly (every blob
// hashed against its name, nothing unlisted, nothing missing, canonical
// manifests), Verify checks the spool document's signature and every
// record's signature against trusted keys, and Import appends the records
// to a Sink in their original order and logs one transfer record (who
// carried what, when). The whole tar is verified before anything is
// appended; records already in the log are skipped and the transfer record
// is logged at most once per spool digest, so importing the same tar twice
// changes nothing. dossierd's POST /v1/import and `dossier import` share
// this code; each supplies its own Sink (LocalSink is the one of the CLI).
package spool

import (
	"errors"

	"github.com/dossier-audit/dossier/pkg/record"
)

// Media and artifact types of the spool tar.
const (
	// DocumentMediaType is the payload type of the signed spool document.
	DocumentMediaType = "application/vnd.dossier.spool.v1+json"
	// EnvelopeMediaType is the media type of the layer holding the DSSE
	// envelope of the spool document.
	EnvelopeMediaType = "application/vnd.dossier.spool.v1+dsse+json"
	// ArtifactType is the artifactType of the spool manifest.
	ArtifactType = "application/vnd.dossier.spool.v1"
	// AnnotationSpoolID names the spool on the spool manifest.
	AnnotationSpoolID = "dev.dossier.spool.id"
	// stateFile is the ordered list of a spool directory.
	stateFile = "spool.json"
	// stateMediaType is the media type of spool.json.
	stateMediaType = "application/vnd.dossier.spool-state.v1+json"
)

// Errors. Every failure wraps one of them.
var (
	// ErrSpool: the spool directory is missing, corrupt or locked.
	ErrSpool = errors.New("invalid spool directory")
	// ErrRecord: a record cannot go into the spool (not a run record, not
	// about a run of the spool, already there).
	ErrRecord = errors.New("record refused by the spool")
	// ErrTar: the spool tar is not exactly what Pack writes: an unknown,
	// missing, duplicate or misordered entry, a blob whose content does not
	// hash to its name, a non-canonical manifest, a document that does not
	// describe the tar.
	ErrTar = errors.New("invalid spool tar")
	// ErrLimit: the spool tar exceeds a limit.
	ErrLimit = errors.New("spool tar exceeds a limit")
	// ErrUntrusted: a signature does not verify or its key is not trusted
	// for the role.
	ErrUntrusted = errors.New("spool signature not trusted")
	// ErrImport: the sink failed while importing.
	ErrImport = errors.New("import failed")
)

// Document is the signed spool document: the ordered manifest of what a
// spool tar holds.
type Document struct {
	MediaType        string       `json:"mediaType"`
	SpoolID          string       `json:"spoolId"`
	Origin           string       `json:"origin"`
	CreatedAt        string       `json:"createdAt"`
	PackedAt         string       `json:"packedAt"`
	PackedBy         record.Party `json:"packedBy"`
	Runs             []RunRef     `json:"runs"`
	Records          []Entry      `json:"records"`
	RecordCount      int          `json:"recordCount"`
	RecordListDigest string       `json:"recordListDigest"`
}

// RunRef is a run whose root the spool holds.
type RunRef struct {
	RunID string `json:"runId"`
	Root  string `json:"root"`
}

// Entry is one record of a spool, in spool order.
type Entry struct {
	// Seq is the 1-based position in the spool: the import order.
	Seq int `json:"seq"`
	// Record is the bundle digest, Manifest the record manifest digest.
	Record   string `json:"record"`
	Manifest string `json:"manifest"`
	RunID    string `json:"runId"`
	Kind     string `json:"kind"`
	AddedAt  string `json:"addedAt"`
}
