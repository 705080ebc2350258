package verify

import (
	"context"
	"crypto"
	"encoding/json"
	"strings"
	"testing"

	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/dossier-audit/dossier/pkg/bundle"
	"github.com/dossier-audit/dossier/pkg/keys"
	"github.com/dossier-audit/dossier/pkg/record"
	"github.com/dossier-audit/dossier/pkg/run"
)

type fixture struct {
	root     *run.Root
	signer   signature.Signer
	verifier signature.Verifier
	bundle   []byte
}

func newFixture(t *testing.T, runID string) fixture {
	t.Helper()
	root, err := run.New(run.Registration{RunID: runID, Project: "p", Model: "m",
		StartedBy: run.Identity{ID: "svc:pipeline", Kind: "workload"}, StartedAt: "2026-11-27T09:00:00Z"})
	if err != nil {
		t.Fatal(err)
	}
	priv, err := keys.Generate(keys.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	s, err := signature.LoadSigner(priv, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	v, err := signature.LoadVerifier(priv.Public(), crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(record.Template("run-closed"), &m); err != nil {
		t.Fatal(err)
	}
	m["runId"] = runID
	pred, _ := json.Marshal(m)
	stmt, err := record.NewStatement([]record.ResourceDescriptor{record.RunSubject(runID, root.Digest())}, record.PredicateTypePrefix+"run-closed/v1", pred)
	if err != nil {
		t.Fatal(err)
	}
	b, err := bundle.Sign(context.Background(), s, bundle.PayloadTypeInToto, stmt)
	if err != nil {
		t.Fatal(err)
	}
	return fixture{root, s, v, b}
}

func TestVerifyRecord(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "run-a")
	rec, err := VerifyRecord(f.bundle, f.verifier, RecordOptions{
		RunID: "run-a", RunRoot: f.root.Digest(), PredicateType: record.PredicateTypePrefix + "run-closed/v1"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(rec.Digest, "sha256:") || rec.Common.RunID != "run-a" {
		t.Fatalf("record %+v", rec)
	}
}

func TestVerifyRecordRejects(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "run-a")
	other := newFixture(t, "run-b")
	for _, tc := range []struct {
		name  string
		b     []byte
		v     signature.Verifier
		opts  RecordOptions
		class Failure
		step  string
	}{
		{"wrong key", f.bundle, other.verifier, RecordOptions{}, FailSignature, "3"},
		{"other run root", f.bundle, f.verifier, RecordOptions{RunRoot: other.root.Digest()}, FailSubject, "8"},
		{"other run id", f.bundle, f.verifier, RecordOptions{RunID: "run-b"}, FailSubject, "8"},
		{"other predicate type", f.bundle, f.verifier, RecordOptions{PredicateType: record.PredicateTypePrefix + "dataset/v1"}, FailPredicate, "7"},
		{"truncated", f.bundle[:len(f.bundle)/2], f.verifier, RecordOptions{}, FailEnvelope, "2"},
		{"tampered payload", tamper(t, f.bundle), f.verifier, RecordOptions{}, FailSignature, "5"},
		{"empty hint", emptyHint(t, f.bundle), f.verifier, RecordOptions{}, FailSignature, "3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := VerifyRecord(tc.b, tc.v, tc.opts)
			e, ok := err.(*Error)
			if !ok || e.Class != tc.class || e.Step != tc.step {
				t.Fatalf("got %v, want class %s step %s", err, tc.class, tc.step)
			}
		})
	}
}

// emptyHint blanks the bundle's publicKey.hint (the signature stays valid).
func emptyHint(t *testing.T, b []byte) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	m["verificationMaterial"].(map[string]any)["publicKey"].(map[string]any)["hint"] = ""
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// tamper flips one base64 character of the payload.
func tamper(t *testing.T, b []byte) []byte {
	t.Helper()
	s := string(b)
	i := strings.Index(s, `"payload":"`) + len(`"payload":"`) + 40
	c := byte('A')
	if s[i] == 'A' {
		c = 'B'
	}
	return []byte(s[:i] + string(c) + s[i+1:])
}
