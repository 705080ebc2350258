package ingest

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"

	"github.com/dossier-audit/dossier/pkg/bundle"
	"github.com/dossier-audit/dossier/pkg/console"
	"github.com/dossier-audit/dossier/pkg/ingest/auth"
	"github.com/dossier-audit/dossier/pkg/keyring"
	"github.com/dossier-audit/dossier/pkg/record"
	"github.com/dossier-audit/dossier/pkg/run"
	"github.com/dossier-audit/dossier/pkg/verify"
)

// flagApprovalImported marks the receipt of an approval uploaded through
// POST /v1/runs/{runId}/approvals (signed elsewhere, e.g. offline over a
// "for review" package).
const flagApprovalImported = "approval-imported"

// flagPlanImported marks the receipt of an evaluation plan uploaded
// through POST /v1/runs/{runId}/plans (signed by a validator).
const flagPlanImported = "plan-imported"

// reviewBackend returns the review console's backend over the daemon's
// log, built once: the console and the approval import share it, and so
// share one approval check (console.LogBackend.CheckApproval).
func (s *Service) reviewBackend() (*console.LogBackend, error) {
	s.reviewOnce.Do(func() {
		s.review, s.reviewErr = console.NewLogBackend(console.LogConfig{Log: s.log, RunsDir: filepath.Join(s.cfg.DataDir, "runs"),
			Keyrings: s.keyringEnvs, Pin: s.cfg.KeyringRoot, Exporter: s.exports.signer, Policy: s.exports.policy.rules(),
			ExportsDir: filepath.Join(s.cfg.DataDir, consoleExportsDir), Now: s.now, Append: s.appendChecked,
			MaxRunRecords: s.cfg.Limits.MaxReviewRunRecords})
	})
	return s.review, s.reviewErr
}

// handleApproval imports an approval bundle signed elsewhere (dossier
// approve, possibly offline over a package's review document): checked as
// the console checks an upload, then logged in the run's stream with a
// receipt naming the uploader, through the submission path (idempotency,
// time gate, durability). The body is the bundle JSON.
func (s *Service) handleApproval(w http.ResponseWriter, r *http.Request, id *auth.Identity) *Problem {
	return s.importSigned(w, r, id, flagApprovalImported, s.checkApproval)
}

// handlePlan imports an evaluation plan signed by a validator's reviewer
// key (SPEC.md §2), which the ingest API's producer path does not accept.
func (s *Service) handlePlan(w http.ResponseWriter, r *http.Request, id *auth.Identity) *Problem {
	return s.importSigned(w, r, id, flagPlanImported, s.checkPlan)
}

// importSigned logs a bundle signed by a reviewer key after check accepted
// it, through Submit.
func (s *Service) importSigned(w http.ResponseWriter, r *http.Request, id *auth.Identity, flag string,
	check func(context.Context, *run.Root, []byte) ([]byte, *Problem)) *Problem {
	received := s.now()
	if len(s.keyringEnvs) == 0 {
		return problem(http.StatusNotImplemented, CodeNotImplemented, "no keyring configured; reviewer-signed records cannot be checked")
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
		flags: []string{flag}}
	req.check = func(ctx context.Context, root *run.Root) ([]byte, *Problem) {
		if rc, ok := s.log.Lookup(digestString(sum256(body))); ok && rc.Stream == root.Digest() {
			return body, nil // logged before (checked then): the journal answers
		}
		return check(ctx, root, body)
	}
	ans, replay, p := s.Submit(r.Context(), req)
	if p != nil {
		return p
	}
	status := http.StatusCreated
	if replay {
		status = http.StatusOK
		w.Header().Set("Idempotent-Replayed", "true")
	}
	s.logger.Info("reviewer-signed record imported", "run", runID, "record", ans.Record, "flag", flag, "subject", id.Subject)
	writeJSON(w, status, ans)
	return nil
}

// checkApproval verifies the approval against the run as logged now (the
// published checkpoint is first brought up to every acknowledged record).
func (s *Service) checkApproval(ctx context.Context, root *run.Root, b []byte) ([]byte, *Problem) {
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
	case errors.Is(err, console.ErrTooLarge):
		return nil, runTooLarge(err)
	case err != nil:
		return nil, problem(http.StatusServiceUnavailable, CodeStorage, err.Error()).retry(5)
	}
	if p := s.checkTimeEvidence(a.CommonFields()); p != nil {
		return nil, p
	}
	return b, nil
}

