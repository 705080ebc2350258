// Package anchor reads and verifies the anchors a package carries for its
// checkpoints (spec/anchors.md §4): RFC 3161 tokens over the exact
// checkpoint bytes and witness cosignatures, each checkpoint proven a prefix
// of the package checkpoint. It tells, for a leaf index, whether the leaf's
// time is anchored (bounded above by a TSA or a witness quorum, and when)
// or only asserted by the operator. It links no network code.
package anchor

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/dossier-audit/dossier/pkg/internal/strictjson"
)

// MediaType is the media type of the anchors.json package layer.
const MediaType = "application/vnd.dossier.anchors.v1+json"

// Limits of an anchors.json document.
const (
	MaxSize          = 4 << 20
	MaxEntries       = 1024
	MaxTimestamps    = 16
	MaxProofHashes   = 64
	MaxCosignatures  = 16 << 10 // bytes of cosignature lines per entry
	maxTSANameLength = 256
)

// Errors, one per failure class; test with errors.Is.
var (
	// ErrMalformed: anchors.json breaks its format (class index).
	ErrMalformed = errors.New("malformed anchors")
	// ErrCheckpoint: an anchored checkpoint is not signed by the log key
	// (class checkpoint).
	ErrCheckpoint = errors.New("anchored checkpoint not verified")
	// ErrTSA: a token of a trust-root TSA does not verify (class tsa).
	ErrTSA = errors.New("time-stamp anchor does not verify")
	// ErrWitness: a cosignature by a policy witness does not verify
	// (class witness). A quorum that is not met is not an error here: the
	// checkpoint is then simply not anchored by witnesses.
	ErrWitness = errors.New("witness anchor does not verify")
	// ErrFork: an anchored checkpoint is not a prefix of the package
	// checkpoint; Result.Fork holds the evidence (class fork).
	ErrFork = errors.New("anchored checkpoint inconsistent with the package checkpoint")
)

// File is the anchors.json document.
type File struct {
	Anchors []Entry `json:"anchors"`
}

// Entry anchors one checkpoint of the log.
type Entry struct {
	// Checkpoint is the exact log-signed note the tokens stamp.
	Checkpoint []byte `json:"checkpoint"`
	// Consistency proves Checkpoint is a prefix of the package checkpoint
	// (empty when it is the package checkpoint).
	Consistency [][]byte `json:"consistency"`
	// Timestamps are DER TimeStampResp tokens over Checkpoint.
	Timestamps []Timestamp `json:"timestamps"`
	// Cosignatures are tlog-cosignature lines to append to Checkpoint.
	Cosignatures string `json:"cosignatures"`
}

// Timestamp is one token and the trust-root name of its TSA.
type Timestamp struct {
	TSA      string `json:"tsa"`
	Response []byte `json:"response"`
}

// Parse decodes anchors.json strictly, within the limits.
func Parse(b []byte) (*File, error) {
	var f File
	if err := strictjson.Decode(b, &f, strictjson.Limits{MaxBytes: MaxSize, MaxDepth: 8, RequireFields: true, RejectNull: true}); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if len(f.Anchors) > MaxEntries {
		return nil, fmt.Errorf("%w: %d entries, limit %d", ErrMalformed, len(f.Anchors), MaxEntries)
	}
	for i, e := range f.Anchors {
		if err := e.check(); err != nil {
			return nil, fmt.Errorf("%w: anchors[%d]: %v", ErrMalformed, i, err)
		}
	}
	return &f, nil
}

func (e Entry) check() error {
	switch {
	case len(e.Timestamps) > MaxTimestamps:
		return fmt.Errorf("%d timestamps, limit %d", len(e.Timestamps), MaxTimestamps)
	case len(e.Consistency) > MaxProofHashes:
		return fmt.Errorf("%d proof hashes, limit %d", len(e.Consistency), MaxProofHashes)
	case len(e.Cosignatures) > MaxCosignatures:
		return fmt.Errorf("%d bytes of cosignatures, limit %d", len(e.Cosignatures), MaxCosignatures)
	}
	for _, h := range e.Consistency {
		if len(h) != 32 {
			return fmt.Errorf("proof hash of %d bytes", len(h))
		}
	}
	for _, ts := range e.Timestamps {
		if ts.TSA == "" || len(ts.TSA) > maxTSANameLength || len(ts.Response) == 0 {
			return fmt.Errorf("timestamp needs a tsa name and a response")
		}
	}
	if e.Cosignatures != "" && !bytes.HasSuffix([]byte(e.Cosignatures), []byte("\n")) {
		return fmt.Errorf("cosignatures must be whole lines")
	}
	return nil
}

// Marshal returns the document as JSON (entries in the order given; the
// writer sorts them by checkpoint size).
func (f *File) Marshal() ([]byte, error) {
	g := *f
	g.Anchors = slices.Clone(f.Anchors)
	for i := range g.Anchors {
		if g.Anchors[i].Consistency == nil {
			g.Anchors[i].Consistency = [][]byte{}
		}
		if g.Anchors[i].Timestamps == nil {
			g.Anchors[i].Timestamps = []Timestamp{}
		}
	}
	if g.Anchors == nil {
		g.Anchors = []Entry{}
	}
	b, err := json.Marshal(g)
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
