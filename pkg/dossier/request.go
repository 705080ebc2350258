package dossier

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/dossier-audit/dossier/pkg/record"
	"github.com/dossier-audit/dossier/pkg/run"
	"github.com/dossier-audit/dossier/pkg/tlog"
)

// Sentinel errors of Export.
var (
	// ErrRequest: the export request is incomplete or inconsistent.
	ErrRequest = errors.New("invalid export request")
	// ErrLog: the log could not be read, or proofs could not be built.
	ErrLog = errors.New("log")
	// ErrNotLogged: something the package must prove is not in the log.
	ErrNotLogged = errors.New("not in the log")
	// ErrKeyring: the keyring chain is broken or lacks a needed key.
	ErrKeyring = errors.New("keyring")
	// ErrRecord: a logged record could not be read or packed.
	ErrRecord = errors.New("record")
	// ErrPolicy: a release export whose records do not satisfy the
	// proposed policy (*PolicyError names the failed rules).
	ErrPolicy = errors.New("release policy not satisfied")
)

// Log is what Export needs of the log: appending (the export and
// export-sealed records), reading stored bundles, and the directory whose
// tiles it reads. *tlog.Log satisfies it.
type Log interface {
	Append(ctx context.Context, bundle []byte, stream string) (tlog.Receipt, error)
	Bundle(ctx context.Context, digest string) ([]byte, error)
	Dir() string
}

// ExportRequest is what to export, for whom and why. Together with the log
// state it determines the package bytes.
type ExportRequest struct {
	// Runs are the run roots to export (at least one).
	Runs []*run.Root
	// Keyring holds keyring version envelopes the caller expects in the
	// package; each must be in the log (stream keyring). The package
	// always carries the log's whole keyring stream.
	Keyring [][]byte
	// Producer is who performs the export (producer of the export,
	// package and export-sealed records).
	Producer    record.Producer
	RequestedBy record.Party
	Recipient   record.Recipient
	Purpose     string
	// At is the export time: producedAt of the records the export signs
	// and the package's created time. Required; never the wall clock.
	At time.Time
	// PackageID names the package; default "dossier-<first 16 hex of the
	// record list digest>-<At as 20060102T150405Z>".
	PackageID string
	// Policy is the proposed verification policy (JSON, v1 or v2 of
	// spec/policy.md); default DefaultPolicy. A v2 proposal whose run or
	// release rules the exported records do not meet makes a "for review"
	// package (Result.ForReview), never a refusal.
	Policy []byte
	// Release evaluates the proposal's rules as for a release
	// (policy.Input.Release: the release rules apply even to a run without
	// a model-release record), on the exact records selected; failures
	// make a "for review" package. With RequirePolicy any failure instead
	// refuses the export with a *PolicyError before anything is logged (a
	// release export).
	Release       bool
	RequirePolicy bool
	// Reviews are review documents (pkg/review) available to the writer;
	// those an exported approval names by renderedViewDigest are packed,
	// the others ignored.
	Reviews [][]byte
	// Output is the package file to create (atomically; never
	// overwritten). When empty, Export writes to Deps.Writer.
	Output string
}

// Deps are the collaborators of Export.
type Deps struct {
	Log Log
	// Exporter signs the export, package and export-sealed records. Its
	// key must hold the exporter role in the newest keyring version.
	Exporter signature.Signer
	// Writer receives the package when ExportRequest.Output is empty.
	Writer io.Writer
	// Progress, when set, is told about each stage ("read", "prove", ...)
	// with done/total counts.
	Progress func(stage string, done, total int)
	// PollInterval is how often Export checks for a checkpoint covering
	// the export record (default 50ms).
	PollInterval time.Duration
	// Anchors, when set, supplies the anchors.json layer (spec/anchors.md
	// §4) for the package checkpoint; nothing anchored, no layer.
	Anchors AnchorSource
}

// Result describes a written package.
type Result struct {
	Path          string   `json:"path,omitempty"`
	PackageID     string   `json:"packageId"`
	Package       string   `json:"package"` // sha256:<hex> of the tar
	Size          int64    `json:"size"`
	PackageIndex  string   `json:"packageIndex"`
	ExportRecord  string   `json:"exportRecord"`
	SealedRecord  string   `json:"sealedRecord"`
	RecordList    string   `json:"recordListDigest"`
	RecordCount   int      `json:"recordCount"`
	Runs          []string `json:"runs"`
	TreeSize      uint64   `json:"treeSize"`
	LedgerHeads   int      `json:"ledgerHeads"`
	KeyringLength int      `json:"keyringVersions"`
	// Anchors is the number of anchors.json entries (0: no layer).
	Anchors int `json:"anchors"`
	// Reviews are the digests of the review documents packed.
	Reviews []string `json:"reviews,omitempty"`
	// ForReview lists "<runId>: <rule>" for every rule of the proposed
	// policy the package does not meet; the package says so.
	ForReview []string `json:"forReview,omitempty"`
}

// DefaultPolicy is the policy proposed when the request names none
// (spec/package.md §5).
var DefaultPolicy = []byte(`{"mediaType":"application/vnd.dossier.policy.v1+json","time":{"accept":["good"],"acceptUntraceable":false,"maxProducerSkewSeconds":300},"requiredKinds":["dataset","training-run","evaluation","run-closed"]}`)

func (d *Deps) progress(stage string, done, total int) {
	if d.Progress != nil {
		d.Progress(stage, done, total)
	}
}

// PolicyError refuses a release export: Failed lists "<runId>: <rule>" for
// every rule of the policy the exported records do not meet. It wraps
// ErrPolicy.
type PolicyError struct {
	Failed []string
}

func (e *PolicyError) Error() string {
	return fmt.Sprintf("%v: %s", ErrPolicy, strings.Join(e.Failed, ", "))
}

func (e *PolicyError) Unwrap() error { return ErrPolicy }
