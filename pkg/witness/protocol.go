// Package witness implements the C2SP tlog-witness protocol: a witness
// server that cosigns a log's checkpoints only when they are consistent with
// the last one it cosigned (persisted atomically before it answers), and a
// client that submits checkpoints with consistency proofs and collects the
// tlog-cosignature/v1 lines. Offline verification of cosignatures and
// policies is in package witnessverify, which links no network code.
package witness

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Protocol constants of c2sp.org/tlog-witness.
const (
	AddCheckpointPath = "/add-checkpoint"
	SizeMediaType     = "text/x.tlog.size"
	MaxProofHashes    = 63
	// MaxRequestSize bounds an add-checkpoint body: the old line, 63 hashes
	// and a checkpoint note with up to 16 Ed25519 signatures, with margin.
	MaxRequestSize = 16 << 10
)

// Errors of the protocol. The server maps them to HTTP status codes; the
// client returns them for the same codes.
var (
	ErrMalformed  = errors.New("malformed add-checkpoint request")       // 400
	ErrUnknownLog = errors.New("witness does not know the log")          // 404
	ErrSignature  = errors.New("checkpoint not signed by the log key")   // 403
	ErrOldTooNew  = errors.New("old size is larger than the checkpoint") // 400
	ErrProof      = errors.New("consistency proof does not verify")      // 422
	ErrWitness    = errors.New("witness failed")                         // 5xx, I/O
)

// ConflictError is the 409 answer: the witness last cosigned a checkpoint
// of Size, not the old size of the request. Re-prove from Size and retry.
type ConflictError struct{ Size, Old uint64 }

func (e *ConflictError) Error() string {
	return fmt.Sprintf("witness has size %d, request proves from %d", e.Size, e.Old)
}

// AddRequest is the body of POST add-checkpoint.
type AddRequest struct {
	Old        uint64
	Proof      [][32]byte
	Checkpoint []byte
}

// Marshal returns the request body: "old N", the proof hashes in base64,
// an empty line and the signed checkpoint.
func (r AddRequest) Marshal() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "old %d\n", r.Old)
	for _, h := range r.Proof {
		b.WriteString(base64.StdEncoding.EncodeToString(h[:]))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.Write(r.Checkpoint)
	return b.Bytes()
}

// ParseAddRequest parses a request body strictly.
func ParseAddRequest(body []byte) (AddRequest, error) {
	if len(body) > MaxRequestSize {
		return AddRequest{}, fmt.Errorf("%w: %d bytes, limit %d", ErrMalformed, len(body), MaxRequestSize)
	}
	head, cp, ok := strings.Cut(string(body), "\n\n")
	if !ok {
		return AddRequest{}, fmt.Errorf("%w: no empty line before the checkpoint", ErrMalformed)
	}
	lines := strings.Split(head, "\n")
	old, ok := strings.CutPrefix(lines[0], "old ")
	n, err := strconv.ParseUint(old, 10, 64)
	if !ok || err != nil || old != strconv.FormatUint(n, 10) {
		return AddRequest{}, fmt.Errorf("%w: first line %q, want \"old <size>\"", ErrMalformed, lines[0])
	}
	if len(lines)-1 > MaxProofHashes {
		return AddRequest{}, fmt.Errorf("%w: %d proof lines, limit %d", ErrMalformed, len(lines)-1, MaxProofHashes)
	}
	r := AddRequest{Old: n, Checkpoint: []byte(cp)}
	for _, l := range lines[1:] {
		h, err := base64.StdEncoding.Strict().DecodeString(l)
		if err != nil || len(h) != 32 {
			return AddRequest{}, fmt.Errorf("%w: proof line %q is not the base64 of 32 bytes", ErrMalformed, l)
		}
		r.Proof = append(r.Proof, [32]byte(h))
	}
	return r, nil
}

// SignatureLines returns the signature lines of a signed note (the part
// after the blank line), which is what a witness answers.
func SignatureLines(signed []byte) ([]byte, error) {
	i := bytes.Index(signed, []byte("\n\n"))
	if i < 0 {
		return nil, fmt.Errorf("%w: not a signed note", ErrMalformed)
	}
	return signed[i+2:], nil
}

// AppendCosignatures adds cosignature lines to a signed checkpoint note,
// skipping lines it already carries.
func AppendCosignatures(checkpoint, lines []byte) []byte {
	out := bytes.Clone(checkpoint)
	for _, l := range bytes.SplitAfter(lines, []byte("\n")) {
		if len(l) > 0 && !bytes.Contains(out, l) {
			out = append(out, l...)
		}
	}
	return out
}
