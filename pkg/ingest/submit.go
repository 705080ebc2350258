package ingest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/dossier-audit/dossier/pkg/bundle"
	"github.com/dossier-audit/dossier/pkg/ingest/auth"
	"github.com/dossier-audit/dossier/pkg/internal/strictjson"
	"github.com/dossier-audit/dossier/pkg/record"
	"github.com/dossier-audit/dossier/pkg/run"
	"github.com/dossier-audit/dossier/pkg/tlog"
	"github.com/dossier-audit/dossier/pkg/verify"
)

// SubmitResult is the answer to an accepted submission (and to its
// replays): the record, where the log put it, and its receipt.
type SubmitResult struct {
	Record       string   `json:"record"`
	Stream       string   `json:"stream"`
	Seq          uint64   `json:"seq"`
	Prev         string   `json:"prev"`
	LogIndex     uint64   `json:"logIndex"`
	Receipt      string   `json:"receipt"`
	ReceiptIndex uint64   `json:"receiptLogIndex"`
	ReceivedAt   string   `json:"receivedAt"`
	TimeVerdict  string   `json:"timeVerdict"`
	Flags        []string `json:"flags"`
}

// submission is the body of POST /v1/runs/{runId}/records: either kind and
// predicate (the daemon signs) or bundle (base64 of signed bundle bytes).
type submission struct {
	Kind      string          `json:"kind,omitempty"`
	Predicate json.RawMessage `json:"predicate,omitempty"`
	Bundle    string          `json:"bundle,omitempty"`
}

// maxIdempotencyKey bounds the Idempotency-Key header.
const maxIdempotencyKey = 256

// submitRequest is one submission after authentication.
type submitRequest struct {
	runID      string
	body       []byte
	key        string
	hash       [32]byte
	id         *auth.Identity
	receivedAt time.Time
	flags      []string
	// check, when set, replaces the decoding of body: it returns the
	// verified bundle to log (approvals.go).
	check func(ctx context.Context, root *run.Root) ([]byte, *Problem)
}

// idempotencyKey returns the request's key: the header, or (absent) one
// derived from the run and the body, so identical retries dedupe.
func idempotencyKey(r *http.Request, runID string, body []byte) (string, *Problem) {
	k := r.Header.Get("Idempotency-Key")
	if k == "" {
		h := sum([]byte(runID), body)
		return "body:" + hex.EncodeToString(h[:]), nil
	}
	if len(k) > maxIdempotencyKey {
		return "", problem(http.StatusBadRequest, CodeIdempotencyMalformed, fmt.Sprintf("%d bytes, limit %d", len(k), maxIdempotencyKey))
	}
	for _, c := range []byte(k) {
		if c < 0x21 || c > 0x7e {
			return "", problem(http.StatusBadRequest, CodeIdempotencyMalformed, "printable ASCII without spaces only")
		}
	}
	return "key:" + runID + ":" + k, nil
}

// Submit handles one submission end to end: idempotency, time gate,
// validation and signing, durable append of the record and its receipt.
// It returns the answer and whether it is a replay.
func (s *Service) Submit(ctx context.Context, req *submitRequest) (*SubmitResult, bool, *Problem) {
	// After a journal failure the memory index may lack answers whose
	// records are logged; a restart rebuilds it from the receipts, and
	// until then nothing is accepted (no record gets a second receipt).
	if err := s.journal.err(); err != nil {
		return nil, false, problem(http.StatusServiceUnavailable, CodeStorage, err.Error()).retry(30)
	}
	if ans, done, p := s.stored(req); done {
		return ans, true, p
	}
	if p := s.begin(req); p != nil {
		return nil, false, p
	}
	defer s.end(req.key)
	// Again under the in-flight claim: a request with this key may have
	// finished between the first look and the claim.
	if ans, done, p := s.stored(req); done {
		return ans, true, p
	}
	root, ok := s.runs.get(req.runID)
	if !ok {
		return nil, false, problem(http.StatusNotFound, CodeNotFound, "no such run")
	}
	verdict, flags, p := s.gate.admit()
	if p != nil {
		return nil, false, p
	}
	req.flags = append(req.flags, flags...)
	b, p := s.recordBundle(ctx, root, req)
	if p != nil {
		return nil, false, p
	}
	// The durable part runs to the end even if the client goes away.
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	return s.commit(dctx, root, b, verdict, req)
}

