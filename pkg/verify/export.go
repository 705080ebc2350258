package verify

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"

	"github.com/dossier-audit/dossier/pkg/internal/strictjson"
	"github.com/dossier-audit/dossier/pkg/tlog/tlogproof"
)

// checkExport implements spec/package.md §4 step 10:
//
//	> `export` — the export record is in the log and its `recordListDigest`
//	> and `recordCount` match the package contents; the metadata's
//	> `exportRecord` names it.
//
// The package attestation's predicate must agree with the metadata and
// the checkpoint too.
func (s *pkgState) checkExport() {
	cfg := &s.meta.Config
	var ex *recordInfo
	for i := range s.records {
		if s.records[i].Digest == cfg.ExportRecord {
			ex = &s.records[i]
		}
	}
	if ex == nil || ex.Kind != "export" || ex.Export == nil || len(ex.Errs) > 0 {
		s.c.failf(FailExport, "10", cfg.ExportRecord, "the metadata's exportRecord %s is not a verified export record of the package", cfg.ExportRecord)
		return
	}
	if _, logged := s.leaves[ex.Digest]; !logged {
		s.c.failf(FailExport, "10", ex.Digest, "the export record %s has no inclusion proof: it is not shown to be in the log", ex.Digest)
		return
	}
	digest, count := s.recordList(ex.Digest)
	for _, m := range []struct {
		what      string
		got, want any
	}{
		{"export record recordListDigest", ex.Export.RecordListDigest, digest},
		{"export record recordCount", ex.Export.RecordCount, count},
		{"metadata recordListDigest", cfg.RecordListDigest, digest},
		{"metadata recordCount", cfg.RecordCount, count},
	} {
		if m.got != m.want {
			s.c.failf(FailExport, "10", ex.Digest, "%s is %v, the package contents give %v", m.what, m.got, m.want)
			return
		}
	}
	s.c.pass("10", FailExport, ex.Digest, fmt.Sprintf("the export record is logged and lists exactly the %d records of the package", count))
	if s.attestation == nil { // step 5 failed: nothing verified to compare (SPEC.md Appendix A, P35)
		s.skip("10", FailExport, "the package attestation's exportRecord, record list and checkpoint: the attestation did not verify (step 5)")
		return
	}
	if err := s.checkAttestationAgrees(ex.Digest, digest, count); err != nil {
		s.c.failf(FailExport, "10", s.attest.Digest, "%v", err)
	}
}

// recordList is the SHA-256 over the sorted "<digest>\n" of every record
// bundle except the export record, and their number.
func (s *pkgState) recordList(exportDigest string) (string, int) {
	ds := make([]string, 0, len(s.records))
	for i := range s.records {
		if d := s.records[i].Digest; d != "" && d != exportDigest {
			ds = append(ds, d)
		}
	}
	sort.Strings(ds)
	h := sha256.New()
	for _, d := range ds {
		h.Write([]byte(d + "\n"))
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), len(ds)
}

func (s *pkgState) checkAttestationAgrees(exportDigest, digest string, count int) error {
	p := s.attestation
	root := base64.StdEncoding.EncodeToString(s.cp.Root[:])
	if p.ExportRecord != exportDigest || p.RecordListDigest != digest || p.RecordCount != count ||
		p.Checkpoint.Size != s.cp.Size || p.Checkpoint.RootHash != root {
		return fmt.Errorf("the package attestation names export %s, list %s (%d), checkpoint %d/%s; the package has %s, %s (%d), %d/%s",
			p.ExportRecord, p.RecordListDigest, p.RecordCount, p.Checkpoint.Size, p.Checkpoint.RootHash,
			exportDigest, digest, count, s.cp.Size, root)
	}
	return nil
}

// ledger is ledger.json: earlier export heads with consistency proofs.
type ledger struct {
	Heads []ledgerHead `json:"heads"`
}

type ledgerHead struct {
	Export      string   `json:"export"`
	Package     string   `json:"package"`
	Size        uint64   `json:"size"`
	RootHash    string   `json:"rootHash"`
	Consistency []string `json:"consistency"`
}

// checkConsistency implements spec/package.md §4 step 12:
//
//	> `consistency` — every ledger head is consistent with the checkpoint;
//	> with `--trusted-head`, the auditor's checkpoint is consistent with (not
//	> larger than, same root at equal size) the package checkpoint.
func (s *pkgState) checkConsistency(logOK bool) {
	if !logOK {
		s.skip("12", FailConsistency, "the checkpoint did not verify")
		return
	}
	heads, ok := s.checkLedger()
	if len(s.opts.TrustedHead) == 0 {
		s.c.res.Summary.NotChecked = append(s.c.res.Summary.NotChecked, "consistency with an auditor's earlier checkpoint (no --trusted-head given)")
		return
	}
	if ok {
		s.checkTrustedHead(heads)
	} else {
		s.skip("12", FailConsistency, "the ledger did not verify")
	}
}

