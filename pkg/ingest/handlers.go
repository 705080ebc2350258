package ingest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/dossier-audit/dossier/pkg/bundle"
	"github.com/dossier-audit/dossier/pkg/ingest/auth"
	"github.com/dossier-audit/dossier/pkg/internal/strictjson"
	"github.com/dossier-audit/dossier/pkg/run"
	"github.com/dossier-audit/dossier/pkg/tlog"
	"github.com/dossier-audit/dossier/pkg/tlog/tlogproof"
)

// RunResponse answers POST /v1/runs and GET /v1/runs/{runId}.
type RunResponse struct {
	RunID        string           `json:"runId"`
	Digest       string           `json:"digest"`
	Tag          string           `json:"tag"`
	Registration run.Registration `json:"registration"`
}

func runResponse(root *run.Root) RunResponse {
	return RunResponse{RunID: root.Registration.RunID, Digest: root.Digest(), Tag: root.Tag(), Registration: root.Registration}
}

func (s *Service) handleRegister(w http.ResponseWriter, r *http.Request, id *auth.Identity) *Problem {
	body, p := readBody(w, r, s.cfg.Limits.MaxBodyBytes)
	if p != nil {
		return p
	}
	var reg run.Registration
	if err := strictjson.Decode(body, &reg, strictjson.Limits{MaxBytes: len(body) + 1}); err != nil {
		return problem(http.StatusBadRequest, CodeMalformed, err.Error())
	}
	defaulted := reg.StartedAt == ""
	if defaulted {
		reg.StartedAt = s.stamp().Truncate(time.Second).Format(time.RFC3339)
	}
	if reg.StartedBy.ID == "" {
		reg.StartedBy = run.Identity{ID: id.Subject, Name: id.Name, Kind: "workload"}
	}
	root, err := run.New(reg)
	if err != nil {
		return problem(http.StatusUnprocessableEntity, CodeInvalidRun, err.Error())
	}
	got, created, err := s.runs.register(root, defaulted)
	switch {
	case errors.Is(err, errRunConflict):
		return problem(http.StatusConflict, CodeRunConflict, "this run id is registered with other fields")
	case err != nil:
		return problem(http.StatusServiceUnavailable, CodeStorage, err.Error())
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
		s.pusher.wake()
		s.logger.Info("run registered", "runId", reg.RunID, "digest", got.Digest(), "subject", id.Subject)
	}
	writeJSON(w, status, runResponse(got))
	return nil
}

func (s *Service) handleSubmit(w http.ResponseWriter, r *http.Request, id *auth.Identity) *Problem {
	received := s.now()
	body, p := readBody(w, r, s.cfg.Limits.MaxBodyBytes)
	if p != nil {
		return p
	}
	runID := r.PathValue("runId")
	key, p := idempotencyKey(r, runID, body)
	if p != nil {
		return p
	}
	req := &submitRequest{runID: runID, body: body, key: key, hash: sum([]byte(runID), body), id: id, receivedAt: received}
	ans, replay, p := s.Submit(r.Context(), req)
	if p != nil {
		return p
	}
	status := http.StatusCreated
	if replay {
		status = http.StatusOK
		w.Header().Set("Idempotent-Replayed", "true")
	}
	writeJSON(w, status, ans)
	return nil
}

func (s *Service) handleRun(w http.ResponseWriter, r *http.Request, _ *auth.Identity) *Problem {
	root, ok := s.runs.get(r.PathValue("runId"))
	if !ok {
		return problem(http.StatusNotFound, CodeNotFound, "no such run")
	}
	writeJSON(w, http.StatusOK, runResponse(root))
	return nil
}

// RecordList answers GET /v1/runs/{runId}/records.
type RecordList struct {
	RunID   string          `json:"runId"`
	Stream  string          `json:"stream"`
	Records []*SubmitResult `json:"records"`
	// Next is the "after" value of the next page; absent on the last page.
	Next *int `json:"next,omitempty"`
}

