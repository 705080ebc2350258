package ingest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/dossier-audit/dossier/internal/atomicfile"
	"github.com/dossier-audit/dossier/pkg/ingest/auth"
	"github.com/dossier-audit/dossier/pkg/record"
	"github.com/dossier-audit/dossier/pkg/run"
	"github.com/dossier-audit/dossier/pkg/spool"
	"github.com/dossier-audit/dossier/pkg/verify"
)

// importSink is the daemon as a spool.Sink: records are sequenced and get
// receipts exactly as submissions do (submitter method "import", flag
// "imported"); the transfer record is signed once per spool.
type importSink struct {
	s       *Service
	id      *auth.Identity
	verdict string
	flags   []string
	now     time.Time
}

func (k *importSink) Has(_ context.Context, digest string) (bool, error) {
	_, ok := k.s.log.Lookup(digest)
	return ok, nil
}

func (k *importSink) RegisterRun(_ context.Context, root *run.Root) error {
	_, _, err := k.s.runs.register(root, false)
	return err
}

func (k *importSink) Append(ctx context.Context, root *run.Root, _ *verify.Record, b []byte) (spool.Appended, error) {
	id := *k.id
	id.Method = "import"
	req := &submitRequest{runID: root.Registration.RunID, id: &id, receivedAt: k.now,
		flags: append([]string{"imported"}, k.flags...)}
	ans, _, p := k.s.commit(ctx, root, b, k.verdict, req)
	if p != nil {
		return spool.Appended{}, p
	}
	return spool.Appended{Record: ans.Record, Stream: ans.Stream, Seq: ans.Seq, LogIndex: ans.LogIndex}, nil
}

// LogTransfer signs the transfer record once per spool (kept in
// DataDir/transfers), so a repeated import appends nothing.
func (k *importSink) LogTransfer(ctx context.Context, digest string, t *record.Transfer) (string, bool, error) {
	dir := filepath.Join(k.s.cfg.DataDir, "transfers")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", false, err
	}
	marker := filepath.Join(dir, strings.TrimPrefix(digest, "sha256:")+".json")
	b, err := os.ReadFile(marker)
	if errors.Is(err, os.ErrNotExist) {
		if b, err = spool.SignTransfer(ctx, k.s.signer, t); err != nil {
			return "", false, err
		}
		err = atomicfile.WriteNew(marker, b, 0o640)
	}
	if err != nil {
		return "", false, err
	}
	rc, err := k.s.log.Append(ctx, b, record.TransferStream)
	if err != nil {
		return "", false, err
	}
	return rc.Bundle, rc.Existing, nil
}

// handleImport imports a spool tar (the body, application/x-tar): every
// digest and signature is verified against the keyring first (any failure
// rejects the whole tar, nothing appended), then new records are appended
// in spool order with receipts and a transfer record names who carried
// it (query carriedBy and carriedByName). Importing a tar again changes
// nothing.
func (s *Service) handleImport(w http.ResponseWriter, r *http.Request, id *auth.Identity) *Problem {
	if ct := r.Header.Get("Content-Type"); ct != "application/x-tar" {
		return problem(http.StatusUnsupportedMediaType, CodeUnsupportedMedia, "send the spool tar as Content-Type: application/x-tar")
	}
	carried := record.Party{ID: r.URL.Query().Get("carriedBy"), Name: r.URL.Query().Get("carriedByName")}
	if carried.ID == "" || carried.Name == "" {
		return problem(http.StatusBadRequest, CodeMalformed, "name who carried the spool: ?carriedBy=ID&carriedByName=NAME")
	}
	verdict, flags, p := s.gate.admit()
	if p != nil {
		return p
	}
	t, err := spool.Read(http.MaxBytesReader(w, r.Body, s.cfg.Limits.MaxImportBytes), spool.Limits{MaxBytes: s.cfg.Limits.MaxImportBytes})
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe), errors.Is(err, spool.ErrLimit):
		return problem(http.StatusRequestEntityTooLarge, CodeTooLarge, "spool exceeds a limit: "+err.Error())
	case err != nil:
		return problem(http.StatusUnprocessableEntity, CodeInvalidSpool, err.Error())
	}
	v, err := spool.Verify(t, spool.KeySet(s.trusted))
	if err != nil {
		return problem(http.StatusUnprocessableEntity, CodeInvalidSpool, err.Error())
	}
	if p := s.beginImport(); p != nil {
		return p
	}
	defer func() { <-s.sem }()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 30*time.Minute)
	defer cancel()
	sink := &importSink{s: s, id: id, verdict: verdict, flags: flags, now: s.now()}
	rep, err := spool.Import(ctx, v, sink, spool.ImportOptions{CarriedBy: carried, Importer: s.producer, Now: s.now})
	if err != nil {
		var pr *Problem
		if errors.As(err, &pr) {
			return pr
		}
		return problem(http.StatusServiceUnavailable, CodeStorage, err.Error()).retry(5)
	}
	s.logger.Info("spool imported", "spool", rep.Spool, "imported", rep.Imported, "present", rep.AlreadyPresent,
		"transfer", rep.Transfer, "subject", id.Subject, "carriedBy", carried.ID)
	status := http.StatusCreated
	if rep.Imported == 0 {
		status = http.StatusOK
	}
	writeJSON(w, status, rep)
	return nil
}

// beginImport takes an outstanding-request slot for an import.
func (s *Service) beginImport() *Problem {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.draining {
		return problem(http.StatusServiceUnavailable, CodeShuttingDown, "the daemon is shutting down; retry later").retry(5)
	}
	select {
	case s.sem <- struct{}{}:
		return nil
	default:
		return problem(http.StatusServiceUnavailable, CodeOverloaded, fmt.Sprintf("%d requests outstanding", cap(s.sem))).retry(1)
	}
}
