package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dossier-audit/dossier/cmd/internal/cli"
	"github.com/dossier-audit/dossier/pkg/verify"
)

func fingerprint(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("testdata/root-fingerprint")
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func runCLI(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	env := &cli.Env{Prog: "dossier-verify", Stdout: &out, Stderr: &errb}
	code := run(env, args)
	return code, out.String(), errb.String()
}

func TestExitCodes(t *testing.T) {
	t.Parallel()
	fp := fingerprint(t)
	other := "SHA256:" + strings.Repeat("0", 64)
	missing := filepath.Join(t.TempDir(), "missing.tar")
	for _, tc := range []struct {
		name  string
		args  []string
		code  int
		class verify.Failure
	}{
		{"valid", []string{"--root-fingerprint", fp, "testdata/valid.tar"}, 0, ""},
		{"flags after the package", []string{"testdata/valid.tar", "--root-fingerprint", fp}, 0, ""},
		{"trusted head", []string{"--trusted-head", "testdata/trusted-head", "--root-fingerprint", fp, "testdata/valid.tar"}, 0, ""},
		{"wrong fingerprint", []string{"--root-fingerprint", other, "testdata/valid.tar"}, 1, verify.FailKeyring},
		{"withheld record", []string{"--root-fingerprint", fp, "testdata/withheld.tar"}, 1, verify.FailSequence},
		{"edited report", []string{"--root-fingerprint", fp, "testdata/edited-report.tar"}, 1, verify.FailHumanCopy},
		{"untraceable", []string{"--root-fingerprint", fp, "testdata/untraceable.tar"}, 1, verify.FailTimeUntraceable},
		{"untraceable accepted", []string{"--policy", "testdata/accept-untraceable.json", "--root-fingerprint", fp, "testdata/untraceable.tar"}, 0, ""},
		{"created after --at", []string{"--at", "2026-01-01T00:00:00Z", "--root-fingerprint", fp, "testdata/valid.tar"}, 1, verify.FailTime},
		{"missing package", []string{"--root-fingerprint", fp, missing}, 3, verify.FailIO},
		{"not a tar", []string{"--root-fingerprint", fp, "testdata/root-fingerprint"}, 1, verify.FailTar},
	} {
		for _, asJSON := range []bool{false, true} {
			t.Run(tc.name+map[bool]string{true: " json"}[asJSON], func(t *testing.T) {
				t.Parallel()
				args := tc.args
				if asJSON {
					args = append([]string{"--json"}, args...)
				}
				code, out, errOut := runCLI(args...)
				if code != tc.code {
					t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, out, errOut)
				}
				if !asJSON {
					want := map[int]string{0: "VERIFIED", 1: "REJECTED", 3: "INCONCLUSIVE"}[code]
					if !strings.HasPrefix(out, "dossier-verify: "+want) {
						t.Fatalf("human output starts %q", out[:min(len(out), 40)])
					}
					return
				}
				checkJSON(t, out, tc.class)
			})
		}
	}
}

// checkJSON: stdout is exactly one result document naming the class.
func checkJSON(t *testing.T, out string, class verify.Failure) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(out))
	var res verify.Result
	if err := dec.Decode(&res); err != nil {
		t.Fatal(err)
	}
	if dec.More() {
		t.Fatal("more than one document on stdout")
	}
	if res.MediaType != verify.ResultMediaType {
		t.Fatalf("mediaType %q", res.MediaType)
	}
	if class == "" {
		return
	}
	for _, f := range res.Failures {
		if f.Class == class {
			return
		}
	}
	t.Fatalf("failures %+v, want class %s", res.Failures, class)
}

func TestUsage(t *testing.T) {
	t.Parallel()
	fp := fingerprint(t)
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"no args", nil},
		{"no fingerprint", []string{"testdata/valid.tar"}},
		{"bad fingerprint", []string{"--root-fingerprint", "SHA256:abc", "testdata/valid.tar"}},
		{"two packages", []string{"--root-fingerprint", fp, "testdata/valid.tar", "testdata/valid.tar"}},
		{"unknown flag", []string{"--frobnicate", "--root-fingerprint", fp, "testdata/valid.tar"}},
		{"bad --at", []string{"--at", "yesterday", "--root-fingerprint", fp, "testdata/valid.tar"}},
		{"bad policy", []string{"--policy", "testdata/root-fingerprint", "--root-fingerprint", fp, "testdata/valid.tar"}},
		{"missing trusted head", []string{"--trusted-head", "testdata/nope", "--root-fingerprint", fp, "testdata/valid.tar"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, out, errOut := runCLI(tc.args...)
			if code != cli.ExitUsage || out != "" || !strings.Contains(errOut, "dossier-verify: error:") {
				t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	t.Parallel()
	code, _, errOut := runCLI("--help")
	if code != 0 || !strings.Contains(errOut, "exit codes:") || !strings.Contains(errOut, "--root-fingerprint") && !strings.Contains(errOut, "-root-fingerprint") {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
}

// TestAnchorsAndPolicyV2 runs the CLI on testvectors/v2: anchored record
// times are printed, fork evidence is printed as a document, and a failed
// v2 policy rule is named in the JSON failure.
func TestAnchorsAndPolicyV2(t *testing.T) {
	t.Parallel()
	vec := func(name string, extra ...string) []string {
		d := filepath.Join("..", "..", "testvectors", "v2", name)
		fp, err := os.ReadFile(filepath.Join(d, "trust", "root-fingerprint"))
		if err != nil {
			t.Fatal(err)
		}
		args := append([]string{"--root-fingerprint", strings.TrimSpace(string(fp)), "--at", "2026-11-27T12:00:00Z"}, extra...)
		if _, err := os.Stat(filepath.Join(d, "trust", "policy.json")); err == nil {
			args = append(args, "--policy", filepath.Join(d, "trust", "policy.json"))
		}
		return append(args, filepath.Join(d, "package.tar"))
	}
	for _, tc := range []struct {
		name, vector string
		json         bool
		code         int
		want         string
	}{
		{"anchored", "anchors-tsa-and-witness-quorum", false, 0, "anchored: existed no later than 2026-11-27T09:03:21Z (witness-quorum)"},
		{"asserted", "anchors-absent-asserted", false, 0, "0 record(s) anchored, 6 asserted by the operator"},
		{"fork evidence", "anchors-fork-same-size", false, 1, "FORK EVIDENCE"},
		{"rule named", "policy-v2-one-approval", true, 1, `"rule": "approvals.distinct-people"`},
		{"anchors in json", "anchors-tsa", true, 0, `"status": "anchored"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			args := vec(tc.vector)
			if tc.json {
				args = append([]string{"--json"}, args...)
			}
			code, out, errOut := runCLI(args...)
			if code != tc.code || !strings.Contains(out, tc.want) {
				t.Fatalf("exit %d (want %d), output lacks %q:\n%s%s", code, tc.code, tc.want, out, errOut)
			}
		})
	}
}
