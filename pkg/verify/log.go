package verify

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"

	"github.com/dossier-audit/dossier/pkg/internal/strictjson"
	"github.com/dossier-audit/dossier/pkg/tlog/tlogproof"
)

// leafInfo is one verified proof entry: where the content is in the log.
type leafInfo struct {
	Index uint64
	Leaf  tlogproof.Leaf
}

// proofEntry is one entry of proofs.json.
type proofEntry struct {
	Digest string   `json:"digest"`
	Index  uint64   `json:"index"`
	Leaf   string   `json:"leaf"`
	Hashes []string `json:"hashes"`
}

// ErrProofs: proofs.json is malformed.
var ErrProofs = errors.New("malformed proofs.json")

// startLog and finishLog implement spec/package.md §4 step 7:
//
//	> `checkpoint`, `inclusion` — the checkpoint verifies with the keyring's
//	> `log` key; for every record, export record and keyring version, its
//	> proof entry's leaf names its digest, and the inclusion proof verifies.
//
// startLog verifies the checkpoint and starts reading proofs.json in the
// background (it touches only s.leaves); finishLog waits for it, reports,
// and checks that every record and keyring version has its proof. It
// returns nil when the checkpoint did not verify.
func (s *pkgState) startLog() <-chan error {
	if !s.checkCheckpoint() {
		return nil
	}
	// One proof per record and keyring version: more entries than that is
	// a rejection before they are held (no allocation from untrusted counts).
	s.maxLeaves = len(s.recordDigs) + len(s.meta.Keyrings)
	done := make(chan error, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- fmt.Errorf("%w: internal error: %v", ErrProofs, p)
			}
		}()
		done <- s.readProofsBlob()
	}()
	return done
}

func (s *pkgState) readProofsBlob() error {
	rd, size, err := s.blobReader(s.meta.Proofs.Digest)
	if limit := int64(1<<10 + s.maxLeaves*maxProofEntrySize); err == nil && size > limit {
		err = fmt.Errorf("%w: %d bytes for %d entries, limit %d", ErrProofs, size, s.maxLeaves, limit)
	}
	if err != nil {
		return err
	}
	return s.readProofs(rd)
}

// finishLog reports step 7 once the records are verified.
func (s *pkgState) finishLog(proofs <-chan error) bool {
	if proofs == nil {
		s.skip("7", FailInclusion, "the checkpoint did not verify")
		return false
	}
	if err := <-proofs; err != nil {
		s.c.fail(fail(FailInclusion, "7", err), s.meta.Proofs.Digest)
		return false
	}
	s.checkCoverage() // recorded; later steps use the proofs that verified
	return true
}

// checkCheckpoint opens the checkpoint note with the keyring's log key.
func (s *pkgState) checkCheckpoint() bool {
	v, err := s.keyring.logVerifier()
	if err == nil {
		var raw []byte
		if raw, err = s.blob(s.meta.Checkpoint.Digest, tlogproof.MaxCheckpointSize); err == nil {
			s.cp, err = tlogproof.VerifyCheckpoint(raw, v)
		}
	}
	if err != nil {
		s.c.fail(fail(FailCheckpoint, "7", err), s.meta.Checkpoint.Digest)
		return false
	}
	s.logVer = v
	s.c.res.Summary.Checkpoint = &CheckpointSummary{Origin: s.cp.Origin, Size: s.cp.Size, RootHash: base64.StdEncoding.EncodeToString(s.cp.Root[:])}
	s.c.pass("7", FailCheckpoint, s.meta.Checkpoint.Digest, fmt.Sprintf("checkpoint of %s, size %d, signed by the log key", s.cp.Origin, s.cp.Size))
	return true
}