// stored answers from the journal: the stored answer for the same body,
// 422 for another body; done is false when the key has no answer.
func (s *Service) stored(req *submitRequest) (*SubmitResult, bool, *Problem) {
	h, ans, ok, err := s.journal.lookupKey(req.key)
	switch {
	case err != nil:
		return nil, true, problem(http.StatusServiceUnavailable, CodeStorage, err.Error())
	case !ok:
		return nil, false, nil
	case h != req.hash:
		return nil, true, problem(http.StatusUnprocessableEntity, CodeIdempotencyReused, "this Idempotency-Key was used with another request body")
	}
	return ans, true, nil
}

// begin registers the key as in flight and takes an outstanding-request
// slot; end releases both.
func (s *Service) begin(req *submitRequest) *Problem {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.draining {
		return problem(http.StatusServiceUnavailable, CodeShuttingDown, "the daemon is shutting down; retry later").retry(5)
	}
	if h, busy := s.inflight[req.key]; busy {
		if h != req.hash {
			return problem(http.StatusUnprocessableEntity, CodeIdempotencyReused, "this Idempotency-Key is in use with another request body")
		}
		return problem(http.StatusConflict, CodeIdempotencyInFlight, "a request with this Idempotency-Key is in progress; retry for its answer").retry(1)
	}
	select {
	case s.sem <- struct{}{}:
	default:
		return problem(http.StatusServiceUnavailable, CodeOverloaded, fmt.Sprintf("%d submissions outstanding", cap(s.sem))).retry(1)
	}
	s.inflight[req.key] = req.hash
	return nil
}

func (s *Service) end(key string) {
	s.mu.Lock()
	delete(s.inflight, key)
	s.mu.Unlock()
	<-s.sem
}

// recordBundle returns the signed bundle of the submission: the daemon
// signs a predicate, or checks a signed bundle against the keyring.
func (s *Service) recordBundle(ctx context.Context, root *run.Root, req *submitRequest) ([]byte, *Problem) {
	if req.check != nil {
		return req.check(ctx, root)
	}
	var sub submission
	if err := strictjson.Decode(req.body, &sub, strictjson.Limits{MaxBytes: len(req.body) + 1}); err != nil {
		return nil, problem(http.StatusBadRequest, CodeMalformed, err.Error())
	}
	switch {
	case sub.Bundle != "" && (sub.Kind != "" || sub.Predicate != nil):
		return nil, problem(http.StatusBadRequest, CodeMalformed, "send either bundle, or kind and predicate")
	case sub.Bundle != "":
		return s.signedBundle(root, sub.Bundle)
	case sub.Kind == "" || sub.Predicate == nil:
		return nil, problem(http.StatusBadRequest, CodeMalformed, "send either bundle, or kind and predicate")
	}
	k, ok := record.LookupKind(sub.Kind)
	if !ok || !k.RunScoped {
		return nil, problem(http.StatusUnprocessableEntity, CodeInvalidRecord, fmt.Sprintf("kind %q is not a run-scoped record kind", sub.Kind))
	}
	c, err := record.ValidatePredicate(k.PredicateType, sub.Predicate)
	if err != nil {
		return nil, problem(http.StatusUnprocessableEntity, CodeInvalidRecord, err.Error())
	}
	if c.RunID != root.Registration.RunID {
		return nil, problem(http.StatusUnprocessableEntity, CodeInvalidRecord,
			fmt.Sprintf("predicate runId %q, want %q", c.RunID, root.Registration.RunID))
	}
	if p := s.checkTimeEvidence(c); p != nil {
		return nil, p
	}
	rs := record.RunSubject(root.Registration.RunID, root.Digest())
	b, err := s.signRunRecord(ctx, k, sub.Predicate, rs)
	if err != nil {
		return nil, signFailure(err)
	}
	req.flags = append(req.flags, "signed-by-daemon")
	return b, nil
}

// signRunRecord builds and signs a run-scoped record whose predicate
// record.ValidatePredicate accepted: subject[0] is the run root; kinds
// that require more subjects (model-release) go through
// record.NewStatement, the others are built as NewStatement builds them
// without parsing the predicate again (CPU per request is the daemon's
// budget).
func (s *Service) signRunRecord(ctx context.Context, k record.Kind, pred []byte, rs record.ResourceDescriptor) ([]byte, error) {
	if k.Name == "model-release" {
		subjects, err := record.Subjects(k.PredicateType, pred, &rs)
		if err != nil {
			return nil, err
		}
		stmt, err := record.NewStatement(subjects, k.PredicateType, pred)
		if err != nil {
			return nil, err
		}
		return s.sign(ctx, stmt)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, pred); err != nil {
		return nil, err
	}
	return s.signOwn(ctx, k.PredicateType, compact.Bytes(), rs)
}

