package verify

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// checkSequence implements spec/package.md §4 step 8:
//
//	> `sequence` — per stream, the leaves sorted by seq are contiguous from 0
//	> with matching prev links; a gap is a rejection (records of a run
//	> withheld).
//
// Run streams (sha256:<run root>) and the keyring stream are complete in a
// package, so they must be contiguous from 0. The log-scoped streams
// time-evidence and export are shared by every export and run, so a
// package holds a subset: there only the prev links between neighbours
// present are checked, and the summary says so.
func (s *pkgState) checkSequence() {
	streams := map[string][]leafInfo{}
	for _, li := range s.leaves {
		streams[li.Leaf.Stream] = append(streams[li.Leaf.Stream], li)
	}
	for _, name := range sortedKeys(streams) {
		ls := streams[name]
		sort.Slice(ls, func(i, j int) bool { return ls[i].Leaf.Seq < ls[j].Leaf.Seq })
		complete := strings.HasPrefix(name, "sha256:") || name == "keyring"
		switch {
		case complete && (s.unproven[name] || s.unproven[""]):
			// A record of it has no proven leaf (step 7): the gap it
			// leaves is not evidence of records withheld.
			s.c.skipSubject("8", FailSequence, name, "a record of this stream has no proven leaf (step 7)")
		default:
			if err := checkStream(ls, complete); err != nil {
				s.c.failf(FailSequence, "8", name, "stream %s: %v", name, err)
			} else {
				s.c.passN("8", FailSequence)
			}
		}
	}
	if !s.positionsProven() {
		return // a run's only records may be the unproven ones
	}
	for _, rr := range s.roots {
		if _, any := streams[rr.Digest]; !any {
			s.c.failf(FailSequence, "8", rr.Digest, "run %q has no logged records", rr.RunID)
		}
	}
}

// checkStream checks one stream's leaves sorted by seq.
func checkStream(ls []leafInfo, complete bool) error {
	for i, li := range ls {
		if i > 0 && li.Leaf.Seq == ls[i-1].Leaf.Seq {
			return fmt.Errorf("seq %d appears twice", li.Leaf.Seq)
		}
		if complete && li.Leaf.Seq != uint64(i) {
			return fmt.Errorf("gap: seq %d missing (next present is %d): records withheld", i, li.Leaf.Seq)
		}
		adjacent := i > 0 && ls[i-1].Leaf.Seq+1 == li.Leaf.Seq
		if adjacent && li.Leaf.Prev != ls[i-1].Leaf.Bundle {
			return fmt.Errorf("seq %d has prev %s, seq %d is %s", li.Leaf.Seq, li.Leaf.Prev, li.Leaf.Seq-1, ls[i-1].Leaf.Bundle)
		}
	}
	return nil
}

// checkTime implements spec/package.md §4 step 9:
//
//	> `time` — each time-evidence record's verdict is accepted by the policy
//	> (untraceable is its own result class `time-untraceable`); each
//	> record's key was valid at its log position (`key-validity`); a
//	> record's `timeEvidence` reference names a time-evidence record in the
//	> package logged before it.
//
// Also: a record's producedAt is not earlier than the checkedAt of the
// evidence it cites by more than the policy's maxProducerSkewSeconds, and
// with an auditor time (--at) the package was not created after it.
func (s *pkgState) checkTime() {
	byDigest := map[string]*recordInfo{}
	for i := range s.records {
		byDigest[s.records[i].Digest] = &s.records[i]
	}
	versionIndex := s.keyringIndices()
	for i := range s.records {
		ri := &s.records[i]
		if len(ri.Errs) > 0 {
			continue
		}
		s.checkVerdict(ri)
		s.checkKeyValidity(ri, versionIndex)
		s.checkEvidenceRef(ri, byDigest)
	}
	s.checkAt()
}

