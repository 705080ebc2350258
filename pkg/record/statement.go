package record

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/dossier-audit/dossier/pkg/internal/strictjson"
)

// Statement profile limits.
const (
	// StatementType is the only accepted in-toto statement _type.
	StatementType = "https://in-toto.io/Statement/v1"
	// MaxSubjects is the most subjects a statement may have; sigstore-go
	// refuses more.
	MaxSubjects = 1024
	// MaxStatementBytes bounds a statement (and a predicate alone).
	MaxStatementBytes = 4 << 20
)

// Statement is an in-toto Statement v1 as Dossier profiles it: 1..1024
// named subjects with sha256 digests, a known Dossier predicate type, and a
// predicate object valid for that type. Predicate holds the predicate bytes
// exactly as they appear in the statement.
type Statement struct {
	Type          string               `json:"_type"`
	Subject       []ResourceDescriptor `json:"subject"`
	PredicateType string               `json:"predicateType"`
	// Predicate is checked strictly by the predicate's own parse, so the
	// statement pass only checks that it is well-formed.
	Predicate json.RawMessage `json:"predicate" strictjson:"shallow"`

	parsed Predicate
}

// Parsed returns the typed predicate (*Dataset, *TrainingRun, ...) of a
// statement returned by ParseStatement; nil otherwise.
func (s *Statement) Parsed() Predicate { return s.parsed }

// Kind returns the statement's record kind.
func (s *Statement) Kind() (Kind, bool) { return KindOf(s.PredicateType) }

// ParseStatement strictly decodes and validates a statement: the profile
// above, the predicate against its type (paths start with "predicate."),
// and subject[0] against the predicate (see SubjectRule). It reports every
// problem it finds, joined.
func ParseStatement(b []byte) (*Statement, error) {
	var s Statement
	limits := strictjson.Limits{MaxBytes: MaxStatementBytes, RequireFields: true, RejectNull: true}
	if err := strictjson.Decode(b, &s, limits); err != nil {
		return nil, fromStrict("", err)
	}
	if err := s.validate(); err != nil {
		return nil, err
	}
	return &s, nil
}

func (s *Statement) validate() error {
	c := &checker{}
	if s.Type != StatementType {
		c.add("_type", ErrStatementType, "%q, want %q", s.Type, StatementType)
	}
	switch n := len(s.Subject); {
	case n == 0:
		c.add("subject", ErrNoSubject, "")
	case n > MaxSubjects:
		c.add("subject", ErrTooManySubjects, "%d subjects, limit %d", n, MaxSubjects)
	}
	for i := range min(len(s.Subject), MaxSubjects) {
		c.rd(index("subject", i), &s.Subject[i], true)
	}
	k, ok := KindOf(s.PredicateType)
	if !ok {
		c.add("predicateType", ErrUnknownPredicateType, "%q", s.PredicateType)
		return c.err()
	}
	p, err := k.parse(s.Predicate)
	if err != nil {
		c.errs = append(c.errs, prefixed("predicate", err))
		return c.err()
	}
	s.parsed = p
	if len(s.Subject) > 0 {
		c.subjectRule(k, s.Subject[0], s.Predicate, p)
	}
	if k.extra != nil && len(s.Subject) > 0 && len(s.Subject) <= MaxSubjects {
		c.extraSubjects(s.Subject[1:], k.extra(p))
	}
	return c.err()
}

// extraSubjects checks subject[1..] against the subjects the predicate
// requires, in order and nothing else.
func (c *checker) extraSubjects(got, want []ResourceDescriptor) {
	if len(got) != len(want) {
		c.add("subject", ErrSubjectMismatch, "%d subjects, want %d (subject[0] and one per predicate entry)", len(got)+1, len(want)+1)
	}
	for i := range min(len(got), len(want)) {
		p := index("subject", i+1)
		if got[i].Name != want[i].Name {
			c.add(p+".name", ErrSubjectMismatch, "%q, want %q", got[i].Name, want[i].Name)
		}
		if got[i].SHA256() != want[i].SHA256() {
			c.add(p+".digest.sha256", ErrSubjectMismatch, "%s, want %s (derived from the predicate)", got[i].SHA256(), want[i].SHA256())
		}
	}
}

