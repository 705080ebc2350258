package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/dossier-audit/dossier/cmd/internal/cli"
	"github.com/dossier-audit/dossier/pkg/bundle"
	"github.com/dossier-audit/dossier/pkg/record"
	"github.com/dossier-audit/dossier/pkg/verify"
)

// 'record verify' also verifies Sigstore bundles whose in-toto statement
// carries a predicate type outside Dossier's namespace (the SLSA provenance
// of a release, for one): the bundle profile, key and signature exactly as
// for a record (SPEC.md §4 steps 1-5, verify.VerifyRecord), then the
// in-toto v1 statement envelope, the predicate type asked for and the
// subjects asked for. The predicate itself is not interpreted: it is not a
// Dossier record, so no Dossier schema applies to it.
//
// 'record verify-foreign' is the old name, kept as an alias.
func init() {
	commands.Register(&cli.Command{Name: "record verify-foreign", Summary: "alias of 'record verify' (which verifies non-Dossier predicate types too)", Run: recordVerifyForeign})
}

func recordVerifyForeign(env *cli.Env, args []string) error {
	env.Warnf("'record verify-foreign' is an alias of 'record verify' and will be removed; use 'record verify'")
	return recordVerify(env, args)
}

// dossierTypePrefix is the namespace of Dossier's predicate types. A
// statement in it is a Dossier record (or one this version does not know,
// which is rejected, never verified as foreign).
const dossierTypePrefix = "https://dossier.dev/"

// errForeignStatement is a non-Dossier statement that is not a well-formed
// in-toto v1 statement.
var errForeignStatement = errors.New("not an in-toto v1 statement")

// foreignStatement is an in-toto Statement v1 with any predicate.
type foreignStatement struct {
	Type          string           `json:"_type"`
	Subject       []foreignSubject `json:"subject"`
	PredicateType string           `json:"predicateType"`
	Predicate     json.RawMessage  `json:"predicate"`
}

// foreignSubject is an in-toto v1 ResourceDescriptor (every field).
type foreignSubject struct {
	Name             string                     `json:"name"`
	URI              string                     `json:"uri"`
	Digest           map[string]string          `json:"digest"`
	Content          string                     `json:"content"`
	DownloadLocation string                     `json:"downloadLocation"`
	MediaType        string                     `json:"mediaType"`
	Annotations      map[string]json.RawMessage `json:"annotations"`
}

// foreignType returns the predicate type of bundle b's statement when it
// is outside Dossier's namespace. It only routes: nothing is trusted before
// the signature is verified.
func foreignType(b []byte) (string, bool) {
	bun, err := bundle.Parse(b)
	if err != nil {
		return "", false
	}
	var st struct {
		PredicateType string `json:"predicateType"`
	}
	if json.Unmarshal(bun.Payload(), &st) != nil || st.PredicateType == "" {
		return "", false
	}
	return st.PredicateType, !strings.HasPrefix(st.PredicateType, dossierTypePrefix)
}

// verifyForeign verifies bundle b with v as a non-Dossier statement and
// checks it against c (predicate type, no run, subjects).
func (c recordCheck) verifyForeign(b []byte, v signature.Verifier) (*checked, error) {
	bun, err := bundle.Verify(b, v)
	if err != nil {
		return nil, &verify.Error{Class: verify.FailSignature, Step: "5", Err: err}
	}
	st, err := parseForeignStatement(bun.Payload())
	if err != nil {
		return nil, &verify.Error{Class: verify.FailStatement, Step: "6", Err: err}
	}
	if want := c.wantType(); want != "" && st.PredicateType != want {
		return nil, &verify.Error{Class: verify.FailPredicate, Step: "7", Err: fmt.Errorf("predicateType %q, want %q", st.PredicateType, want)}
	}
	if c.opts.RunID != "" {
		return nil, &verify.Error{Class: verify.FailSubject, Step: "8", Err: fmt.Errorf("a %s statement is not a record of run %q", st.PredicateType, c.opts.RunID)}
	}
	digests := make([]map[string]string, len(st.Subject))
	for i, s := range st.Subject {
		digests[i] = s.Digest
	}
	matched, err := c.matchSubjects(digests, func(i int) string { return st.Subject[i].Name })
	if err != nil {
		return nil, err
	}
	return &checked{Digest: bun.Digest(), KeyID: bun.KeyID(), PredicateType: st.PredicateType, Foreign: true, Matched: matched}, nil
}

