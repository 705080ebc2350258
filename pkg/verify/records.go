package verify

import (
	"crypto"
	"fmt"

	"github.com/dossier-audit/dossier/pkg/bundle"
	"github.com/dossier-audit/dossier/pkg/dsse"
	"github.com/dossier-audit/dossier/pkg/keyring"
	"github.com/dossier-audit/dossier/pkg/record"
)

// recordInfo is what later steps need from one verified record; the
// bundle itself is dropped once checked.
type recordInfo struct {
	Manifest     string
	Digest       string // bundle digest: the record's identity
	Kind         string
	RunID        string
	KeyID        string
	Stream       string // expected log stream ("" when not known)
	ProducedAt   string
	TimeEvidence string // digest named by the predicate's timeEvidence
	Verdict      string // time-evidence records only
	View         string // approvals: the rendered view (review document) digest
	Export       *record.Export
	// Pred is the parsed predicate, kept only when a v2 policy's rules
	// need it in step 11.
	Pred record.Predicate
	Errs []*Error
}

// rolesFor lists the keyring roles allowed to sign a record kind
// (spec/package.md §4 step 6).
func rolesFor(kind string) []string {
	switch kind {
	case "time-evidence":
		return []string{keyring.RoleTime}
	case "export", "export-sealed", "package":
		return []string{keyring.RoleExporter}
	case "approval":
		return []string{keyring.RoleReviewer}
	case "evaluation-plan": // validators hold the reviewer role (SPEC.md §2; since 0.3.0, see profile.rolesFor)
		return []string{keyring.RoleProducer, keyring.RoleIngest, keyring.RoleReviewer}
	}
	return []string{keyring.RoleProducer, keyring.RoleIngest}
}

// checkRecords implements spec/package.md §4 step 6:
//
//	> records — for every record manifest: SPEC.md "Verifying one record"
//	> (`envelope`, `signature`, `statement`, `predicate`, `subject`) with the
//	> key named by the hint, which MUST be in the keyring with a role allowed
//	> for the kind [...] (`key-role`); the manifest's OCI subject equals
//	> statement subject[0] (`subject`).
//
// Records are verified by a pool of s.opts.Workers goroutines, each
// holding one bundle at a time; only recordInfo is kept.
func (s *pkgState) checkRecords() {
	s.records = make([]recordInfo, len(s.recordDigs))
	parallel(len(s.recordDigs), s.opts.Workers, func(i int) { s.records[i] = s.verifyRecord(s.recordDigs[i]) })
	s.internRecords()
	s.reportRecords()
}

// internRecords shares the strings that repeat across records (kind, run,
// key, stream, time evidence), so 10^5 records hold one copy of each.
func (s *pkgState) internRecords() {
	seen := map[string]string{}
	in := func(p *string) {
		if v, ok := seen[*p]; ok {
			*p = v
		} else {
			seen[*p] = *p
		}
	}
	for i := range s.records {
		ri := &s.records[i]
		for _, p := range []*string{&ri.Kind, &ri.RunID, &ri.KeyID, &ri.Stream, &ri.TimeEvidence, &ri.ProducedAt} {
			in(p)
		}
	}
}

func (s *pkgState) reportRecords() {
	failed := 0
	for i := range s.records {
		ri := &s.records[i]
		for _, e := range ri.Errs {
			s.c.fail(e, firstNonEmpty(ri.Digest, ri.Manifest))
		}
		if len(ri.Errs) > 0 {
			failed++
			continue
		}
		for _, cl := range []Failure{FailEnvelope, FailSignature, FailKeyRole, FailStatement, FailPredicate, FailSubject} {
			s.c.passN("6", cl)
		}
	}
	if len(s.records) == 0 {
		s.c.pass("6", FailSignature, "", "the package holds no records")
	}
}

// verifyRecord runs SPEC.md "Verifying one record" on one record manifest.
func (s *pkgState) verifyRecord(mdig string) (ri recordInfo) {
	ri.Manifest = mdig
	m := s.manifests[mdig]
	layer, err := recordLayer(m)
	if err != nil {
		ri.Errs = append(ri.Errs, fail(FailLayout, "2", err))
		return ri
	}
	b, err := s.blob(layer.Digest, bundle.MaxSize)
	if err != nil {
		ri.Errs = append(ri.Errs, fail(FailEnvelope, "6", err)) // an *ioError inside makes the result inconclusive
		return ri
	}
	ri.Digest = layer.Digest
	st, e := s.verifyBundle(b, &ri)
	if e != nil {
		ri.Errs = append(ri.Errs, e)
		return ri
	}
	if e := s.checkRecordSubject(m, st, &ri); e != nil {
		ri.Errs = append(ri.Errs, e)
	}
	return ri
}

