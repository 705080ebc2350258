package tlog

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/dossier-audit/dossier/pkg/tlog/tlogproof"
)

// ErrNoStream: StreamOf could not derive a stream from the bundle.
var ErrNoStream = errors.New("cannot derive the stream of the bundle")

// logScoped maps predicate kinds that are not run-scoped to their stream.
var logScoped = map[string]string{
	"time-evidence": "time-evidence",
	"export":        "export",
	"export-sealed": "export",
	"keyring":       "keyring",
	"receipt":       "receipts",
	"transfer":      "transfers",
}

// StreamOf derives the stream of a Sigstore bundle (v0.3 JSON) holding a
// DSSE envelope with an in-toto statement: the log-scoped stream of its
// predicate kind (time-evidence, export, keyring), otherwise the run root
// "sha256:<hex>" of subject[0]. It reads, never verifies, the bundle.
func StreamOf(bundle []byte) (string, error) {
	var b struct {
		DSSE struct {
			Payload string `json:"payload"`
		} `json:"dsseEnvelope"`
	}
	if err := json.Unmarshal(bundle, &b); err != nil || b.DSSE.Payload == "" {
		return "", fmt.Errorf("%w: no dsseEnvelope.payload", ErrNoStream)
	}
	payload, err := base64.StdEncoding.DecodeString(b.DSSE.Payload)
	if err != nil {
		return "", fmt.Errorf("%w: payload is not base64", ErrNoStream)
	}
	var st struct {
		PredicateType string `json:"predicateType"`
		Subject       []struct {
			Digest map[string]string `json:"digest"`
		} `json:"subject"`
	}
	if err := json.Unmarshal(payload, &st); err != nil {
		return "", fmt.Errorf("%w: statement: %v", ErrNoStream, err)
	}
	kind := strings.TrimSuffix(strings.TrimPrefix(st.PredicateType, "https://dossier.dev/predicates/"), "/v1")
	if s, ok := logScoped[kind]; ok {
		return s, nil
	}
	if len(st.Subject) == 0 {
		return "", fmt.Errorf("%w: statement has no subject", ErrNoStream)
	}
	s := "sha256:" + st.Subject[0].Digest["sha256"]
	if err := tlogproof.ValidateDigest(s); err != nil {
		return "", fmt.Errorf("%w: subject[0]: %v", ErrNoStream, err)
	}
	return s, nil
}
