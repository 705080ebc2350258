package anchorer

import (
	"context"
	"errors"
	"fmt"
	"regexp"

	"golang.org/x/mod/sumdb/note"

	"github.com/dossier-audit/dossier/pkg/anchor"
	"github.com/dossier-audit/dossier/pkg/tlog/tlogproof"
	"github.com/dossier-audit/dossier/pkg/tsa"
	"github.com/dossier-audit/dossier/pkg/witness"
)

// TSA is a configured time-stamping authority.
type TSA struct {
	Name   string
	Client *tsa.Client
}

// Witness is a configured witness.
type Witness struct {
	Name   string
	Client *witness.Client
}

// Anchorer anchors checkpoints of one log.
type Anchorer struct {
	Log       note.Verifier
	TSAs      []TSA
	Witnesses []Witness
	// Prove builds consistency proofs of the log (witness.TileProver).
	Prove witness.Prover
	Store Store
}

var namePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{0,62}$`)

// Check validates the configuration (names are file name parts).
func (a *Anchorer) Check() error {
	seen := map[string]bool{}
	for _, n := range a.names() {
		if !namePattern.MatchString(n) || seen[n] {
			return fmt.Errorf("anchor name %q: want a unique %s", n, namePattern)
		}
		seen[n] = true
	}
	return nil
}

func (a *Anchorer) names() []string {
	var out []string
	for _, t := range a.TSAs {
		out = append(out, "tsa-"+t.Name)
	}
	for _, w := range a.Witnesses {
		out = append(out, "witness-"+w.Name)
	}
	return out
}

// Report says what one Anchor call obtained and what failed (and will be
// retried by the next call).
type Report struct {
	Size     uint64
	Stamped  []string
	Cosigned []string
	Failed   map[string]error
}

// Anchor stores checkpoint (a log-signed note) and obtains what it lacks:
// a token from each TSA and a cosignature from each witness. Failures are
// in the report, never fatal: the checkpoint stays in the backlog. The
// error is for the store itself or a checkpoint the log key does not sign.
func (a *Anchorer) Anchor(ctx context.Context, checkpoint []byte) (*Report, error) {
	cp, err := tlogproof.VerifyCheckpoint(checkpoint, a.Log)
	if err != nil {
		return nil, err
	}
	if err := a.Store.Put(cp); err != nil {
		return nil, err
	}
	stored, err := a.Store.Checkpoint(cp.Size) // stamp the bytes first stored
	if err != nil {
		return nil, err
	}
	r := &Report{Size: cp.Size, Failed: map[string]error{}}
	for _, t := range a.TSAs {
		a.stamp(ctx, t, cp.Size, stored, r)
	}
	for _, w := range a.Witnesses {
		a.cosign(ctx, w, cp.Size, stored, r)
	}
	return r, nil
}

func (a *Anchorer) stamp(ctx context.Context, t TSA, size uint64, cp []byte, r *Report) {
	if have, err := a.Store.Token(size, t.Name); err != nil || have != nil {
		if err != nil {
			r.Failed["tsa:"+t.Name] = err
		}
		return
	}
	st, err := t.Client.Stamp(ctx, cp)
	if err == nil {
		err = a.Store.PutToken(size, t.Name, st.Response)
	}
	if err != nil {
		r.Failed["tsa:"+t.Name] = err
		return
	}
	r.Stamped = append(r.Stamped, t.Name)
}

func (a *Anchorer) cosign(ctx context.Context, w Witness, size uint64, cp []byte, r *Report) {
	old, err := a.Store.WitnessSize(w.Name)
	if err == nil && old >= size && old != 0 {
		return // this witness has cosigned this size or a larger tree
	}
	var lines []byte
	if err == nil {
		lines, err = witness.Submit(ctx, w.Client, cp, old, a.Prove)
	}
	var conflict *witness.ConflictError
	if errors.As(err, &conflict) && conflict.Size > size {
		err = a.Store.SetWitnessSize(w.Name, conflict.Size) // stale checkpoint: skip it
		if err == nil {
			return
		}
	}
	if err == nil {
		if err = a.Store.AddCosignatures(size, lines); err == nil {
			err = a.Store.SetWitnessSize(w.Name, size)
		}
	}
	if err != nil {
		r.Failed["witness:"+w.Name] = err
		return
	}
	r.Cosigned = append(r.Cosigned, w.Name)
}

// Backlog returns the stored checkpoint sizes that lack a token from a
// configured TSA (the witness backlog is the sizes above each witness's
// last cosigned size). Export it as a metric; retry with Anchor.
func (a *Anchorer) Backlog() ([]uint64, error) {
	sizes, err := a.Store.Sizes()
	if err != nil {
		return nil, err
	}
	var out []uint64
	for _, s := range sizes {
		missing, err := a.missing(s)
		if err != nil {
			return nil, err
		}
		if missing {
			out = append(out, s)
		}
	}
	return out, nil
}

func (a *Anchorer) missing(size uint64) (bool, error) {
	for _, t := range a.TSAs {
		tok, err := a.Store.Token(size, t.Name)
		if err != nil || tok == nil {
			return true, err
		}
	}
	for _, w := range a.Witnesses {
		n, err := a.Store.WitnessSize(w.Name)
		if err != nil || n < size {
			return true, err
		}
	}
	return false, nil
}

// Build assembles the anchors.json for a package whose checkpoint is pkg
// and which proves the leaves at indices: for each leaf the smallest
// anchored stored checkpoint containing it, and pkg itself when anchored,
// each with its consistency proof to pkg.
func (a *Anchorer) Build(ctx context.Context, pkg *tlogproof.Checkpoint, indices []uint64) (*anchor.File, error) {
	anchored, err := a.anchoredSizes(pkg.Size)
	if err != nil {
		return nil, err
	}
	chosen := map[uint64]bool{}
	for _, i := range indices {
		for _, s := range anchored {
			if s > i {
				chosen[s] = true
				break
			}
		}
	}
	if len(anchored) > 0 && anchored[len(anchored)-1] == pkg.Size {
		chosen[pkg.Size] = true
	}
	f := &anchor.File{Anchors: []anchor.Entry{}}
	for _, s := range anchored {
		if chosen[s] {
			e, err := a.entry(ctx, s, pkg)
			if err != nil {
				return nil, err
			}
			f.Anchors = append(f.Anchors, e)
		}
	}
	return f, nil
}

// anchoredSizes lists stored sizes ≤ max with a token (from any TSA, also
// one no longer configured) or a cosignature.
func (a *Anchorer) anchoredSizes(max uint64) ([]uint64, error) {
	sizes, err := a.Store.Sizes()
	if err != nil {
		return nil, err
	}
	var out []uint64
	for _, s := range sizes {
		if s > max {
			break
		}
		has, err := a.hasAnchor(s)
		if err != nil {
			return nil, err
		}
		if has {
			out = append(out, s)
		}
	}
	return out, nil
}

func (a *Anchorer) hasAnchor(size uint64) (bool, error) {
	cos, err := a.Store.Cosignatures(size)
	if err != nil || len(cos) > 0 {
		return len(cos) > 0, err
	}
	toks, err := a.Store.Tokens(size)
	return len(toks) > 0, err
}

func (a *Anchorer) entry(ctx context.Context, size uint64, pkg *tlogproof.Checkpoint) (anchor.Entry, error) {
	cp, err := a.Store.Checkpoint(size)
	if err != nil {
		return anchor.Entry{}, err
	}
	e := anchor.Entry{Checkpoint: cp, Consistency: [][]byte{}, Timestamps: []anchor.Timestamp{}}
	if size < pkg.Size && size > 0 {
		hashes, err := a.Prove(ctx, size, pkg.Size)
		if err != nil {
			return anchor.Entry{}, fmt.Errorf("proving %d to %d: %w", size, pkg.Size, err)
		}
		for _, h := range hashes {
			e.Consistency = append(e.Consistency, h[:])
		}
	}
	toks, err := a.Store.Tokens(size)
	if err != nil {
		return anchor.Entry{}, err
	}
	for _, t := range toks {
		e.Timestamps = append(e.Timestamps, anchor.Timestamp{TSA: t.TSA, Response: t.Response})
	}
	cos, err := a.Store.Cosignatures(size)
	e.Cosignatures = string(cos)
	return e, err
}
