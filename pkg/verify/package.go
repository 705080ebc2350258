package verify

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/dossier-audit/dossier/pkg/tlog/tlogproof"
)

// PackageOptions are the auditor's trust inputs to VerifyPackage.
type PackageOptions struct {
	// RootFingerprint is the pinned keyring root: "SHA256:<64 lowercase
	// hex>" of the keyring version 1 document. Required.
	RootFingerprint string
	// Policy replaces the policy the package proposes; nil uses the
	// package's policy.json (reported as such in Summary.PolicySource).
	Policy *Policy
	// TrustedHead is a signed checkpoint note the auditor kept from an
	// earlier verification; the package must extend it. Optional.
	TrustedHead []byte
	// At is the auditor's time of verification; a package created after
	// it is rejected. Zero skips that check (and says so).
	At time.Time
	// Workers bounds the signature-verification pool; 0 means GOMAXPROCS.
	Workers int
}

// ErrUsage is returned by VerifyPackage's option check: the caller's
// inputs are malformed, nothing was verified.
var ErrUsage = errors.New("invalid verification options")

// pkgState carries what one verification has learned so far. Steps read
// what earlier steps stored and mark their own results in c.
type pkgState struct {
	r    io.ReaderAt
	opts PackageOptions
	c    *collector

	tar       *tarIndex
	top       *manifest
	manifests map[string]*manifest
	preloaded map[string]*manifest // parsed in parallel before the walk
	refs      map[string]bool

	pkgIndex    descriptor
	attest      descriptor
	meta        *metadata
	attestation *packagePredicate
	roots       []runRoot
	recordDigs  []string // record manifest digests, index.json order

	keyring *keyringState
	policy  *Policy
	profile profile // the rules of the package's specVersion (SPEC.md §11)

	records []recordInfo // verified record facts, index.json order
	logVer  note.Verifier
	cp      *tlogproof.Checkpoint
	leaves  map[string]leafInfo // by bundle/envelope digest: the proven leaves of the package's records and keyring versions
	// unproven holds the streams with a record or keyring version that has
	// no proven leaf in its stream (step 7); "" when such a record's
	// stream is unknown. Checks that need those positions are not-checked
	// (SPEC.md §5 "Reporting").
	unproven  map[string]bool
	maxLeaves int // bound on proof entries (0: none)
	readErr   error
	// untraceableAccepted: the policy accepted untraceable time evidence.
	untraceableAccepted bool
}

// VerifyPackage verifies the compliance package in r (size bytes) against
// the auditor's trust inputs, following spec/package.md §4. It never
// extracts, never dials and never reads the clock. Every applicable check
// runs and is reported in the Result; a failed step marks the checks that
// depend on it not-checked. Read errors give an inconclusive result; an
// options error is returned as a rejection-free inconclusive result whose
// failure names ErrUsage (use CheckOptions first to tell usage apart).
func VerifyPackage(r io.ReaderAt, size int64, opts PackageOptions) *Result {
	s := &pkgState{r: r, opts: opts, c: newCollector(), manifests: map[string]*manifest{}, refs: map[string]bool{}, profile: newest}
	if opts.Workers <= 0 {
		s.opts.Workers = runtime.GOMAXPROCS(0)
	}
	if err := CheckOptions(opts); err != nil {
		return s.c.result(err)
	}
	if !opts.At.IsZero() {
		s.c.res.Summary.At = opts.At.UTC().Format(time.RFC3339)
	}
	return s.c.result(s.run(size))
}

// CheckOptions validates the trust inputs (a usage error, exit 2).
func CheckOptions(opts PackageOptions) error {
	if !validRootFingerprint(opts.RootFingerprint) {
		return fmt.Errorf("%w: root fingerprint %q is not SHA256:<64 lowercase hex>", ErrUsage, opts.RootFingerprint)
	}
	if opts.Policy != nil {
		if err := opts.Policy.Validate(); err != nil {
			return fmt.Errorf("%w: %w", ErrUsage, err)
		}
	}
	return nil
}

// run executes the steps in order; it returns only read errors.
func (s *pkgState) run(size int64) (ioErr error) {
	defer func() {
		if p := recover(); p != nil {
			ioErr = fmt.Errorf("internal error: %v", p)
		}
	}()
	defer s.summarize()
	if !s.stepTar(size) {
		return s.ioErr()
	}
	layoutOK := s.checkLayout()
	indexOK := layoutOK && s.checkIndex()
	if !indexOK {
		s.skipFrom(4, "the package structure did not verify")
		return s.ioErr()
	}
	s.dropIndexes()
	keyringOK := s.checkKeyring()
	if !keyringOK {
		s.skipFrom(5, "the keyring did not verify against the pinned fingerprint")
		return s.ioErr()
	}
	s.choosePolicy()
	s.checkPackageSignature()
	proofs := s.startLog() // proofs.json is read while records verify
	s.checkRecords()
	s.checkReviews()
	s.dropRecordManifests()
	logOK := s.finishLog(proofs)
	if logOK {
		s.checkAnchors()
		s.checkSequence()
		s.checkTime()
		s.checkExport()
	} else {
		s.skip("8", FailSequence, "the checkpoint did not verify")
		s.skip("9", FailTime, "the checkpoint did not verify")
		s.skip("10", FailExport, "the checkpoint did not verify")
	}
	s.checkPolicy(logOK)
	s.checkConsistency(logOK)
	return s.ioErr()
}

// dropIndexes frees index.json and the package index once step 3 has
// compared them: with 10^5 records they are the largest parsed documents.
func (s *pkgState) dropIndexes() {
	s.top = nil
	s.refs = nil
	delete(s.manifests, s.pkgIndex.Digest)
}

// dropRecordManifests frees the record manifests once step 6 is done;
// later steps use recordInfo only.
func (s *pkgState) dropRecordManifests() {
	for _, d := range s.recordDigs {
		delete(s.manifests, d)
	}
}

// stepTar runs step 1 and records its check.
func (s *pkgState) stepTar(size int64) bool {
	t, err := readTar(s.r, size)
	if err != nil {
		var ie *ioError
		if errors.As(err, &ie) {
			s.readErr = ie
			return false
		}
		s.c.fail(fail(FailTar, "1", err), "")
		s.skipFrom(2, "the package tar is not canonical")
		return false
	}
	s.tar = t
	s.c.pass("1", FailTar, "", fmt.Sprintf("canonical USTAR archive, %d entries", len(t.entries)))
	return true
}

func (s *pkgState) ioErr() error {
	if s.readErr != nil {
		return s.readErr
	}
	return nil
}

func (s *pkgState) skip(step string, class Failure, reason string) { s.c.skip(step, class, reason) }

// skipFrom marks every step from n on not-checked.
func (s *pkgState) skipFrom(n int, reason string) {
	for _, st := range allSteps {
		if leadingInt(st.step) >= n {
			s.skip(st.step, st.class, reason)
		}
	}
}

var allSteps = []struct {
	step  string
	class Failure
}{
	{"2", FailLayout}, {"3", FailIndex}, {"4", FailKeyring}, {"5", FailPackageSignature},
	{"6", FailSignature}, {"7", FailCheckpoint}, {"7", FailInclusion}, {"8", FailSequence},
	{"9", FailTime}, {"10", FailExport}, {"11", FailPolicy}, {"12", FailConsistency},
}

func validRootFingerprint(s string) bool {
	const p = "SHA256:"
	return len(s) == len(p)+64 && s[:len(p)] == p && isHex64(s[len(p):])
}
