package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/dossier-audit/dossier/cmd/internal/cli"
	"github.com/dossier-audit/dossier/pkg/keys"
	"github.com/dossier-audit/dossier/pkg/record"
	"github.com/dossier-audit/dossier/pkg/verify"
)

// foreignNote is what 'record verify' says of a verified statement whose
// predicate type is not a Dossier kind, with and without subjects to match.
const (
	foreignNote          = "not a Dossier record: signature, in-toto statement and subjects checked; the predicate is not checked against any Dossier schema"
	foreignNoteNoSubject = "not a Dossier record: signature and in-toto statement checked, subjects NOT compared with any artifact (pass --subject or --digest); the predicate is not checked against any Dossier schema"
)

type verifyLine struct {
	File          string         `json:"file"`
	Verified      bool           `json:"verified"`
	Digest        string         `json:"digest,omitempty"`
	PredicateType string         `json:"predicateType,omitempty"`
	RunID         string         `json:"runId,omitempty"`
	KeyID         string         `json:"keyId,omitempty"`
	Foreign       bool           `json:"foreign,omitempty"`
	Subjects      []string       `json:"subjects,omitempty"`
	Note          string         `json:"note,omitempty"`
	Failure       verify.Failure `json:"failure,omitempty"`
	Step          string         `json:"step,omitempty"`
	Error         string         `json:"error,omitempty"`
}

func recordVerify(env *cli.Env, args []string) error {
	fs := cli.FlagSet(env, "record verify", "--key PUBKEY [--run RUNFILE] [--type KIND|URI] [--subject FILE]... [--digest sha256:HEX]... BUNDLE...")
	keyRef := fs.String("key", "", "public key PEM file or KMS URI")
	runFile := fs.String("run", "", "require records of this run (run file)")
	kindFlag := fs.String("type", "", "require this record kind or predicate type (any URI, e.g. https://slsa.dev/provenance/v1)")
	var files, digests multiFlag
	fs.Var(&files, "subject", "require the SHA-256 of this file among the statement's subjects (repeatable)")
	fs.Var(&digests, "digest", "require this sha256:HEX digest among the statement's subjects (repeatable)")
	asJSON := fs.Bool("json", false, "print one JSON result per bundle")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if *keyRef == "" || fs.NArg() == 0 {
		return cli.Usage("record verify needs --key and at least one bundle")
	}
	c, err := verifyOptions(*runFile, *kindFlag, files, digests)
	if err != nil {
		return err
	}
	v, err := keys.LoadVerifier(context.Background(), *keyRef)
	if err != nil {
		return cli.Inconclusive(err, "pass a PEM public key written by 'dossier key generate'")
	}
	failed, unreadable := 0, 0
	enc := json.NewEncoder(env.Stdout)
	for _, path := range fs.Args() {
		line := verifyOne(env, path, v, c)
		if !line.Verified {
			failed++
		}
		if !line.Verified && line.Failure == "" {
			unreadable++
		}
		if line.Foreign && len(c.subjects) == 0 {
			env.Warnf("%s: no --subject or --digest given: the statement was not compared with any artifact", path)
		}
		printVerifyLine(env, enc, line, *asJSON)
	}
	switch {
	case failed > unreadable:
		return cli.Failed(fmt.Errorf("%d of %d records rejected", failed-unreadable, fs.NArg()), "")
	case unreadable > 0:
		return cli.Inconclusive(fmt.Errorf("%d of %d records could not be read", unreadable, fs.NArg()), "")
	}
	return nil
}

func printVerifyLine(env *cli.Env, enc *json.Encoder, line verifyLine, asJSON bool) {
	switch {
	case asJSON:
		_ = enc.Encode(line)
	case !line.Verified:
		fmt.Fprintf(env.Stdout, "REJECTED %s: %s\n", line.File, line.Error)
	case line.Foreign:
		fmt.Fprintf(env.Stdout, "verified %s %s %s (%s)\n", line.File, line.Digest, line.PredicateType, line.Note)
	default:
		fmt.Fprintf(env.Stdout, "verified %s %s %s\n", line.File, line.Digest, line.PredicateType)
	}
	if !asJSON && line.Verified && len(line.Subjects) > 0 {
		fmt.Fprintf(env.Stdout, "  subjects matched: %s\n", strings.Join(line.Subjects, ", "))
	}
}

