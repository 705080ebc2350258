package main

import (
	"context"
	"crypto"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/dossier-audit/dossier/pkg/bundle"
	"github.com/dossier-audit/dossier/pkg/keys"
	"github.com/dossier-audit/dossier/pkg/verify"
)

// slsaStatement is a release provenance statement about one file.
func slsaStatement(sum string) string {
	return `{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"x.tar","digest":{"sha256":"` + sum +
		`"}}],"predicateType":"https://slsa.dev/provenance/v1","predicate":{"buildDefinition":{}}}`
}

func signStatement(t *testing.T, priv crypto.Signer, stmt string) []byte {
	t.Helper()
	signer, err := signature.LoadSigner(priv, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	b, err := bundle.Sign(context.Background(), signer, bundle.PayloadTypeInToto, []byte(stmt))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestVerifyForeign covers 'record verify' on statements whose predicate
// type is not a Dossier kind: the failure class of every refusal.
func TestVerifyForeign(t *testing.T) {
	t.Parallel()
	priv, err := keys.Generate(keys.DefaultAlgorithm)
	if err != nil {
		t.Fatal(err)
	}
	v, _ := keys.NewVerifier(priv.Public())
	other, _ := keys.Generate(keys.DefaultAlgorithm)
	otherV, _ := keys.NewVerifier(other.Public())
	sum := strings.Repeat("ab", 32)
	good := signStatement(t, priv, slsaStatement(sum))
	const slsa = "https://slsa.dev/provenance/v1"
	for _, tc := range []struct {
		name   string
		b      []byte
		v      signature.Verifier
		kind   string
		digest string
		run    bool
		want   verify.Failure
	}{
		{name: "good", b: good, v: v, kind: slsa, digest: "sha256:" + sum},
		{name: "good, any type, no subject", b: good, v: v},
		{name: "other key", b: good, v: otherV, want: verify.FailSignature},
		{name: "dossier kind wanted", b: good, v: v, kind: "run-closed", want: verify.FailPredicate},
		{name: "other foreign type wanted", b: good, v: v, kind: "https://example.com/other/v1", want: verify.FailPredicate},
		{name: "other subject", b: good, v: v, digest: "sha256:" + strings.Repeat("cd", 32), want: verify.FailSubject},
		{name: "run wanted", b: good, v: v, run: true, want: verify.FailSubject},
		{name: "wrong _type", b: signStatement(t, priv, strings.Replace(slsaStatement(sum), "Statement/v1", "Statement/v0.1", 1)), v: v, want: verify.FailStatement},
		{name: "unknown member", b: signStatement(t, priv, strings.Replace(slsaStatement(sum), `"subject"`, `"extra":1,"subject"`, 1)), v: v, want: verify.FailStatement},
		{name: "duplicate member", b: signStatement(t, priv, strings.Replace(slsaStatement(sum), `"subject"`, `"predicateType":"x","subject"`, 1)), v: v, want: verify.FailStatement},
		{name: "no subject", b: signStatement(t, priv, strings.Replace(slsaStatement(sum), `{"name":"x.tar","digest":{"sha256":"`+sum+`"}}`, "", 1)), v: v, want: verify.FailStatement},
		{name: "predicate not an object", b: signStatement(t, priv, strings.Replace(slsaStatement(sum), `{"buildDefinition":{}}`, `[]`, 1)), v: v, want: verify.FailStatement},
		{name: "unknown dossier type is no foreign type", b: signStatement(t, priv, strings.Replace(slsaStatement(sum), slsa, "https://dossier.dev/predicates/future/v1", 1)), v: v, want: verify.FailStatement},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var digests []string
			if tc.digest != "" {
				digests = []string{tc.digest}
			}
			c, err := verifyOptions("", tc.kind, nil, digests)
			if err != nil {
				t.Fatal(err)
			}
			if tc.run {
				c.opts.RunID = "run-a"
			}
			r, err := c.verify(tc.b, tc.v)
			if got := verify.ClassOf(err); got != tc.want || (tc.want != "" && r != nil) {
				t.Fatalf("got %v (class %q), want class %q", err, got, tc.want)
			}
			if tc.want == "" && (!r.Foreign || r.PredicateType != slsa) {
				t.Fatalf("got %+v, want a foreign %s statement", r, slsa)
			}
		})
	}
}

