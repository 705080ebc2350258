package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/dossier-audit/dossier/cmd/internal/cli"
	"github.com/dossier-audit/dossier/pkg/bundle"
	"github.com/dossier-audit/dossier/pkg/keys"
)

// 'record verify' checks Dossier's own predicate kinds only. 'record
// verify-foreign' verifies a Sigstore bundle whose statement carries any
// predicate type (the SLSA provenance of a release, for one): bundle
// profile, key and signature as 'record verify' does (pkg/bundle.Verify),
// then the in-toto v1 statement envelope only (the predicate is not
// interpreted), the predicate type asked for, and optionally that a file's
// SHA-256 is one of the subjects. Lead's note: this could become
// 'record verify --any-predicate TYPE' by calling verifyForeign from
// recordVerify.
func init() {
	commands.Register(&cli.Command{Name: "record verify-foreign", Summary: "verify a bundle with a non-Dossier predicate type (e.g. a release's SLSA provenance)", Run: recordVerifyForeign})
}

// errForeignStatement is a statement that is not an in-toto v1 statement
// of the expected type or subject.
var errForeignStatement = errors.New("statement check failed")

type foreignStatement struct {
	Type    string `json:"_type"`
	Subject []struct {
		Name   string            `json:"name"`
		Digest map[string]string `json:"digest"`
	} `json:"subject"`
	PredicateType string          `json:"predicateType"`
	Predicate     json.RawMessage `json:"predicate"`
}

func recordVerifyForeign(env *cli.Env, args []string) error {
	fs := cli.FlagSet(env, "record verify-foreign", "--key PUBKEY --type URI [--subject FILE] BUNDLE")
	keyRef := fs.String("key", "", "public key PEM file or KMS URI")
	ptype := fs.String("type", "", "required predicate type URI, e.g. https://slsa.dev/provenance/v1")
	subject := fs.String("subject", "", "file whose SHA-256 must be a subject of the statement")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if *keyRef == "" || *ptype == "" || fs.NArg() != 1 {
		return cli.Usage("record verify-foreign needs --key, --type and one bundle")
	}
	v, err := keys.LoadVerifier(context.Background(), *keyRef)
	if err != nil {
		return cli.Inconclusive(err, "pass a PEM public key written by 'dossier key generate'")
	}
	b, err := readInput(env, fs.Arg(0))
	if err != nil {
		return err
	}
	want := ""
	if *subject != "" {
		if want, err = fileSHA256Hex(*subject); err != nil {
			return cli.Inconclusive(err, "")
		}
	}
	bun, err := verifyForeign(b, v, *ptype, want)
	if err != nil {
		return cli.Failed(fmt.Errorf("%s: %w", fs.Arg(0), err), "")
	}
	fmt.Fprintf(env.Stdout, "verified %s %s %s\n", fs.Arg(0), bun.Digest(), *ptype)
	return nil
}

// verifyForeign verifies bundle bytes b with v and checks the statement's
// envelope, predicate type and (when wantSHA256 is set) subject.
func verifyForeign(b []byte, v signature.Verifier, ptype, wantSHA256 string) (*bundle.Bundle, error) {
	bun, err := bundle.Verify(b, v)
	if err != nil {
		return nil, err
	}
	var st foreignStatement
	dec := json.NewDecoder(bytes.NewReader(bun.Payload()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		return nil, fmt.Errorf("%w: %w", errForeignStatement, err)
	}
	switch {
	case st.Type != "https://in-toto.io/Statement/v1":
		return nil, fmt.Errorf("%w: _type %q, want https://in-toto.io/Statement/v1", errForeignStatement, st.Type)
	case st.PredicateType != ptype:
		return nil, fmt.Errorf("%w: predicateType %q, want %q", errForeignStatement, st.PredicateType, ptype)
	case len(st.Subject) == 0 || len(st.Predicate) == 0:
		return nil, fmt.Errorf("%w: no subject or no predicate", errForeignStatement)
	}
	if wantSHA256 == "" {
		return bun, nil
	}
	for _, s := range st.Subject {
		if s.Digest["sha256"] == wantSHA256 {
			return bun, nil
		}
	}
	return nil, fmt.Errorf("%w: no subject has sha256 %s", errForeignStatement, wantSHA256)
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