// readProofs streams proofs.json, verifying each inclusion proof as it is
// read; it holds only the leaves.
func (s *pkgState) readProofs(rd io.Reader) error {
	dec := json.NewDecoder(rd)
	s.leaves = map[string]leafInfo{}
	if err := expectDelim(dec, '{'); err != nil {
		return err
	}
	if err := expectKey(dec, "treeSize"); err != nil {
		return err
	}
	var size uint64
	if err := dec.Decode(&size); err != nil || size != s.cp.Size {
		return fmt.Errorf("%w: treeSize %d, checkpoint size %d (%v)", ErrProofs, size, s.cp.Size, err)
	}
	if err := expectKey(dec, "entries"); err != nil {
		return err
	}
	if err := s.readEntries(dec); err != nil {
		return err
	}
	if err := expectDelim(dec, '}'); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%w: data after the document", ErrProofs)
	}
	return nil
}

// maxProofEntrySize bounds one proofs.json entry: a 1 KiB leaf and 64
// hashes in base64 with their JSON fit in 8 KiB.
const maxProofEntrySize = 8 << 10

// proofBatch is how many proof entries are decoded and verified in
// parallel at a time; memory stays bounded by one batch of raw entries.
const proofBatch = 2048

func (s *pkgState) readEntries(dec *json.Decoder) error {
	if err := expectDelim(dec, '['); err != nil {
		return err
	}
	var last int64 = -1
	for dec.More() {
		raws := make([]json.RawMessage, 0, proofBatch)
		for len(raws) < proofBatch && dec.More() {
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return fmt.Errorf("%w: %v", ErrProofs, err)
			}
			raws = append(raws, raw)
		}
		if s.maxLeaves > 0 && len(s.leaves)+len(raws) > s.maxLeaves {
			return fmt.Errorf("%w: more than %d entries, one per record and keyring version of the package", ErrProofs, s.maxLeaves)
		}
		checked := s.checkBatch(raws)
		for _, c := range checked {
			if c.err != nil {
				return c.err
			}
			if int64(c.pe.Index) <= last {
				return fmt.Errorf("%w: entry index %d after %d (entries must be sorted by index, once each)", ErrProofs, c.pe.Index, last)
			}
			last = int64(c.pe.Index)
			if _, dup := s.leaves[c.pe.Digest]; dup {
				return fmt.Errorf("%w: two proof entries for %s", ErrProofs, c.pe.Digest)
			}
			s.leaves[c.pe.Digest] = leafInfo{Index: c.pe.Index, Leaf: c.leaf}
		}
	}
	return expectDelim(dec, ']')
}

type checkedEntry struct {
	pe   proofEntry
	leaf tlogproof.Leaf
	err  error
}

// checkBatch decodes and verifies raw proof entries on all cores.
func (s *pkgState) checkBatch(raws []json.RawMessage) []checkedEntry {
	out := make([]checkedEntry, len(raws))
	workers := max(s.opts.Workers, 1)
	parallel(len(raws), workers, func(i int) {
		c := &out[i]
		if err := decodeStrict(raws[i], &c.pe, strictjson.Limits{MaxBytes: maxProofEntrySize, MaxDepth: 4, RequireFields: true}); err != nil {
			c.err = fmt.Errorf("%w: entry: %v", ErrProofs, err)
			return
		}
		c.leaf, c.err = s.checkEntry(c.pe)
	})
	return out
}

// checkEntry verifies one inclusion proof and returns its leaf.
func (s *pkgState) checkEntry(pe proofEntry) (tlogproof.Leaf, error) {
	var none tlogproof.Leaf
	leafBytes, err := base64.StdEncoding.DecodeString(pe.Leaf)
	if err != nil || len(leafBytes) > tlogproof.MaxLeafSize {
		return none, fmt.Errorf("%w: leaf of index %d is not base64 of at most %d bytes", ErrProofs, pe.Index, tlogproof.MaxLeafSize)
	}
	leaf, err := tlogproof.ParseLeaf(leafBytes)
	if err != nil {
		return none, fmt.Errorf("index %d: %w", pe.Index, err)
	}
	if leaf.Bundle != pe.Digest {
		return none, fmt.Errorf("%w: proof entry for %s has a leaf naming %s", tlogproof.ErrLeafMismatch, pe.Digest, leaf.Bundle)
	}
	hashes, err := decodeHashes(pe.Hashes)
	if err != nil {
		return none, fmt.Errorf("index %d: %w", pe.Index, err)
	}
	if err := tlogproof.CheckInclusion(s.cp, pe.Index, tlogproof.LeafHash(leafBytes), hashes); err != nil {
		return none, fmt.Errorf("inclusion of %s at index %d: %w", pe.Digest, pe.Index, err)
	}
	return leaf, nil
}

