// Package anchorer obtains and keeps the anchors of a log's checkpoints: it
// asks the configured TSAs for RFC 3161 tokens over each new checkpoint and
// sends it to the configured witnesses, stores what comes back beside the
// checkpoint (atomically), reports the backlog of checkpoints not yet fully
// anchored, and assembles the anchors.json of a package. A TSA or witness
// that is down delays an anchor; it never blocks the log.
package anchorer

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/dossier-audit/dossier/internal/atomicfile"
	"github.com/dossier-audit/dossier/pkg/tlog/tlogproof"
)

// ErrFork: the store already holds a different tree of the same size.
var ErrFork = errors.New("two checkpoints of one size with different roots")

// Store is the anchor directory:
//
//	<dir>/<size, 20 digits>/checkpoint       the log-signed note, exact bytes
//	<dir>/<size>/tsa-<name>.tsr              one token per TSA
//	<dir>/<size>/cosignatures                cosignature lines collected so far
//	<dir>/witness-<name>.size                the size that witness last cosigned
type Store struct{ Dir string }

func (s Store) sizeDir(size uint64) string { return filepath.Join(s.Dir, fmt.Sprintf("%020d", size)) }

// Put records a checkpoint; putting the same tree again is a no-op, a
// different root at a stored size is ErrFork.
func (s Store) Put(cp *tlogproof.Checkpoint) error {
	dir := s.sizeDir(cp.Size)
	old, err := os.ReadFile(filepath.Join(dir, "checkpoint"))
	if err == nil {
		prev, perr := parseNote(old)
		if perr != nil || prev.Root != cp.Root {
			return fmt.Errorf("%w: size %d: stored %x, new %x", ErrFork, cp.Size, prev.Root, cp.Root)
		}
		return nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(dir, "checkpoint"), cp.Raw, 0o644)
}

// Checkpoint returns the stored note of size.
func (s Store) Checkpoint(size uint64) ([]byte, error) {
	return os.ReadFile(filepath.Join(s.sizeDir(size), "checkpoint"))
}

// Token returns the token of tsa for size, or nil.
func (s Store) Token(size uint64, tsa string) ([]byte, error) {
	return readOptional(filepath.Join(s.sizeDir(size), "tsa-"+tsa+".tsr"))
}

// PutToken stores a token.
func (s Store) PutToken(size uint64, tsa string, tsr []byte) error {
	return atomicfile.WriteFile(filepath.Join(s.sizeDir(size), "tsa-"+tsa+".tsr"), tsr, 0o644)
}

// Tokens returns every token stored for size, whichever TSA it came from
// (a store outlives a configuration), sorted by TSA name.
func (s Store) Tokens(size uint64) ([]NamedToken, error) {
	ents, err := os.ReadDir(s.sizeDir(size))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []NamedToken
	for _, e := range ents { // ReadDir sorts by name
		name, ok := strings.CutPrefix(e.Name(), "tsa-")
		if name, ok2 := strings.CutSuffix(name, ".tsr"); ok && ok2 && !e.IsDir() && name != "" {
			b, err := os.ReadFile(filepath.Join(s.sizeDir(size), e.Name()))
			if err != nil {
				return nil, err
			}
			out = append(out, NamedToken{TSA: name, Response: b})
		}
	}
	return out, nil
}

// NamedToken is a stored RFC 3161 response and the TSA name it is kept
// under.
type NamedToken struct {
	TSA      string
	Response []byte
}

// Cosignatures returns the cosignature lines stored for size.
func (s Store) Cosignatures(size uint64) ([]byte, error) {
	return readOptional(filepath.Join(s.sizeDir(size), "cosignatures"))
}

// AddCosignatures appends lines not yet stored.
func (s Store) AddCosignatures(size uint64, lines []byte) error {
	have, err := s.Cosignatures(size)
	if err != nil {
		return err
	}
	out := slices.Clone(have)
	for _, l := range bytes.SplitAfter(lines, []byte("\n")) {
		if len(l) > 0 && !bytes.Contains(out, l) {
			out = append(out, l...)
		}
	}
	if bytes.Equal(out, have) {
		return nil
	}
	return atomicfile.WriteFile(filepath.Join(s.sizeDir(size), "cosignatures"), out, 0o644)
}

// WitnessSize returns the size the witness last cosigned (0 when unknown).
func (s Store) WitnessSize(name string) (uint64, error) {
	b, err := readOptional(filepath.Join(s.Dir, "witness-"+name+".size"))
	if err != nil || b == nil {
		return 0, err
	}
	return strconv.ParseUint(string(bytes.TrimSpace(b)), 10, 64)
}

// SetWitnessSize records the size the witness cosigned.
func (s Store) SetWitnessSize(name string, size uint64) error {
	return atomicfile.WriteFile(filepath.Join(s.Dir, "witness-"+name+".size"), fmt.Appendf(nil, "%d\n", size), 0o644)
}

// Sizes lists the stored checkpoint sizes in increasing order.
func (s Store) Sizes() ([]uint64, error) {
	ents, err := os.ReadDir(s.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []uint64
	for _, e := range ents {
		if n, err := strconv.ParseUint(e.Name(), 10, 64); err == nil && e.IsDir() && len(e.Name()) == 20 {
			out = append(out, n)
		}
	}
	return out, nil // ReadDir sorts by name; zero-padded names sort by size
}

func readOptional(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return b, err
}

func parseNote(raw []byte) (tlogproof.Checkpoint, error) {
	body, _, ok := bytes.Cut(raw, []byte("\n\n"))
	if !ok {
		return tlogproof.Checkpoint{}, tlogproof.ErrMalformedCheckpoint
	}
	return tlogproof.ParseCheckpointBody(append(body, '\n'))
}