// recordCheck is what 'record verify' requires of every bundle.
type recordCheck struct {
	opts        verify.RecordOptions
	foreignType string // --type naming a predicate type outside Dossier's namespace
	subjects    []subjectWant
}

// wantType returns the predicate type asked for ("" when any).
func (c recordCheck) wantType() string {
	if c.foreignType != "" {
		return c.foreignType
	}
	return c.opts.PredicateType
}

// checked is a verified statement, Dossier record or not.
type checked struct {
	Digest, KeyID, PredicateType, RunID string
	Foreign                             bool
	Matched                             []string
}

func verifyOptions(runFile, kindFlag string, files, digests []string) (recordCheck, error) {
	var c recordCheck
	if kindFlag != "" {
		k, ok := record.LookupKind(kindFlag)
		switch {
		case ok:
			c.opts.PredicateType = k.PredicateType
		case strings.Contains(kindFlag, "://") && !strings.HasPrefix(kindFlag, dossierTypePrefix):
			c.foreignType = kindFlag
		default:
			return c, cli.Usage("unknown record kind %q (a non-Dossier predicate type is a URI)", kindFlag)
		}
	}
	if runFile != "" {
		root, err := loadRunFile(runFile)
		if err != nil {
			return c, err
		}
		c.opts.RunID, c.opts.RunRoot = root.Registration.RunID, root.Digest()
	}
	var err error
	c.subjects, err = subjectWants(files, digests)
	return c, err
}

// verify verifies bundle b as a Dossier record, or, when its predicate type
// is outside Dossier's namespace and its signature verified, as a foreign
// statement.
func (c recordCheck) verify(b []byte, v signature.Verifier) (*checked, error) {
	rec, err := verify.VerifyRecord(b, v, c.opts)
	if err != nil {
		if _, foreign := foreignType(b); foreign && verify.ClassOf(err) == verify.FailStatement {
			return c.verifyForeign(b, v)
		}
		return nil, err
	}
	st := rec.Statement
	if c.foreignType != "" {
		return nil, &verify.Error{Class: verify.FailPredicate, Step: "7", Err: fmt.Errorf("predicateType %q, want %q", st.PredicateType, c.foreignType)}
	}
	digests := make([]map[string]string, len(st.Subject))
	for i, s := range st.Subject {
		digests[i] = s.Digest
	}
	matched, err := c.matchSubjects(digests, func(i int) string { return st.Subject[i].Name })
	if err != nil {
		return nil, err
	}
	return &checked{Digest: rec.Digest, KeyID: rec.KeyID, PredicateType: st.PredicateType, RunID: rec.Common.RunID, Matched: matched}, nil
}

func verifyOne(env *cli.Env, path string, v signature.Verifier, c recordCheck) verifyLine {
	line := verifyLine{File: path}
	b, err := readInput(env, path)
	if err != nil {
		line.Error = err.Error()
		return line
	}
	r, err := c.verify(b, v)
	if err != nil {
		var ve *verify.Error
		if errors.As(err, &ve) {
			line.Failure, line.Step = ve.Class, ve.Step
		}
		line.Error = err.Error()
		return line
	}
	line.Verified, line.Digest, line.KeyID = true, r.Digest, r.KeyID
	line.PredicateType, line.RunID, line.Foreign, line.Subjects = r.PredicateType, r.RunID, r.Foreign, r.Matched
	switch {
	case r.Foreign && len(c.subjects) > 0:
		line.Note = foreignNote
	case r.Foreign:
		line.Note = foreignNoteNoSubject
	}
	return line
}
