package ingest

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"

	"github.com/dossier-audit/dossier/pkg/console"
	"github.com/dossier-audit/dossier/pkg/ingest/auth"
	"github.com/dossier-audit/dossier/pkg/run"
)

// flagApprovalImported marks the receipt of an approval uploaded through
// POST /v1/runs/{runId}/approvals (signed elsewhere, e.g. offline over a
// "for review" package).
const flagApprovalImported = "approval-imported"

// reviewBackend returns the review console's backend over the daemon's
// log, built once: the console and the approval import share it, and so
// share one approval check (console.LogBackend.CheckApproval).
func (s *Service) reviewBackend() (*console.LogBackend, error) {
	s.reviewOnce.Do(func() {
		s.review, s.reviewErr = console.NewLogBackend(console.LogConfig{Log: s.log, RunsDir: filepath.Join(s.cfg.DataDir, "runs"),
			Keyrings: s.keyringEnvs, Pin: s.cfg.KeyringRoot, Exporter: s.exports.signer, Policy: s.exports.parsed,
			ExportsDir: filepath.Join(s.cfg.DataDir, consoleExportsDir), Now: s.now})
	})
	return s.review, s.reviewErr
}

// handleApproval imports an approval bundle signed elsewhere (dossier
// approve, possibly offline over a package's review document): checked as
// the console checks an upload, then logged in the run's stream with a
// receipt naming the uploader, through the submission path (idempotency,
// time gate, durability). The body is the bundle JSON.
func (s *Service) handleApproval(w http.ResponseWriter, r *http.Request, id *auth.Identity) *Problem {
	received := s.now()
	if len(s.keyringEnvs) == 0 {
		return problem(http.StatusNotImplemented, CodeNotImplemented, "no keyring configured; approvals cannot be checked")
	}
	body, p := readBody(w, r, s.cfg.Limits.MaxBodyBytes)
	if p != nil {
		return p
	}
	runID := r.PathValue("runId")
	key, p := idempotencyKey(r, runID, body)
	if p != nil {
		return p
	}
	req := &submitRequest{runID: runID, body: body, key: key, hash: sum([]byte(runID), body), id: id, receivedAt: received,
		flags: []string{flagApprovalImported}}
	req.check = func(ctx context.Context, root *run.Root) ([]byte, *Problem) { return s.checkApproval(ctx, root, body) }
	ans, replay, p := s.Submit(r.Context(), req)
	if p != nil {
		return p
	}
	status := http.StatusCreated
	if replay {
		status = http.StatusOK
		w.Header().Set("Idempotent-Replayed", "true")
	}
	s.logger.Info("approval imported", "run", runID, "record", ans.Record, "subject", id.Subject)
	writeJSON(w, status, ans)
	return nil
}

// checkApproval verifies the approval against the run as logged now (the
// published checkpoint is first brought up to every acknowledged record).
func (s *Service) checkApproval(ctx context.Context, root *run.Root, b []byte) ([]byte, *Problem) {
	if rc, ok := s.log.Lookup(digestString(sum256(b))); ok && rc.Stream == root.Digest() {
		return b, nil // logged before (checked then): the journal answers
	}
	rb, err := s.reviewBackend()
	if err != nil {
		return nil, problem(http.StatusServiceUnavailable, CodeStorage, err.Error())
	}
	if err := s.awaitCheckpoint(ctx); err != nil {
		return nil, problem(http.StatusServiceUnavailable, CodeStorage, err.Error()).retry(1)
	}
	a, _, _, err := rb.CheckApproval(ctx, root.Registration.RunID, b)
	switch {
	case errors.Is(err, console.ErrApproval):
		return nil, problem(http.StatusUnprocessableEntity, CodeApprovalRefused, err.Error())
	case errors.Is(err, console.ErrNotFound):
		return nil, problem(http.StatusNotFound, CodeNotFound, "no such run")
	case err != nil:
		return nil, problem(http.StatusServiceUnavailable, CodeStorage, err.Error()).retry(5)
	}
	if p := s.checkTimeEvidence(a.CommonFields()); p != nil {
		return nil, p
	}
	return b, nil
}