// TestRecordVerifyForeignCommand runs 'record verify' (and its alias
// 'record verify-foreign') on a release provenance bundle: exit codes and
// what the output says.
func TestRecordVerifyForeignCommand(t *testing.T) {
	d := t.TempDir()
	p := func(s string) string { return filepath.Join(d, s) }
	priv, err := keys.Generate(keys.DefaultAlgorithm)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := keys.MarshalPublicKey(priv.Public())
	write := func(name string, b []byte) {
		if err := os.WriteFile(p(name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("x.tar", []byte("release bytes"))
	write("other.tar", []byte("other bytes"))
	write("release.pub", pub)
	sum, _ := fileSHA256Hex(p("x.tar"))
	write("x.tar.sigstore.json", signStatement(t, priv, slsaStatement(sum)))
	for _, tc := range []struct {
		name string
		code int
		want string
		args []string
	}{
		{"verified", 0, "not a Dossier record", []string{"record verify", "--type", "https://slsa.dev/provenance/v1", "--subject", p("x.tar")}},
		{"subject named", 0, "subjects matched: x.tar", []string{"record verify", "--digest", "sha256:" + sum}},
		{"no subject warns", 0, "not compared with any artifact", []string{"record verify"}},
		{"no subject says so", 0, "subjects NOT compared", []string{"record verify"}},
		{"alias", 0, "is an alias of 'record verify'", []string{"record verify-foreign", "--type", "https://slsa.dev/provenance/v1", "--subject", p("x.tar")}},
		{"other file", 1, "subject (8)", []string{"record verify", "--subject", p("other.tar")}},
		{"dossier kind", 1, "predicate (7)", []string{"record verify", "--type", "dataset"}},
		{"bad digest flag", 2, "--digest", []string{"record verify", "--digest", "sha256:XYZ"}},
		{"missing subject file", 3, "no such file", []string{"record verify", "--subject", p("none.tar")}},
	} {
		args := append(append(tc.args, "--key", p("release.pub")), p("x.tar.sigstore.json"))
		code, stdout, stderr := runCmd(t, args...)
		if code != tc.code || !strings.Contains(stdout+stderr, tc.want) {
			t.Errorf("%s: exit %d (want %d), output lacks %q\nstdout: %s\nstderr: %s", tc.name, code, tc.code, tc.want, stdout, stderr)
		}
	}
}

// TestNoDuplicateMembers finds a repeated member name at any depth and
// accepts the same name in different objects.
func TestNoDuplicateMembers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, json string
		dup        bool
	}{
		{"flat", `{"a":1,"b":2}`, false},
		{"same name in sibling objects", `{"a":{"x":1},"b":{"x":2},"c":[{"x":1},{"x":2}]}`, false},
		{"top level", `{"a":1,"a":2}`, true},
		{"after a nested object", `{"a":{"b":1},"a":2}`, true},
		{"inside an array", `{"s":[{"n":1,"n":2}]}`, true},
		{"deep", `{"p":{"q":{"r":[1,{"z":true,"z":false}]}}}`, true},
		{"name equal to a value", `{"a":"b","b":"a"}`, false},
	} {
		err := noDuplicateMembers([]byte(tc.json))
		if (err != nil) != tc.dup {
			t.Errorf("%s: got %v, want duplicate=%v", tc.name, err, tc.dup)
		}
	}
}

// TestInspectForeign: 'record inspect' shows a non-Dossier statement as an
// in-toto statement (predicate type, subjects, predicate), flags no
// Dossier schema problem, and reports one that is not a valid statement.
func TestInspectForeign(t *testing.T) {
	t.Parallel()
	d := t.TempDir()
	priv, err := keys.Generate(keys.DefaultAlgorithm)
	if err != nil {
		t.Fatal(err)
	}
	sum := strings.Repeat("ab", 32)
	good := filepath.Join(d, "prov.json")
	bad := filepath.Join(d, "bad.json")
	if err := os.WriteFile(good, signStatement(t, priv, slsaStatement(sum)), 0o644); err != nil {
		t.Fatal(err)
	}
	noSubject := `{"_type":"https://in-toto.io/Statement/v1","subject":[],"predicateType":"https://slsa.dev/provenance/v1","predicate":{}}`
	if err := os.WriteFile(bad, signStatement(t, priv, noSubject), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCmd(t, "record inspect", good)
	for _, want := range []string{"https://slsa.dev/provenance/v1 (not a Dossier record)", "x.tar sha256:" + sum, "buildDefinition", "NOT verified"} {
		if code != 0 || !strings.Contains(stdout, want) {
			t.Errorf("inspect: exit %d, output lacks %q\n%s%s", code, want, stdout, stderr)
		}
	}
	if strings.Contains(stdout, "problem") || strings.Contains(stdout, "produced") {
		t.Errorf("inspect of a valid foreign statement shows Dossier fields or problems:\n%s", stdout)
	}
	code, stdout, _ = runCmd(t, "record inspect", "--json", good)
	var in inspection
	if err := json.Unmarshal([]byte(stdout), &in); code != 0 || err != nil || !in.Foreign || in.Kind != "" ||
		in.PredicateType != "https://slsa.dev/provenance/v1" || len(in.Subject) != 1 || len(in.Problems) != 0 {
		t.Fatalf("inspect --json: exit %d, %+v (%v)", code, in, err)
	}
	code, stdout, _ = runCmd(t, "record inspect", bad)
	if code != 0 || !strings.Contains(stdout, "problem       statement: not an in-toto v1 statement: 0 subjects") {
		t.Errorf("inspect of an invalid foreign statement: exit %d\n%s", code, stdout)
	}
}