func decodeHashes(hs []string) ([][32]byte, error) {
	if len(hs) > tlogproof.MaxProofHashes {
		return nil, fmt.Errorf("%w: %d hashes, limit %d", ErrProofs, len(hs), tlogproof.MaxProofHashes)
	}
	out := make([][32]byte, len(hs))
	for i, h := range hs {
		b, err := base64.StdEncoding.DecodeString(h)
		if err != nil || len(b) != 32 {
			return nil, fmt.Errorf("%w: hash %d is not base64 of 32 bytes", ErrProofs, i)
		}
		copy(out[i][:], b)
	}
	return out, nil
}

// checkCoverage requires a proof for every record and keyring version,
// in the stream it belongs to, and no proof for anything else. A record
// or keyring version whose leaf is missing or names another stream is left
// out of s.leaves (it has no proven position), and its streams (the one
// it belongs to and the one its leaf names) go to s.unproven. Leaves
// proven for digests that are not in the package are left out too.
func (s *pkgState) checkCoverage() {
	s.unproven = map[string]bool{}
	want := map[string]string{} // digest -> expected stream ("" = unknown)
	for i := range s.records {
		if ri := &s.records[i]; ri.Digest != "" {
			want[ri.Digest] = ri.Stream
		}
	}
	for _, d := range s.keyring.digests {
		want[d] = "keyring"
	}
	for _, d := range sortedKeys(s.leaves) {
		if _, expected := want[d]; !expected {
			s.c.failf(FailInclusion, "7", d, "proof entry for %s, which is not in the package", d)
			delete(s.leaves, d)
		}
	}
	for _, d := range sortedKeys(want) {
		if err := s.coverage(d, want[d]); err != nil {
			s.c.failf(FailInclusion, "7", d, "%v", err)
			s.unproven[want[d]] = true
			if li, found := s.leaves[d]; found {
				s.unproven[li.Leaf.Stream] = true
				delete(s.leaves, d)
			}
		} else {
			s.c.passN("7", FailInclusion)
		}
	}
}

// coverage checks the proven leaf of digest d against the stream it must
// be in ("" when the record's stream is unknown: any).
func (s *pkgState) coverage(d, stream string) error {
	li, found := s.leaves[d]
	switch {
	case !found:
		return fmt.Errorf("no inclusion proof for %s", d)
	case stream != "" && li.Leaf.Stream != stream:
		return fmt.Errorf("leaf puts %s in stream %s, it belongs to %s", d, li.Leaf.Stream, stream)
	case stream == "keyring":
		// "`keyring` for keyring versions (with seq = version − 1)" (Q15).
		if v := slices.Index(s.keyring.digests, d); li.Leaf.Seq != uint64(v) {
			return fmt.Errorf("keyring version %d is logged with seq %d, want %d", v+1, li.Leaf.Seq, v)
		}
	}
	return nil
}

// positionsProven reports whether every record and keyring version of
// the package has a proven log position.
func (s *pkgState) positionsProven() bool { return len(s.unproven) == 0 }

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func expectDelim(dec *json.Decoder, d json.Delim) error {
	t, err := dec.Token()
	if err != nil || t != d {
		return fmt.Errorf("%w: want %q, got %v (%v)", ErrProofs, d, t, err)
	}
	return nil
}

func expectKey(dec *json.Decoder, k string) error {
	t, err := dec.Token()
	if err != nil || t != k {
		return fmt.Errorf("%w: want member %q, got %v (%v)", ErrProofs, k, t, err)
	}
	return nil
}