// parseForeignStatement decodes an in-toto v1 statement strictly: no
// unknown or duplicate members, no trailing data, 1..record.MaxSubjects
// subjects each with a digest, a predicate type and a predicate object.
func parseForeignStatement(b []byte) (*foreignStatement, error) {
	if len(b) > record.MaxStatementBytes {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", errForeignStatement, len(b), record.MaxStatementBytes)
	}
	if err := noDuplicateMembers(b); err != nil {
		return nil, fmt.Errorf("%w: %w", errForeignStatement, err)
	}
	var st foreignStatement
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		return nil, fmt.Errorf("%w: %w", errForeignStatement, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: data after the statement", errForeignStatement)
	}
	switch {
	case st.Type != record.StatementType:
		return nil, fmt.Errorf("%w: _type %q, want %q", errForeignStatement, st.Type, record.StatementType)
	case len(st.Subject) == 0 || len(st.Subject) > record.MaxSubjects:
		return nil, fmt.Errorf("%w: %d subjects, want 1 to %d", errForeignStatement, len(st.Subject), record.MaxSubjects)
	case st.PredicateType == "":
		return nil, fmt.Errorf("%w: no predicateType", errForeignStatement)
	case len(st.Predicate) == 0 || st.Predicate[0] != '{':
		return nil, fmt.Errorf("%w: the predicate is not a JSON object", errForeignStatement)
	}
	for i, s := range st.Subject {
		if len(s.Digest) == 0 {
			return nil, fmt.Errorf("%w: subject %d has no digest", errForeignStatement, i)
		}
	}
	return &st, nil
}

// noDuplicateMembers rejects JSON whose objects repeat a member name (two
// parsers could read different values from it).
func noDuplicateMembers(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	type frame struct {
		object bool
		seen   map[string]bool
		key    bool // the next string token of an object is a member name
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if d, ok := tok.(json.Delim); ok {
			if d == '{' || d == '[' {
				if top != nil && top.object {
					top.key = true
				}
				stack = append(stack, &frame{object: d == '{', seen: map[string]bool{}, key: d == '{'})
				continue
			}
			stack = stack[:len(stack)-1]
			continue
		}
		if top == nil || !top.object {
			continue
		}
		if top.key {
			name, _ := tok.(string)
			if top.seen[name] {
				return fmt.Errorf("duplicate member %q", name)
			}
			top.seen[name], top.key = true, false
			continue
		}
		top.key = true
	}
}

// subjectWant is a digest every verified statement must name as a subject.
type subjectWant struct {
	from   string // the file it was computed from, or the --digest value
	sha256 string // lowercase hex
}

// subjectWants returns the SHA-256 of each file and each sha256:HEX digest.
func subjectWants(files, digests []string) ([]subjectWant, error) {
	var out []subjectWant
	for _, f := range files {
		h, err := fileSHA256Hex(f)
		if err != nil {
			return nil, cli.Inconclusive(err, "")
		}
		out = append(out, subjectWant{from: f, sha256: h})
	}
	for _, d := range digests {
		h, ok := strings.CutPrefix(d, "sha256:")
		if b, err := hex.DecodeString(h); !ok || err != nil || len(b) != sha256.Size || strings.ToLower(h) != h {
			return nil, cli.Usage("--digest %q: want sha256:<64 lowercase hex>", d)
		}
		out = append(out, subjectWant{from: d, sha256: h})
	}
	return out, nil
}

// matchSubjects checks that every wanted digest is the sha256 of one of the
// statement's subjects and returns the names of the subjects matched.
func (c recordCheck) matchSubjects(digests []map[string]string, name func(int) string) ([]string, error) {
	var matched []string
	for _, w := range c.subjects {
		found := -1
		for i, d := range digests {
			if d["sha256"] == w.sha256 {
				found = i
				break
			}
		}
		if found < 0 {
			return nil, &verify.Error{Class: verify.FailSubject, Step: "8", Err: fmt.Errorf("no subject has sha256 %s (%s)", w.sha256, w.from)}
		}
		matched = append(matched, name(found))
	}
	return matched, nil
}

func fileSHA256Hex(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("reading %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