func (s *pkgState) checkVerdict(ri *recordInfo) {
	if ri.Kind != "time-evidence" {
		return
	}
	s.c.res.Summary.TimeVerdicts[ri.Verdict]++
	switch {
	case s.policy == nil:
		s.c.failf(FailTime, "9", ri.Digest, "no valid policy to judge time verdict %q", ri.Verdict)
	case ri.Verdict == "untraceable" && s.policy.Time.AcceptUntraceable:
		s.untraceableAccepted = true
		s.c.passN("9", FailTime)
	case ri.Verdict == "untraceable":
		s.c.failf(FailTimeUntraceable, "9", ri.Digest, "time evidence is untraceable to UTC and the policy does not accept untraceable time")
	case ri.Verdict != "untraceable" && !contains(s.policy.Time.Accept, ri.Verdict):
		s.c.failf(FailTime, "9", ri.Digest, "time verdict %q, the policy accepts %v", ri.Verdict, s.policy.Time.Accept)
	default:
		s.c.passN("9", FailTime)
	}
}

func (s *pkgState) checkKeyValidity(ri *recordInfo, versionIndex []uint64) {
	li, logged := s.leaves[ri.Digest]
	if !logged || s.unproven["keyring"] {
		s.c.skipSubject("9", FailKeyValidity, ri.Digest, "the log position of the record or of a keyring version is not proven (step 7)")
		return
	}
	var err error
	for _, role := range s.profile.rolesFor(ri.Kind) {
		if err = s.keyring.chain.KeyValidAt(ri.KeyID, role, li.Index, versionIndex); err == nil {
			s.c.passN("9", FailKeyValidity)
			return
		}
	}
	s.c.failf(FailKeyValidity, "9", ri.Digest, "key %s at log index %d: %v", ri.KeyID, li.Index, err)
}

func (s *pkgState) checkEvidenceRef(ri *recordInfo, byDigest map[string]*recordInfo) {
	if ri.TimeEvidence == "" {
		return
	}
	te, ok := byDigest[ri.TimeEvidence]
	own, ownOK := s.leaves[ri.Digest]
	te1, teOK := s.leaves[ri.TimeEvidence]
	switch {
	case !ok || te.Kind != "time-evidence" || len(te.Errs) > 0:
		s.c.failf(FailTime, "9", ri.Digest, "timeEvidence %s is not a verified time-evidence record of the package", ri.TimeEvidence)
	case !ownOK || !teOK:
		s.c.skipSubject("9", FailTime, ri.Digest, "the log position of the record or of the time evidence it cites is not proven (step 7)")
	case te1.Index >= own.Index:
		s.c.failf(FailTime, "9", ri.Digest, "timeEvidence %s is logged at %d, after the record (%d)", ri.TimeEvidence, te1.Index, own.Index)
	default:
		s.checkSkew(ri, te)
	}
}

// checkSkew: producedAt no earlier than the cited evidence's checkedAt
// minus the policy's skew.
func (s *pkgState) checkSkew(ri, te *recordInfo) {
	p, err1 := time.Parse(time.RFC3339Nano, ri.ProducedAt)
	c, err2 := time.Parse(time.RFC3339Nano, te.ProducedAt)
	if err1 != nil || err2 != nil || s.policy == nil {
		s.c.passN("9", FailTime)
		return
	}
	skew := time.Duration(s.policy.Time.MaxProducerSkewSeconds) * time.Second
	if p.Before(c.Add(-skew)) {
		s.c.failf(FailTime, "9", ri.Digest, "producedAt %s is before the time evidence it cites (%s) by more than %s", ri.ProducedAt, te.ProducedAt, skew)
		return
	}
	s.c.passN("9", FailTime)
}

// checkAt: with the auditor's time, the package was not created after it.
func (s *pkgState) checkAt() {
	if s.opts.At.IsZero() {
		return
	}
	created, err := time.Parse(time.RFC3339Nano, s.meta.Config.Created)
	if err != nil || created.After(s.opts.At) {
		s.c.failf(FailTime, "9", s.meta.Digest, "package created %q, after the verification time %s", s.meta.Config.Created, s.opts.At.UTC().Format(time.RFC3339))
		return
	}
	s.c.pass("9", FailTime, s.meta.Digest, "package created before the verification time")
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
