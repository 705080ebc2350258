package spool

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/dossier-audit/dossier/internal/atomicfile"
	"github.com/dossier-audit/dossier/pkg/bundle"
	"github.com/dossier-audit/dossier/pkg/oci"
	"github.com/dossier-audit/dossier/pkg/record"
	"github.com/dossier-audit/dossier/pkg/run"
	"github.com/dossier-audit/dossier/pkg/tlog"
	"github.com/dossier-audit/dossier/pkg/verify"
)

// LocalSink imports into a local log (records in their run's stream, the
// transfer record in stream "transfers") and, when Layout is set, a local
// OCI layout (run roots and record manifests with the log's sequence
// numbers), as `dossier import` does. It writes no receipts: those are the
// daemon's.
type LocalSink struct {
	Log    *tlog.Log
	Layout *oci.LayoutStore
	// Signer signs transfer records (the importer's key).
	Signer signature.Signer
	// StateDir keeps, per imported spool, the signed transfer record
	// before it is appended (<spool hex>.transfer.json), so the transfer is
	// logged exactly once even across a crash.
	StateDir string
}

// Has implements Sink: the record is in the log (and its bundle in the
// layout, when there is one).
func (s *LocalSink) Has(_ context.Context, d string) (bool, error) {
	if _, ok := s.Log.Lookup(d); !ok || s.Layout == nil {
		return ok, nil
	}
	return s.Layout.Layout.Exists(ocispec.Descriptor{Digest: digest.Digest(d)})
}

// RegisterRun implements Sink.
func (s *LocalSink) RegisterRun(ctx context.Context, root *run.Root) error {
	if s.Layout == nil {
		return nil
	}
	return oci.WriteRun(ctx, s.Layout, oci.NewRunContent(root))
}

// Append implements Sink.
func (s *LocalSink) Append(ctx context.Context, root *run.Root, rec *verify.Record, b []byte) (Appended, error) {
	r, err := s.Log.Append(ctx, b, root.Digest())
	if err != nil {
		return Appended{}, err
	}
	if r.Stream != root.Digest() {
		return Appended{}, fmt.Errorf("record %s is logged in stream %s, not its run %s", rec.Digest, r.Stream, root.Digest())
	}
	a := Appended{Record: r.Bundle, Stream: r.Stream, Seq: r.Seq, LogIndex: r.Index}
	if s.Layout == nil {
		return a, nil
	}
	packed, err := oci.PackRecord(root.Descriptor, b, r.Seq)
	if err != nil {
		return a, err
	}
	rc := oci.NewRunContent(root)
	rc.Records = []*oci.Record{packed}
	return a, oci.WriteRun(ctx, s.Layout, rc)
}

// LogTransfer implements Sink.
func (s *LocalSink) LogTransfer(ctx context.Context, spool string, t *record.Transfer) (string, bool, error) {
	if err := os.MkdirAll(s.StateDir, 0o700); err != nil {
		return "", false, err
	}
	marker := filepath.Join(s.StateDir, strings.TrimPrefix(spool, "sha256:")+".transfer.json")
	b, err := os.ReadFile(marker)
	if errors.Is(err, os.ErrNotExist) {
		if b, err = SignTransfer(ctx, s.Signer, t); err != nil {
			return "", false, err
		}
		err = atomicfile.WriteNew(marker, b, 0o600)
	}
	if err != nil {
		return "", false, err
	}
	r, err := s.Log.Append(ctx, b, record.TransferStream)
	if err != nil {
		return "", false, err
	}
	return r.Bundle, r.Existing, nil
}

// SignTransfer signs a transfer predicate as a record bundle
// (subject[0] {"name":"dossier-spool","digest":{"sha256":<spool hex>}}).
func SignTransfer(ctx context.Context, signer signature.Signer, t *record.Transfer) ([]byte, error) {
	if signer == nil {
		return nil, fmt.Errorf("%w: no key to sign the transfer record", ErrImport)
	}
	pred, err := json.Marshal(t)
	if err != nil {
		return nil, err
	}
	kind, _ := record.LookupKind("transfer")
	if _, err := record.ValidatePredicate(kind.PredicateType, pred); err != nil {
		return nil, fmt.Errorf("%w: transfer predicate: %v", ErrImport, err)
	}
	subjects, err := record.Subjects(kind.PredicateType, pred, nil)
	if err != nil {
		return nil, err
	}
	stmt, err := record.NewStatement(subjects, kind.PredicateType, pred)
	if err != nil {
		return nil, err
	}
	return bundle.Sign(ctx, signer, bundle.PayloadTypeInToto, stmt)
}
