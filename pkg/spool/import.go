package spool

import (
	"context"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/dossier-audit/dossier/pkg/record"
	"github.com/dossier-audit/dossier/pkg/run"
	"github.com/dossier-audit/dossier/pkg/verify"
)

// Sink is where Import appends: dossierd implements it with its sequencer
// (which also writes a receipt per record, submitter method "import"),
// `dossier import` with LocalSink (a local log and layout).
type Sink interface {
	// Has reports whether the log already holds the record with this
	// bundle digest.
	Has(ctx context.Context, digest string) (bool, error)
	// RegisterRun makes the run root known; registering it again is a
	// no-op.
	RegisterRun(ctx context.Context, root *run.Root) error
	// Append durably appends one verified record as the next record of its
	// run's stream (the run root digest).
	Append(ctx context.Context, root *run.Root, rec *verify.Record, bundle []byte) (Appended, error)
	// LogTransfer signs and appends the transfer record of the spool with
	// digest spool, at most once per spool: when one is already logged (an
	// earlier import, or one that crashed after logging it) it returns that
	// record's digest with existing true and appends nothing.
	LogTransfer(ctx context.Context, spool string, t *record.Transfer) (digest string, existing bool, err error)
}

// Appended is where the sink put a record.
type Appended struct {
	Record   string `json:"record"`
	Stream   string `json:"stream"`
	Seq      uint64 `json:"seq"`
	LogIndex uint64 `json:"logIndex"`
}

// ImportOptions say who carried the spool and who imports it.
type ImportOptions struct {
	// CarriedBy is who carried the medium across the gap.
	CarriedBy record.Party
	// Importer is the producer of the transfer record (the person or
	// workload running the import, e.g. the daemon or the operator).
	Importer record.Producer
	// Now is the import time; default time.Now.
	Now func() time.Time
}

// Plan is what an import of a verified spool will do.
type Plan struct {
	// New are the records not yet in the log, in spool order; Present
	// the number already there.
	New     []int `json:"new"`
	Present int   `json:"present"`
}

// MakePlan asks the sink which records of v it already holds.
func MakePlan(ctx context.Context, v *Verified, s Sink) (*Plan, error) {
	p := &Plan{New: []int{}}
	for i, r := range v.Records {
		has, err := s.Has(ctx, r.Digest)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrImport, err)
		}
		if has {
			p.Present++
			continue
		}
		p.New = append(p.New, i)
	}
	return p, nil
}

// Report is what Import did.
type Report struct {
	Spool            string     `json:"spool"`
	SpoolID          string     `json:"spoolId"`
	Records          int        `json:"records"`
	Imported         int        `json:"imported"`
	AlreadyPresent   int        `json:"alreadyPresent"`
	Appended         []Appended `json:"appended"`
	Transfer         string     `json:"transfer"`
	TransferExisting bool       `json:"transferExisting"`
}

// Import appends the records of v that the sink lacks, in spool order,
// then logs the transfer record. v must come from Verify: nothing is
// checked here. A crash part-way is repaired by importing the same tar
// again.
func Import(ctx context.Context, v *Verified, s Sink, opts ImportOptions) (*Report, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	for _, r := range v.Document.Runs {
		if err := s.RegisterRun(ctx, v.Roots[r.RunID]); err != nil {
			return nil, fmt.Errorf("%w: registering run %s: %v", ErrImport, r.RunID, err)
		}
	}
	plan, err := MakePlan(ctx, v, s)
	if err != nil {
		return nil, err
	}
	rep := &Report{Spool: v.Digest, SpoolID: v.Document.SpoolID, Records: len(v.Records), AlreadyPresent: plan.Present, Appended: []Appended{}}
	for _, i := range plan.New {
		it := v.Items[i]
		a, err := s.Append(ctx, it.Root, v.Records[i], it.Bundle)
		if err != nil {
			return rep, fmt.Errorf("%w: record %d (%s): %v", ErrImport, it.Entry.Seq, it.Entry.Record, err)
		}
		rep.Appended = append(rep.Appended, a)
	}
	rep.Imported = len(rep.Appended)
	t := TransferPredicate(v, rep.Imported, opts)
	if rep.Transfer, rep.TransferExisting, err = s.LogTransfer(ctx, v.Digest, t); err != nil {
		return rep, fmt.Errorf("%w: transfer record: %v", ErrImport, err)
	}
	return rep, nil
}

// TransferPredicate builds the transfer predicate of an import of v that
// appended imported records.
func TransferPredicate(v *Verified, imported int, opts ImportOptions) *record.Transfer {
	runs := make([]string, 0, len(v.Document.Runs))
	for _, r := range v.Document.Runs {
		runs = append(runs, r.Root)
	}
	sort.Strings(runs)
	d := v.Document
	return &record.Transfer{
		Common: record.Common{ProducedAt: opts.Now().UTC().Format(time.RFC3339Nano), Producer: opts.Importer},
		Spool:  v.Digest, SpoolID: d.SpoolID, Origin: d.Origin, PackedAt: d.PackedAt, PackedBy: d.PackedBy,
		CarriedBy: opts.CarriedBy, Runs: runs, RecordListDigest: d.RecordListDigest, RecordCount: d.RecordCount,
		Imported: imported,
	}
}

// ImportTar reads, verifies and imports a spool tar in one call, for
// dossierd's POST /v1/import: the body is the tar (bound it with
// http.MaxBytesReader and Limits.MaxBytes = Config.Limits.MaxImportBytes),
// keys are the daemon's trusted producer keys (KeyringKeys of its
// keyring), sink its sequencer. Errors wrap ErrTar or ErrLimit (answer 400
// or 413: the tar is damaged or too large), ErrUntrusted (422: a signature
// or key is not trusted) or ErrImport (503: retry the same tar later).
// Nothing is appended unless the whole tar verified.
func ImportTar(ctx context.Context, r io.Reader, lim Limits, k Keys, s Sink, opts ImportOptions) (*Report, error) {
	t, err := Read(r, lim)
	if err != nil {
		return nil, err
	}
	v, err := Verify(t, k)
	if err != nil {
		return nil, err
	}
	return Import(ctx, v, s, opts)
}