// checkPlan verifies an evaluation plan bundle of the run signed by an
// unrevoked reviewer key of the newest keyring version.
func (s *Service) checkPlan(_ context.Context, root *run.Root, b []byte) ([]byte, *Problem) {
	chain, err := keyring.VerifyChain(s.cfg.KeyringRoot, s.keyringEnvs...)
	if err != nil {
		return nil, problem(http.StatusServiceUnavailable, CodeInternal, err.Error())
	}
	bun, err := bundle.Parse(b)
	if err != nil {
		return nil, problem(http.StatusUnprocessableEntity, CodeInvalidRecord, err.Error())
	}
	k, ok := chain.Latest().Key(bun.KeyID())
	if !ok || k.Revoked() || !k.HasRole(keyring.RoleReviewer) {
		return nil, problem(http.StatusForbidden, CodeKeyNotAllowed,
			fmt.Sprintf("key %s is not an unrevoked reviewer key of the keyring (producer keys submit plans to /v1/runs/{runId}/records)", bun.KeyID()))
	}
	v, err := k.Verifier()
	if err != nil {
		return nil, problem(http.StatusServiceUnavailable, CodeInternal, err.Error())
	}
	kind, _ := record.LookupKind("evaluation-plan")
	rec, err := verify.VerifyRecord(b, v, verify.RecordOptions{RunID: root.Registration.RunID, RunRoot: root.Digest(), PredicateType: kind.PredicateType})
	if err != nil {
		var ve *verify.Error
		if errors.As(err, &ve) && ve.Class == verify.FailSignature {
			return nil, problem(http.StatusUnprocessableEntity, CodeSignature, err.Error())
		}
		return nil, problem(http.StatusUnprocessableEntity, CodeInvalidRecord, err.Error())
	}
	if p := s.checkTimeEvidence(rec.Common); p != nil {
		return nil, p
	}
	return b, nil
}

// appendChecked logs an approval the console's upload already checked
// through the submission path, so it gets a receipt naming the uploader
// like one imported through the API (and the same upload through either
// is one record).
func (s *Service) appendChecked(ctx context.Context, runID string, b []byte, by auth.Identity) (uint64, error) {
	h := sum([]byte(runID), b)
	req := &submitRequest{runID: runID, body: b, key: "body:" + hex.EncodeToString(h[:]), hash: h, id: &by, receivedAt: s.now(),
		flags: []string{flagApprovalImported}}
	req.check = func(context.Context, *run.Root) ([]byte, *Problem) { return b, nil }
	ans, _, p := s.Submit(ctx, req)
	if p != nil {
		return 0, p
	}
	return ans.LogIndex, nil
}

// handleReview serves the run's current review document (pkg/review, the
// bytes an approval signs with 'dossier approve --review'), read from the
// log at a checkpoint covering every acknowledged record. The header
// Dossier-View-Digest is its digest.
func (s *Service) handleReview(w http.ResponseWriter, r *http.Request, _ *auth.Identity) *Problem {
	if len(s.keyringEnvs) == 0 {
		return problem(http.StatusNotImplemented, CodeNotImplemented, "no keyring configured; runs cannot be verified for review")
	}
	runID := r.PathValue("runId")
	if _, ok := s.runs.get(runID); !ok {
		return problem(http.StatusNotFound, CodeNotFound, "no such run")
	}
	rb, err := s.reviewBackend()
	if err != nil {
		return problem(http.StatusServiceUnavailable, CodeStorage, err.Error())
	}
	if err := s.awaitCheckpoint(r.Context()); err != nil {
		return problem(http.StatusServiceUnavailable, CodeStorage, err.Error()).retry(1)
	}
	d, err := rb.CurrentRun(r.Context(), runID)
	if errors.Is(err, console.ErrTooLarge) {
		return runTooLarge(err)
	}
	if err != nil {
		return problem(http.StatusServiceUnavailable, CodeStorage, err.Error()).retry(5)
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="review-`+runID+`.html"`)
	h.Set("Dossier-View-Digest", d.ViewDigest)
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(d.Review)
	return nil
}

// runTooLarge is the problem of a run holding more records than
// limits.maxReviewRunRecords (err a *console.TooLargeError): 422, since
// the request is well formed but the run cannot be processed for review
// here (413 would blame the request's body, which is not the cause).
func runTooLarge(err error) *Problem {
	detail := err.Error()
	var tl *console.TooLargeError
	if errors.As(err, &tl) {
		detail += fmt.Sprintf("; loading it for review needs about %d MiB: review it offline (dossier review --log DIR ...) "+
			"or raise limits.maxReviewRunRecords (--max-review-run-records, DOSSIERD_MAX_REVIEW_RUN_RECORDS) to at least %d", tl.MemoryMiB(), tl.Records)
	}
	return problem(http.StatusUnprocessableEntity, CodeRunTooLarge, detail)
}
