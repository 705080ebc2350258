// Package clienttest is an in-memory fake of dossierd's HTTP API v1 for
// client tests: run registration, record submission with Idempotency-Key
// semantics (same key and body: the stored answer; same key, other body:
// 422), and switches that make it refuse (503 time-untrusted), fail
// permanently or lose an answer after committing.
package clienttest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
)

// Submission is one record the fake accepted, in acceptance order.
type Submission struct {
	RunID     string
	Key       string
	Kind      string
	Predicate map[string]any
	Bundle    []byte
}

// Server is the fake daemon.
type Server struct {
	*httptest.Server
	Token string

	mu        sync.Mutex
	refuse    bool
	loseNext  int
	rejectAll string
	runs      map[string]string
	keys      map[string]stored
	accepted  []Submission
	seqs      map[string]int64
	requests  int
	imports   []string
}

type stored struct {
	bodyHash string
	status   int
	answer   []byte
}

// New starts a fake daemon; token "" accepts any request.
func New(token string) *Server {
	s := &Server{Token: token, runs: map[string]string{}, keys: map[string]stored{}, seqs: map[string]int64{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Refuse makes the fake answer 503 time-untrusted (true) or serve again.
func (s *Server) Refuse(on bool) { s.mu.Lock(); s.refuse = on; s.mu.Unlock() }

// LoseAnswers makes the next n accepted submissions commit and then answer
// 502 as if the answer was lost on the way.
func (s *Server) LoseAnswers(n int) { s.mu.Lock(); s.loseNext = n; s.mu.Unlock() }

// RejectKind makes submissions of kind answer 400 invalid-record.
func (s *Server) RejectKind(kind string) { s.mu.Lock(); s.rejectAll = kind; s.mu.Unlock() }

// Accepted returns the accepted submissions in order.
func (s *Server) Accepted() []Submission {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Submission(nil), s.accepted...)
}

// Runs returns the registered run ids and their registration body hashes.
func (s *Server) Runs() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]string{}
	for k, v := range s.runs {
		out[k] = v
	}
	return out
}

// Requests returns how many requests the fake received.
func (s *Server) Requests() int { s.mu.Lock(); defer s.mu.Unlock(); return s.requests }

func problem(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/problem+json")
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"type":"https://dossier.dev/errors/%s","title":"%s","status":%d,"code":"%s"}`, code, code, status, code)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	if s.Token != "" && r.Header.Get("Authorization") != "Bearer "+s.Token {
		problem(w, http.StatusUnauthorized, "unauthenticated")
		return
	}
	if s.refuse {
		problem(w, http.StatusServiceUnavailable, "time-untrusted")
		return
	}
	if r.URL.Path == "/v1/import" {
		s.importSpool(w, r)
		return
	}
	key := r.Header.Get("Idempotency-Key")
	body, _ := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	if key == "" {
		problem(w, http.StatusBadRequest, "idempotency-key-invalid")
		return
	}
	sum := sha256.Sum256(body)
	h := hex.EncodeToString(sum[:])
	if st, ok := s.keys[key]; ok {
		if st.bodyHash != h {
			problem(w, http.StatusUnprocessableEntity, "idempotency-key-reused")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		w.Write(st.answer)
		return
	}
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/v1/runs":
		s.register(w, key, h, body)
	case r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/v1/runs/") && strings.HasSuffix(r.URL.Path, "/records"):
		s.record(w, strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/v1/runs/"), "/records"), key, h, body)
	default:
		problem(w, http.StatusNotFound, "not-found")
	}
}

func (s *Server) register(w http.ResponseWriter, key, h string, body []byte) {
	var reg struct {
		RunID string `json:"runId"`
	}
	if json.Unmarshal(body, &reg) != nil || reg.RunID == "" {
		problem(w, http.StatusBadRequest, "invalid-run")
		return
	}
	s.runs[reg.RunID] = h
	ans, _ := json.Marshal(map[string]string{"runId": reg.RunID, "digest": "sha256:" + h, "tag": "run-" + reg.RunID})
	s.commit(w, key, h, ans)
}

func (s *Server) record(w http.ResponseWriter, runID, key, h string, body []byte) {
	var req struct {
		Kind      string         `json:"kind"`
		Predicate map[string]any `json:"predicate"`
		Bundle    string         `json:"bundle"`
	}
	if json.Unmarshal(body, &req) != nil || (req.Kind == "") == (req.Bundle == "") {
		problem(w, http.StatusBadRequest, "malformed-request")
		return
	}
	if req.Kind != "" && req.Kind == s.rejectAll {
		problem(w, http.StatusBadRequest, "invalid-record")
		return
	}
	sub := Submission{RunID: runID, Key: key, Kind: req.Kind, Predicate: req.Predicate}
	if req.Bundle != "" {
		b, err := base64.StdEncoding.DecodeString(req.Bundle)
		if err != nil {
			problem(w, http.StatusBadRequest, "malformed-request")
			return
		}
		sub.Bundle = b
	}
	seq := s.seqs[runID]
	s.seqs[runID] = seq + 1
	s.accepted = append(s.accepted, sub)
	ans, _ := json.Marshal(map[string]any{"record": "sha256:" + h, "seq": seq, "logIndex": len(s.accepted) - 1,
		"receipt": "sha256:" + strings.Repeat("0", 64), "receivedAt": "2026-11-27T12:00:00Z", "timeVerdict": "good", "flags": []string{}})
	s.commit(w, key, h, ans)
}

func (s *Server) commit(w http.ResponseWriter, key, h string, ans []byte) {
	s.keys[key] = stored{bodyHash: h, status: http.StatusCreated, answer: ans}
	if s.loseNext > 0 {
		s.loseNext--
		problem(w, http.StatusBadGateway, "answer-lost")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	w.Write(ans)
}

// Imports returns "carriedBy:carriedByName" of every POST /v1/import.
func (s *Server) Imports() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.imports...)
}

// importSpool answers POST /v1/import with a canned report for a
// non-empty body.
func (s *Server) importSpool(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	q := r.URL.Query()
	if len(body) == 0 || q.Get("carriedBy") == "" || q.Get("carriedByName") == "" || r.Header.Get("Content-Type") != "application/x-tar" {
		problem(w, http.StatusBadRequest, "malformed-request")
		return
	}
	s.imports = append(s.imports, q.Get("carriedBy")+":"+q.Get("carriedByName"))
	sum := sha256.Sum256(body)
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"spool":"sha256:%x","spoolId":"fake","records":1,"imported":1,"alreadyPresent":0,"transfer":"sha256:%s","transferExisting":false}`, sum, strings.Repeat("0", 64))
}
