package witness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/transparency-dev/tessera/client"

	"github.com/dossier-audit/dossier/pkg/tlog/tlogproof"
)

// Client talks to one witness.
type Client struct {
	// URL is the witness submission prefix; requests go to
	// URL + "/add-checkpoint".
	URL string
	// HTTP is the client used; nil means one with a 10 s timeout.
	HTTP *http.Client
}

// AddCheckpoint sends one request and returns the witness's cosignature
// lines, a *ConflictError on 409, or the protocol error of the status.
func (c *Client) AddCheckpoint(ctx context.Context, req AddRequest) ([]byte, error) {
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	url := strings.TrimSuffix(c.URL, "/") + AddCheckpointPath
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(req.Marshal()))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrWitness, err)
	}
	resp, err := hc.Do(r)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrWitness, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxRequestSize))
	if err != nil {
		return nil, fmt.Errorf("%w: reading the answer of %s: %v", ErrWitness, url, err)
	}
	return answer(resp.StatusCode, body, req.Old)
}

func answer(status int, body []byte, old uint64) ([]byte, error) {
	msg := strings.TrimSpace(string(body))
	switch status {
	case http.StatusOK:
		return body, nil
	case http.StatusConflict:
		n, err := strconv.ParseUint(msg, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: 409 with body %q", ErrWitness, msg)
		}
		return nil, &ConflictError{Size: n, Old: old}
	case http.StatusNotFound:
		return nil, fmt.Errorf("%w: %s", ErrUnknownLog, msg)
	case http.StatusForbidden:
		return nil, fmt.Errorf("%w: %s", ErrSignature, msg)
	case http.StatusBadRequest:
		if strings.HasPrefix(msg, ErrOldTooNew.Error()) { // our server's wording
			return nil, fmt.Errorf("%w: %s", ErrOldTooNew, strings.TrimPrefix(msg, ErrOldTooNew.Error()+": "))
		}
		return nil, fmt.Errorf("%w: %s", ErrMalformed, msg)
	case http.StatusUnprocessableEntity:
		return nil, fmt.Errorf("%w: %s", ErrProof, msg)
	}
	return nil, fmt.Errorf("%w: status %d: %.200s", ErrWitness, status, msg)
}

// Prover returns the RFC 9162 consistency proof of the log from tree size
// old to tree size size.
type Prover func(ctx context.Context, old, size uint64) ([][32]byte, error)

// MaxConflicts bounds how often Submit re-proves after a 409.
const MaxConflicts = 3

// Submit sends checkpoint to the witness, proving consistency from old (the
// size the caller believes the witness has; 0 for a new witness). On 409 it
// re-proves from the size the witness returns. It returns the cosignature
// lines. A witness that has seen a larger tree than checkpoint returns a
// *ConflictError: the checkpoint is stale, not misbehaviour.
func Submit(ctx context.Context, c *Client, checkpoint []byte, old uint64, prove Prover) ([]byte, error) {
	body, _, _ := bytes.Cut(checkpoint, []byte("\n\n"))
	cp, err := tlogproof.ParseCheckpointBody(append(body, '\n'))
	if err != nil {
		return nil, err
	}
	for i := 0; ; i++ {
		req := AddRequest{Old: old, Checkpoint: checkpoint}
		if old != 0 && old < cp.Size {
			if req.Proof, err = prove(ctx, old, cp.Size); err != nil {
				return nil, fmt.Errorf("proving consistency from %d to %d: %w", old, cp.Size, err)
			}
		}
		lines, err := c.AddCheckpoint(ctx, req)
		var conflict *ConflictError
		if !errors.As(err, &conflict) || conflict.Size > cp.Size || i+1 >= MaxConflicts {
			return lines, err
		}
		old = conflict.Size
	}
}

// TileProver proves consistency from a log directory in the C2SP
// tlog-tiles layout (the log's POSIX storage, or a copy of it).
func TileProver(dir string) Prover {
	return func(ctx context.Context, old, size uint64) ([][32]byte, error) {
		pb, err := client.NewProofBuilder(ctx, size, client.FileFetcher{Root: dir}.ReadTile)
		if err != nil {
			return nil, err
		}
		hashes, err := pb.ConsistencyProof(ctx, old, size)
		if err != nil {
			return nil, err
		}
		out := make([][32]byte, len(hashes))
		for i, h := range hashes {
			if len(h) != 32 {
				return nil, fmt.Errorf("proof hash %d has %d bytes", i, len(h))
			}
			out[i] = [32]byte(h)
		}
		return out, nil
	}
}