// checkLedger verifies every ledger head's consistency proof.
func (s *pkgState) checkLedger() ([]ledgerHead, bool) {
	if s.meta.Ledger.Digest == "" {
		s.c.failf(FailConsistency, "12", "ledger.json", "the package has no ledger")
		return nil, false
	}
	var l ledger
	b, err := s.blob(s.meta.Ledger.Digest, maxMetaBlob)
	if err == nil {
		err = strictjson.Decode(b, &l, strictjson.Limits{MaxBytes: maxMetaBlob, MaxDepth: 8, RequireFields: true})
	}
	if err != nil {
		s.c.failf(FailConsistency, "12", s.meta.Ledger.Digest, "ledger.json: %v", err)
		return nil, false
	}
	ok := true
	for i, h := range l.Heads {
		// "sizes strictly increasing and each smaller than the checkpoint size" (Q7).
		if i > 0 && h.Size <= l.Heads[i-1].Size {
			s.c.failf(FailConsistency, "12", h.Export, "ledger head %d has size %d, not larger than the head before (%d)", i, h.Size, l.Heads[i-1].Size)
			ok = false
		}
		if err := s.checkHead(h); err != nil {
			s.c.failf(FailConsistency, "12", h.Export, "ledger head of size %d: %v", h.Size, err)
			ok = false
		}
	}
	if ok {
		s.c.pass("12", FailConsistency, s.meta.Ledger.Digest, fmt.Sprintf("%d earlier export heads are consistent with the checkpoint", len(l.Heads)))
	}
	return l.Heads, ok
}

func (s *pkgState) checkHead(h ledgerHead) error {
	root, err := base64.StdEncoding.DecodeString(h.RootHash)
	if err != nil || len(root) != 32 {
		return errors.New("rootHash is not base64 of 32 bytes")
	}
	hashes, err := decodeHashes(h.Consistency)
	if err != nil {
		return err
	}
	old := &tlogproof.Checkpoint{Origin: s.cp.Origin, Size: h.Size}
	copy(old.Root[:], root)
	if h.Size >= s.cp.Size {
		return fmt.Errorf("%w: head of size %d is not smaller than the checkpoint (%d)", tlogproof.ErrSmallerTree, h.Size, s.cp.Size)
	}
	return tlogproof.CheckConsistency(old, s.cp, hashes)
}

// checkTrustedHead: the auditor's checkpoint, signed by the log key, is
// not larger than the package's, has the same root at equal size, and at a
// smaller size equals a ledger head (whose proof was checked); a smaller
// head the package has no proof for is a rejection (fail closed).
func (s *pkgState) checkTrustedHead(heads []ledgerHead) {
	th, err := tlogproof.VerifyCheckpoint(s.opts.TrustedHead, s.logVer)
	if err != nil {
		s.c.failf(FailConsistency, "12", "trusted-head", "the trusted head does not verify with the log key: %v", err)
		return
	}
	root := base64.StdEncoding.EncodeToString(th.Root[:])
	switch {
	case th.Size > s.cp.Size:
		s.c.failf(FailConsistency, "12", "trusted-head", "rollback: the trusted head has size %d, the package checkpoint %d", th.Size, s.cp.Size)
	case th.Size == s.cp.Size && th.Root != s.cp.Root:
		s.c.failf(FailConsistency, "12", "trusted-head", "fork: the trusted head and the package checkpoint differ at size %d", th.Size)
	case th.Size == s.cp.Size:
		s.c.pass("12", FailConsistency, "trusted-head", "the trusted head equals the package checkpoint")
	default:
		for _, h := range heads {
			if h.Size == th.Size && h.RootHash == root {
				s.c.pass("12", FailConsistency, "trusted-head", fmt.Sprintf("the trusted head (size %d) is a ledger head consistent with the checkpoint", th.Size))
				return
			}
			if h.Size == th.Size {
				s.c.failf(FailConsistency, "12", "trusted-head", "fork: the trusted head and ledger head differ at size %d", th.Size)
				return
			}
		}
		// Unprovable is not consistent: fail closed.
		s.c.failf(FailConsistency, "12", "trusted-head", "the package carries no consistency proof from the trusted head (size %d) to its checkpoint (size %d): it is not shown to extend it", th.Size, s.cp.Size)
	}
}
