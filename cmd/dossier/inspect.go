package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/dossier-audit/dossier/cmd/internal/cli"
	"github.com/dossier-audit/dossier/pkg/bundle"
	"github.com/dossier-audit/dossier/pkg/record"
)

// inspection is what 'record inspect' reports about a bundle. Nothing in it
// is verified: the signature is not checked.
type inspection struct {
	File          string                      `json:"file"`
	Verified      bool                        `json:"verified"`
	Digest        string                      `json:"digest"`
	KeyID         string                      `json:"keyId"`
	MediaType     string                      `json:"mediaType"`
	PayloadType   string                      `json:"payloadType"`
	PredicateType string                      `json:"predicateType"`
	Kind          string                      `json:"kind"`
	Foreign       bool                        `json:"foreign,omitempty"` // a statement outside Dossier's predicate types
	Subject       []record.ResourceDescriptor `json:"subject"`
	Common        record.Common               `json:"common"`
	Predicate     json.RawMessage             `json:"predicate"`
	Problems      []record.Finding            `json:"problems,omitempty"`
}

func recordInspect(env *cli.Env, args []string) error {
	fs := cli.FlagSet(env, "record inspect", "[--json] BUNDLE")
	asJSON := fs.Bool("json", false, "print the inspection as JSON")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return cli.Usage("record inspect takes one bundle file")
	}
	b, err := readInput(env, fs.Arg(0))
	if err != nil {
		return err
	}
	in, err := inspect(fs.Arg(0), b)
	if err != nil {
		return err
	}
	if *asJSON {
		out, _ := json.MarshalIndent(in, "", "  ")
		_, err = fmt.Fprintf(env.Stdout, "%s\n", out)
		return err
	}
	printInspection(env, in)
	return nil
}

func inspect(path string, b []byte) (*inspection, error) {
	bun, err := bundle.Parse(b)
	if err != nil {
		return nil, cli.Failed(fmt.Errorf("%s: %w", path, err), "this is not a Dossier record bundle")
	}
	in := &inspection{File: path, Digest: bun.Digest(), KeyID: bun.KeyID(), MediaType: bundle.MediaType,
		PayloadType: bun.Envelope.PayloadType}
	if _, foreign := foreignType(b); foreign {
		return inspectForeign(in, bun.Payload()), nil
	}
	st, err := record.ParseStatement(bun.Payload())
	if err != nil {
		in.Problems = record.Findings(err)
		var raw record.Statement
		_ = json.Unmarshal(bun.Payload(), &raw)
		st = &raw
	}
	in.PredicateType, in.Subject, in.Predicate = st.PredicateType, st.Subject, st.Predicate
	if k, ok := st.Kind(); ok {
		in.Kind = k.Name
	}
	if p := st.Parsed(); p != nil {
		in.Common = p.CommonFields()
	}
	return in, nil
}

// inspectForeign fills in a statement whose predicate type is not
// Dossier's (a SLSA provenance, a VSA): the in-toto statement as 'record
// verify' parses it, the predicate shown as it is, no Dossier fields.
func inspectForeign(in *inspection, payload []byte) *inspection {
	in.Foreign = true
	st, err := parseForeignStatement(payload)
	if err != nil {
		in.Problems = []record.Finding{{Path: "statement", Code: "statement", Message: err.Error()}}
		var raw foreignStatement
		_ = json.Unmarshal(payload, &raw)
		st = &raw
	}
	in.PredicateType, in.Predicate = st.PredicateType, st.Predicate
	for _, s := range st.Subject {
		in.Subject = append(in.Subject, record.ResourceDescriptor{Name: s.Name, URI: s.URI, Digest: s.Digest,
			MediaType: s.MediaType, Annotations: s.Annotations})
	}
	return in
}

func printInspection(env *cli.Env, in *inspection) {
	w := env.Stdout
	fmt.Fprintf(w, "record        %s\n", in.Digest)
	if in.Foreign {
		fmt.Fprintf(w, "statement     %s (not a Dossier record)\n", in.PredicateType)
	} else {
		fmt.Fprintf(w, "kind          %s (%s)\n", in.Kind, in.PredicateType)
	}
	fmt.Fprintf(w, "signed by key %s (signature NOT verified: use 'dossier record verify')\n", in.KeyID)
	for i, s := range in.Subject {
		fmt.Fprintf(w, "subject[%d]    %s %s\n", i, s.Name, subjectDigest(s))
	}
	c := in.Common
	if c.RunID != "" {
		fmt.Fprintf(w, "run           %s attempt %d\n", c.RunID, c.Attempt)
	}
	switch {
	case c.Producer.ID != "":
		fmt.Fprintf(w, "produced      %s by %s (%s, %s)\n", c.ProducedAt, c.Producer.ID, c.Producer.Name, c.Producer.Kind)
	case c.ProducedAt != "":
		fmt.Fprintf(w, "produced      %s\n", c.ProducedAt)
	}
	if c.TimeEvidence != nil {
		fmt.Fprintf(w, "time evidence %s\n", c.TimeEvidence.Digest)
	}
	for _, p := range in.Problems {
		fmt.Fprintf(w, "problem       %s: %s\n", p.Path, p.Message)
	}
	var pretty json.RawMessage
	if b, err := json.MarshalIndent(in.Predicate, "", "  "); err == nil {
		pretty = b
	}
	fmt.Fprintf(w, "predicate\n%s\n", pretty)
}

// subjectDigest is a subject's sha256 digest, else its digests in order
// of algorithm name.
func subjectDigest(s record.ResourceDescriptor) string {
	if h := s.SHA256(); h != "" {
		return "sha256:" + h
	}
	algs := slices.Sorted(maps.Keys(s.Digest))
	out := make([]string, len(algs))
	for i, a := range algs {
		out[i] = a + ":" + s.Digest[a]
	}
	return strings.Join(out, " ")
}