// recordLayer: "a verifier MUST check `artifactType
// application/vnd.dossier.record.v1`, exactly one layer whose media type is
// the bundle media type (class `layout`)" (spec/package.md §3, Q2).
func recordLayer(m *manifest) (descriptor, error) {
	if m == nil || m.isIndex() || m.ArtifactType != RecordArtifactType || len(m.Layers) != 1 || m.Layers[0].MediaType != BundleMediaType {
		return descriptor{}, fmt.Errorf("not a record manifest (artifactType %s, one %s layer)", RecordArtifactType, BundleMediaType)
	}
	return m.Layers[0], nil
}

// verifyBundle: envelope, key lookup, signature, statement, predicate, role.
func (s *pkgState) verifyBundle(b []byte, ri *recordInfo) (*record.Statement, *Error) {
	bun, err := bundle.Parse(b)
	if err != nil {
		return nil, bundleFailure(err).at("6")
	}
	ri.KeyID = bun.KeyHint
	if bun.KeyHint == "" {
		return nil, fail(FailSignature, "6", fmt.Errorf("record %s: %w", ri.Digest, ErrEmptyHint))
	}
	pub, e := s.keyFor(bun)
	if e != nil {
		return nil, e
	}
	if err := verifySig(pub, dsse.PAE(bun.Envelope.PayloadType, bun.Envelope.Payload), bun.Signature()); err != nil {
		return nil, fail(FailSignature, "6", fmt.Errorf("record %s, key %s: %w", ri.Digest, ri.KeyID, err))
	}
	st, err := record.ParseStatement(bun.Payload())
	if err != nil {
		return nil, statementFailure(err).at("6")
	}
	k, _ := st.Kind()
	ri.Kind = k.Name
	if roles := s.profile.rolesFor(k.Name); !s.keyring.hasRole(ri.KeyID, roles) {
		return nil, fail(FailKeyRole, "6", fmt.Errorf("%w: key %s signed a %s record, allowed roles %v (specVersion %s)", ErrRole, ri.KeyID, k.Name, roles, s.profile.version))
	}
	s.fillFacts(st, k, ri)
	return st, nil
}

// keyFor returns the keyring key named by the bundle's hint.
func (s *pkgState) keyFor(bun *bundle.Bundle) (crypto.PublicKey, *Error) {
	pub, ok := s.keyring.pubs[bun.KeyHint]
	if !ok {
		return nil, fail(FailKeyRole, "6", fmt.Errorf("%w: hint %q", ErrUnknownKey, bun.KeyHint))
	}
	return pub, nil
}

// fillFacts copies what later steps need from the statement.
func (s *pkgState) fillFacts(st *record.Statement, k record.Kind, ri *recordInfo) {
	p := st.Parsed()
	if p == nil {
		return
	}
	if s.policy != nil && s.policy.hasRules() {
		ri.Pred = p
	}
	c := p.CommonFields()
	ri.RunID, ri.ProducedAt = c.RunID, c.ProducedAt
	if c.TimeEvidence != nil {
		ri.TimeEvidence = c.TimeEvidence.Digest
	}
	switch v := p.(type) {
	case *record.TimeEvidence:
		ri.Verdict, ri.ProducedAt, ri.Stream = v.Verdict, v.CheckedAt, "time-evidence"
	case *record.Export:
		ri.Export, ri.Stream = v, "export"
	case *record.Approval:
		ri.View = v.RenderedViewDigest
	}
	if k.RunScoped {
		ri.Stream = "sha256:" + st.Subject[0].SHA256()
	}
}

// checkRecordSubject: "the manifest's OCI subject equals statement
// subject[0]", which for a run-scoped record is a run root of the package
// named run:<runId>; log-scoped records have no OCI subject.
func (s *pkgState) checkRecordSubject(m *manifest, st *record.Statement, ri *recordInfo) *Error {
	k, _ := st.Kind()
	if !k.RunScoped {
		if m.Subject != nil {
			return fail(FailSubject, "6", fmt.Errorf("log-scoped %s record has an OCI subject %s", k.Name, m.Subject.Digest))
		}
		return nil
	}
	got := "sha256:" + st.Subject[0].SHA256()
	if m.Subject == nil || m.Subject.Digest != got {
		return fail(FailSubject, "6", fmt.Errorf("statement subject[0] is %s, manifest subject is %v", got, subjectDigest(m)))
	}
	for _, rr := range s.roots {
		if rr.Digest == got {
			if st.Subject[0].Name != "run:"+ri.RunID || rr.RunID != ri.RunID {
				return fail(FailSubject, "6", fmt.Errorf("record of run %q (subject %q) under run root of %q", ri.RunID, st.Subject[0].Name, rr.RunID))
			}
			return nil
		}
	}
	return fail(FailSubject, "6", fmt.Errorf("subject[0] %s is not a run root of this package", got))
}

func subjectDigest(m *manifest) string {
	if m.Subject == nil {
		return "none"
	}
	return m.Subject.Digest
}

// at returns e re-stepped: VerifyRecord's step numbers are those of
// "Verifying one record"; inside a package the step is §4's.
func (e *Error) at(step string) *Error {
	return &Error{Class: e.Class, Step: step, Err: e.Err}
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