// subjectRule checks subject[0]: the run root for run-scoped kinds, the
// subject derived from the predicate for the others.
func (c *checker) subjectRule(k Kind, got ResourceDescriptor, raw []byte, p Predicate) {
	if k.RunScoped {
		if want := "run:" + p.CommonFields().RunID; got.Name != want {
			c.add("subject[0].name", ErrSubjectMismatch, "%q, want %q (the run root of predicate.runId)", got.Name, want)
		}
		if k.runCheck != nil {
			k.runCheck(c, got, p)
		}
		return
	}
	want, err := k.subject(raw, p)
	if err != nil {
		c.errs = append(c.errs, prefixed("predicate", err))
		return
	}
	if got.Name != want.Name {
		c.add("subject[0].name", ErrSubjectMismatch, "%q, want %q", got.Name, want.Name)
	}
	if got.SHA256() != want.SHA256() {
		c.add("subject[0].digest.sha256", ErrSubjectMismatch, "%s, want %s (derived from the predicate)", got.SHA256(), want.SHA256())
	}
}

// RunSubject returns the subject of run-scoped records: the run root
// "run:<runID>" with the run root manifest digest ("sha256:<hex>" or bare
// hex).
func RunSubject(runID, rootDigest string) ResourceDescriptor {
	return ResourceDescriptor{
		Name:   "run:" + runID,
		Digest: map[string]string{"sha256": strings.TrimPrefix(rootDigest, "sha256:")},
	}
}

// DerivedSubject returns subject[0] of a record whose kind is not
// run-scoped, computed from its predicate (see each kind's spec page). For
// run-scoped kinds it returns ErrRunScoped: use RunSubject.
func DerivedSubject(predicateType string, predicate []byte) (ResourceDescriptor, error) {
	k, ok := KindOf(predicateType)
	if !ok {
		return ResourceDescriptor{}, fieldErr("", ErrUnknownPredicateType, "%q", predicateType)
	}
	if k.RunScoped {
		return ResourceDescriptor{}, fieldErr("", ErrRunScoped, "%s: subject is the run root", k.Name)
	}
	p, err := k.parse(predicate)
	if err != nil {
		return ResourceDescriptor{}, err
	}
	return k.subject(predicate, p)
}

// Subjects returns the complete subject list of a statement of
// predicateType with this predicate: subject[0] is runRoot for run-scoped
// kinds (see RunSubject; nil is ErrRunScoped) or the subject derived from
// the predicate otherwise (runRoot is then ignored), followed by the
// subjects the kind requires (model-release: one per weights entry). The
// predicate is validated first.
func Subjects(predicateType string, predicate []byte, runRoot *ResourceDescriptor) ([]ResourceDescriptor, error) {
	k, ok := KindOf(predicateType)
	if !ok {
		return nil, fieldErr("", ErrUnknownPredicateType, "%q", predicateType)
	}
	p, err := k.parse(predicate)
	if err != nil {
		return nil, err
	}
	var first ResourceDescriptor
	switch {
	case k.RunScoped && runRoot == nil:
		return nil, fieldErr("", ErrRunScoped, "%s: subject[0] is the run root, none given", k.Name)
	case k.RunScoped:
		first = *runRoot
	default:
		if first, err = k.subject(predicate, p); err != nil {
			return nil, err
		}
	}
	out := []ResourceDescriptor{first}
	if k.extra != nil {
		out = append(out, k.extra(p)...)
	}
	return out, nil
}

// NewStatement validates predicate as predicateType and returns the
// statement with these subjects (see Subjects), as deterministic compact
// JSON: keys in the order _type, subject, predicateType, predicate; the
// subjects' maps with sorted keys; the predicate bytes compacted, otherwise
// as given. The result passes ParseStatement.
func NewStatement(subjects []ResourceDescriptor, predicateType string, predicate []byte) ([]byte, error) {
	if _, err := ParsePredicate(predicateType, predicate); err != nil {
		return nil, err
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, predicate); err != nil {
		return nil, fieldErr("", ErrSyntax, "%v", err)
	}
	s := Statement{Type: StatementType, Subject: subjects,
		PredicateType: predicateType, Predicate: compact.Bytes()}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&s); err != nil {
		return nil, fieldErr("subject", ErrType, "%v", err)
	}
	b := bytes.TrimSuffix(out.Bytes(), []byte("\n"))
	if _, err := ParseStatement(b); err != nil {
		return nil, err
	}
	return b, nil
}
