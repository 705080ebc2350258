package witness

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"golang.org/x/mod/sumdb/note"

	"github.com/dossier-audit/dossier/pkg/tlog/tlogproof"
)

// State is where a witness keeps the last checkpoint it cosigned per log.
// Store must be durable when it returns: the witness answers only after it.
type State interface {
	Load(origin string) ([]byte, error) // nil, nil when none
	Store(origin string, checkpoint []byte) error
}

// Server is a tlog-witness: it cosigns a log's checkpoint only when it is
// consistent with the last checkpoint it cosigned for that log, and
// persists the new checkpoint before it answers.
type Server struct {
	cosigner note.Signer
	logs     map[string]note.Verifier
	state    State
	mu       sync.Mutex // serialises check-and-store per witness
}

// NewServer returns a witness that signs with cosigner (a
// tlog-cosignature/v1 signer, formats/note.NewSignerForCosignatureV1), knows
// the logs whose verifiers are given (origin = key name) and keeps its state
// in state (a *DirState in production).
func NewServer(cosigner note.Signer, logs []note.Verifier, state State) *Server {
	m := make(map[string]note.Verifier, len(logs))
	for _, v := range logs {
		m[v.Name()] = v
	}
	return &Server{cosigner: cosigner, logs: m, state: state}
}

// Add runs one add-checkpoint request and returns the cosignature line.
func (s *Server) Add(req AddRequest) ([]byte, error) {
	origin, _, _ := strings.Cut(string(req.Checkpoint), "\n")
	v, ok := s.logs[origin]
	if !ok {
		return nil, fmt.Errorf("%w: origin %q", ErrUnknownLog, origin)
	}
	cp, err := tlogproof.VerifyCheckpoint(req.Checkpoint, v)
	if errors.Is(err, tlogproof.ErrMalformedCheckpoint) {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSignature, err)
	}
	if req.Old > cp.Size {
		return nil, fmt.Errorf("%w: old %d, checkpoint size %d", ErrOldTooNew, req.Old, cp.Size)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	prev, err := s.last(origin, v)
	if err != nil {
		return nil, err
	}
	if req.Old != prev.Size {
		return nil, &ConflictError{Size: prev.Size, Old: req.Old}
	}
	if err := checkProof(prev, cp, req.Proof); err != nil {
		return nil, err
	}
	if !bytes.Equal(prev.Raw, req.Checkpoint) {
		if err := s.state.Store(origin, req.Checkpoint); err != nil {
			return nil, fmt.Errorf("%w: persisting the checkpoint of %s: %v", ErrWitness, origin, err)
		}
	}
	signed, err := note.Sign(&note.Note{Text: string(cp.Body())}, s.cosigner)
	if err != nil {
		return nil, fmt.Errorf("%w: cosigning: %v", ErrWitness, err)
	}
	return SignatureLines(signed)
}

// last returns the last cosigned checkpoint of origin, or the empty tree.
func (s *Server) last(origin string, v note.Verifier) (*tlogproof.Checkpoint, error) {
	raw, err := s.state.Load(origin)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrWitness, err)
	}
	if raw == nil {
		return &tlogproof.Checkpoint{Origin: origin}, nil
	}
	cp, err := tlogproof.VerifyCheckpoint(raw, v)
	if err != nil {
		return nil, fmt.Errorf("%w: stored checkpoint of %s: %v", ErrWitness, origin, err)
	}
	return cp, nil
}

func checkProof(prev, cp *tlogproof.Checkpoint, proof [][32]byte) error {
	switch {
	case prev.Size == 0:
		if len(proof) != 0 {
			return fmt.Errorf("%w: %d hashes from the empty tree, want none", ErrProof, len(proof))
		}
	case prev.Size == cp.Size:
		if len(proof) != 0 || prev.Root != cp.Root {
			return fmt.Errorf("%w: same size %d, root %x, cosigned root %x", ErrProof, cp.Size, cp.Root, prev.Root)
		}
	default:
		if err := tlogproof.CheckConsistency(prev, cp, proof); err != nil {
			return fmt.Errorf("%w: %v", ErrProof, err)
		}
	}
	return nil
}

// ServeHTTP serves POST /add-checkpoint.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != AddCheckpointPath {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxRequestSize+1))
	if err != nil {
		http.Error(w, "reading request", http.StatusBadRequest)
		return
	}
	req, err := ParseAddRequest(body)
	var lines []byte
	if err == nil {
		lines, err = s.Add(req)
	}
	writeAnswer(w, lines, err)
}

func writeAnswer(w http.ResponseWriter, lines []byte, err error) {
	var conflict *ConflictError
	switch {
	case err == nil:
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write(lines)
	case errors.As(err, &conflict):
		w.Header().Set("Content-Type", SizeMediaType)
		w.WriteHeader(http.StatusConflict)
		fmt.Fprintf(w, "%d\n", conflict.Size)
	default:
		http.Error(w, err.Error(), statusOf(err))
	}
}

func statusOf(err error) int {
	switch {
	case errors.Is(err, ErrUnknownLog):
		return http.StatusNotFound
	case errors.Is(err, ErrSignature):
		return http.StatusForbidden
	case errors.Is(err, ErrMalformed), errors.Is(err, ErrOldTooNew):
		return http.StatusBadRequest
	case errors.Is(err, ErrProof):
		return http.StatusUnprocessableEntity
	}
	return http.StatusInternalServerError
}