func signFailure(err error) *Problem {
	var f *record.FieldError
	if errors.As(err, &f) {
		return problem(http.StatusUnprocessableEntity, CodeInvalidRecord, err.Error())
	}
	return problem(http.StatusServiceUnavailable, CodeSigner, err.Error()).retry(5)
}

// signedBundle decodes and verifies a pipeline-signed bundle.
func (s *Service) signedBundle(root *run.Root, b64 string) ([]byte, *Problem) {
	b, err := base64.StdEncoding.Strict().DecodeString(b64)
	if err != nil {
		return nil, problem(http.StatusBadRequest, CodeMalformed, "bundle is not standard base64")
	}
	bun, err := bundle.Parse(b)
	if err != nil {
		return nil, problem(http.StatusUnprocessableEntity, CodeInvalidRecord, err.Error())
	}
	v, ok := s.trusted[bun.KeyID()]
	if !ok {
		return nil, problem(http.StatusForbidden, CodeKeyNotAllowed,
			fmt.Sprintf("key %s is not a producer or ingest key of the keyring", bun.KeyID()))
	}
	rec, err := verify.VerifyRecord(b, v, verify.RecordOptions{RunID: root.Registration.RunID, RunRoot: root.Digest()})
	if err != nil {
		var ve *verify.Error
		if errors.As(err, &ve) && ve.Class == verify.FailSignature {
			return nil, problem(http.StatusUnprocessableEntity, CodeSignature, err.Error())
		}
		return nil, problem(http.StatusUnprocessableEntity, CodeInvalidRecord, err.Error())
	}
	if k, _ := rec.Statement.Kind(); !k.RunScoped {
		return nil, problem(http.StatusUnprocessableEntity, CodeInvalidRecord, "not a run-scoped record")
	}
	if p := s.checkTimeEvidence(rec.Common); p != nil {
		return nil, p
	}
	return b, nil
}

// commit appends the record and its receipt (one tlog.Log.AppendMany
// call, one durable wait) and journals the answer; only then is the
// submission acknowledged. A record already logged (a retry, or a crash
// that logged the record without its receipt) gets its journalled answer,
// or else a receipt of its own flagged "late-receipt".
func (s *Service) commit(ctx context.Context, root *run.Root, b []byte, verdict string, req *submitRequest) (*SubmitResult, bool, *Problem) {
	d := sum256(b)
	defer s.lockRecord(d)()
	var logged *tlog.Receipt
	if rc, ok := s.log.Lookup(digestString(d)); ok {
		if ans, ok, err := s.journal.lookupRecord(d); err != nil {
			return nil, false, problem(http.StatusServiceUnavailable, CodeStorage, err.Error())
		} else if ok {
			if err := s.journal.putKey(req.key, req.hash, ans); err != nil {
				return nil, false, problem(http.StatusServiceUnavailable, CodeStorage, err.Error())
			}
			return ans, true, nil
		}
		req.flags = append(req.flags, "late-receipt")
		logged = &rc
	}
	ans, p := s.writeReceipt(ctx, b, d, root.Digest(), logged, verdict, req)
	if p != nil {
		return nil, false, p
	}
	s.metrics.records.Add(1)
	return ans, false, nil
}

func appendFailure(err error) *Problem {
	switch {
	case errors.Is(err, tlog.ErrRecordConflict):
		return problem(http.StatusConflict, CodeRecordConflict, err.Error())
	case errors.Is(err, tlog.ErrLogFailed), errors.Is(err, tlog.ErrStoreFailed):
		return problem(http.StatusServiceUnavailable, CodeStorage, err.Error()).retry(30)
	}
	return problem(http.StatusServiceUnavailable, CodeStorage, err.Error()).retry(5)
}

// checkTimeEvidence refuses a record naming time evidence the log lacks:
// an export could not prove it.
func (s *Service) checkTimeEvidence(c record.Common) *Problem {
	if c.TimeEvidence == nil {
		return nil
	}
	if rc, ok := s.log.Lookup(c.TimeEvidence.Digest); !ok || rc.Stream != "time-evidence" {
		return problem(http.StatusUnprocessableEntity, CodeInvalidRecord,
			fmt.Sprintf("timeEvidence %s is not a time-evidence record in this log", c.TimeEvidence.Digest))
	}
	return nil
}