func (s *Service) handleRecords(w http.ResponseWriter, r *http.Request, _ *auth.Identity) *Problem {
	root, ok := s.runs.get(r.PathValue("runId"))
	if !ok {
		return problem(http.StatusNotFound, CodeNotFound, "no such run")
	}
	after, limit, p := page(r)
	if p != nil {
		return p
	}
	recs, err := s.journal.streamAnswers(root.Digest(), after, limit+1)
	if err != nil {
		return problem(http.StatusServiceUnavailable, CodeStorage, err.Error())
	}
	out := RecordList{RunID: root.Registration.RunID, Stream: root.Digest(), Records: recs}
	if len(recs) > limit {
		out.Records = recs[:limit]
		n := after + limit
		out.Next = &n
	}
	if out.Records == nil {
		out.Records = []*SubmitResult{}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func page(r *http.Request) (after, limit int, p *Problem) {
	after, limit = -1, 1000
	q := r.URL.Query()
	if v := q.Get("after"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < -1 {
			return 0, 0, problem(http.StatusBadRequest, CodeMalformed, "after must be an integer >= -1")
		}
		after = n
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			return 0, 0, problem(http.StatusBadRequest, CodeMalformed, "limit must be 1..10000")
		}
		limit = n
	}
	return after, limit, nil
}

func (s *Service) recordDigest(r *http.Request) (string, *Problem) {
	d := r.PathValue("digest")
	if tlogproof.ValidateDigest(d) != nil {
		return "", problem(http.StatusBadRequest, CodeMalformed, "digest must be sha256:<64 lowercase hex>")
	}
	return d, nil
}

func (s *Service) handleRecord(w http.ResponseWriter, r *http.Request, _ *auth.Identity) *Problem {
	d, p := s.recordDigest(r)
	if p != nil {
		return p
	}
	return s.serveBundle(w, r.Context(), d)
}

func (s *Service) serveBundle(w http.ResponseWriter, ctx context.Context, d string) *Problem {
	if _, ok := s.log.Lookup(d); !ok {
		return problem(http.StatusNotFound, CodeNotFound, "no such record")
	}
	b, err := s.log.Bundle(ctx, d)
	if err != nil {
		return problem(http.StatusServiceUnavailable, CodeStorage, err.Error())
	}
	w.Header().Set("Content-Type", bundle.MediaType)
	w.Header().Set("Docker-Content-Digest", d)
	_, _ = w.Write(b)
	return nil
}

func (s *Service) handleReceipt(w http.ResponseWriter, r *http.Request, _ *auth.Identity) *Problem {
	d, p := s.recordDigest(r)
	if p != nil {
		return p
	}
	key, _ := parseDigest32(d)
	ans, ok, err := s.journal.lookupRecord(key)
	if err != nil {
		return problem(http.StatusServiceUnavailable, CodeStorage, err.Error())
	}
	if !ok {
		return problem(http.StatusNotFound, CodeNotFound, "no receipt for this record")
	}
	return s.serveBundle(w, r.Context(), ans.Receipt)
}

// proofWait bounds how long a proof request waits for a checkpoint that
// covers the record.
const proofWait = 3 * time.Second

func (s *Service) handleProof(w http.ResponseWriter, r *http.Request, _ *auth.Identity) *Problem {
	d, p := s.recordDigest(r)
	if p != nil {
		return p
	}
	rc, ok := s.log.Lookup(d)
	if !ok {
		return problem(http.StatusNotFound, CodeNotFound, "no such record")
	}
	deadline := time.Now().Add(proofWait)
	for {
		proof, err := tlog.ProveInclusion(r.Context(), s.logDir, rc.Index)
		switch {
		case err == nil:
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			_, _ = w.Write(proof)
			return nil
		case !errors.Is(err, tlog.ErrNotFound):
			return problem(http.StatusServiceUnavailable, CodeStorage, err.Error())
		case time.Now().After(deadline):
			return problem(http.StatusServiceUnavailable, CodeProofNotReady, fmt.Sprintf("leaf %d is not covered by the published checkpoint yet", rc.Index)).retry(1)
		}
		select {
		case <-r.Context().Done():
			return problem(http.StatusServiceUnavailable, CodeProofNotReady, "request ended")
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (s *Service) handleCheckpoint(w http.ResponseWriter, r *http.Request, _ *auth.Identity) *Problem {
	cp, err := tlog.ReadCheckpoint(s.logDir)
	if err != nil {
		return problem(http.StatusServiceUnavailable, CodeStorage, err.Error())
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(cp)
	return nil
}

func (s *Service) handleMetrics(w http.ResponseWriter, r *http.Request, _ *auth.Identity) *Problem {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	s.metrics.write(w, s.gauges(r.Context()))
	s.anchors.writeMetrics(w)
	return nil
}

func (s *Service) gauges(ctx context.Context) gauges {
	g := gauges{inFlight: int64(len(s.sem))}
	g.pushBacklog, g.pushAge = s.pusher.backlog(ctx)
	if raw, err := tlog.ReadCheckpoint(s.logDir); err == nil {
		if cp, err := tlogproof.ParseCheckpointBody(noteBody(raw)); err == nil {
			g.checkpointSize = int64(cp.Size)
		}
	}
	if st, err := os.Stat(s.logDir + "/checkpoint"); err == nil {
		g.checkpointAge = time.Since(st.ModTime()).Seconds()
	}
	return g
}

// noteBody returns the text of a signed note before its signatures.
func noteBody(raw []byte) []byte {
	for i := 0; i+1 < len(raw); i++ {
		if raw[i] == '\n' && raw[i+1] == '\n' {
			return raw[:i+1]
		}
	}
	return raw
}

func (s *Service) handleHealth(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// Readiness answers GET /readyz: ready means submissions are accepted now.
type Readiness struct {
	Ready    bool      `json:"ready"`
	Reason   string    `json:"reason,omitempty"`
	Time     TimeState `json:"time"`
	LogSize  uint64    `json:"logSize"`
	Draining bool      `json:"draining"`
}

func (s *Service) handleReady(w http.ResponseWriter, r *http.Request) {
	st := Readiness{Time: s.gate.state()}
	st.LogSize, _ = s.log.Size(r.Context())
	s.mu.Lock()
	st.Draining = s.draining
	s.mu.Unlock()
	st.Ready = !st.Draining && st.Time.Action != PolicyRefuse
	switch {
	case st.Draining:
		st.Reason = "shutting down"
	case !st.Ready:
		st.Reason = "time verdict " + st.Time.Verdict + " is refused by policy: " + st.Time.Diagnosis
	}
	status := http.StatusOK
	if !st.Ready {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, st)
}
