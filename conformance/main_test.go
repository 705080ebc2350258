package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The test binary doubles as a fake verifier when FAKE_VERIFIER is set,
// so the runner is tested against verifiers that behave well and badly.
func TestMain(m *testing.M) {
	if mode := os.Getenv("FAKE_VERIFIER"); mode != "" {
		os.Exit(fakeVerifier(mode, os.Args[1:]))
	}
	os.Exit(m.Run())
}

func fakeVerifier(mode string, args []string) int {
	pkg := args[len(args)-1]
	raw, _ := os.ReadFile(filepath.Join(filepath.Dir(pkg), "expected.json"))
	var want expected
	_ = json.Unmarshal(raw, &want)
	answer := func(outcome, class string, exit int) int {
		doc := map[string]any{"mediaType": "application/vnd.dossier.verify-result.v1+json", "outcome": outcome, "failures": []any{}, "checks": []any{}}
		if class != "" {
			doc["failures"] = []any{map[string]string{"class": class, "step": "1", "message": "fake"}}
		}
		_ = json.NewEncoder(os.Stdout).Encode(doc)
		return exit
	}
	switch mode {
	case "perfect":
		if want.Outcome == "verified" {
			return answer("verified", "", 0)
		}
		return answer(want.Outcome, want.Class, wantExit[want.Outcome])
	case "accept-all":
		return answer("verified", "", 0)
	case "wrong-class":
		if want.Outcome == "verified" {
			return answer("verified", "", 0)
		}
		return answer("rejected", "something-else", 1)
	case "garbage":
		fmt.Println("not json")
		return 1
	case "two-docs":
		answer(want.Outcome, want.Class, 0)
		return answer(want.Outcome, want.Class, wantExit[want.Outcome])
	case "args":
		// echo the arguments as the failure class of a rejection
		return answer("rejected", strings.Join(args[:len(args)-1], " "), 1)
	case "hang":
		time.Sleep(10 * time.Second)
		return 0
	}
	return 2
}

func writeVectors(t *testing.T, vs map[string]expected, extra map[string]map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, e := range vs {
		files := map[string]string{"package.tar": "tar", "trust/root-fingerprint": "SHA256:00\n", "expected.json": mustJSON(e)}
		for k, v := range extra[name] {
			files[k] = v
		}
		for k, v := range files {
			p := filepath.Join(dir, name, k)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(v), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

var twoVectors = map[string]expected{
	"valid":      {Outcome: "verified", Description: "ok"},
	"tar-broken": {Outcome: "rejected", Class: "tar", Step: "1", Description: "bad tar"},
}

func runWith(t *testing.T, mode, vectors string, args ...string) (int, string, string) {
	t.Helper()
	t.Setenv("FAKE_VERIFIER", mode)
	var stdout, stderr bytes.Buffer
	code := runMain(append([]string{"-verifier", os.Args[0], "-vectors", vectors, "-timeout", "2s"}, args...), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestRunner(t *testing.T) {
	dir := writeVectors(t, twoVectors, nil)
	tests := []struct {
		name     string
		mode     string
		wantCode int
		want     []string
	}{
		{"perfect verifier passes", "perfect", exitOK, []string{"2 passed, 0 failed"}},
		{"accepting everything fails the rejection", "accept-all", exitUnexpected, []string{"exit 0, want 1", "1 passed, 1 failed"}},
		{"right exit but wrong class fails", "wrong-class", exitUnexpected, []string{`failure class "tar" not reported`}},
		{"output that is not JSON fails", "garbage", exitUnexpected, []string{"not one JSON document"}},
		{"two documents on stdout fail", "two-docs", exitUnexpected, []string{"more than one JSON value"}},
		{"a hanging verifier times out", "hang", exitUnexpected, []string{"timed out"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runWith(t, tt.mode, dir)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d\n%s%s", code, tt.wantCode, out, errOut)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

func TestXfail(t *testing.T) {
	dir := writeVectors(t, twoVectors, nil)
	list := filepath.Join(t.TempDir(), "xfail.txt")
	write := func(s string) {
		if err := os.WriteFile(list, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("# known gaps\ntar-* tar checks not implemented yet\nnothing-* stale entry\n")
	code, out, errOut := runWith(t, "accept-all", dir, "-xfail", list)
	if code != exitOK || !strings.Contains(out, "XFAIL") || !strings.Contains(errOut, `"nothing-*" matches no vector`) {
		t.Errorf("expected failure: exit %d\n%s%s", code, out, errOut)
	}
	code, out, _ = runWith(t, "perfect", dir, "-xfail", list)
	if code != exitUnexpected || !strings.Contains(out, "XPASS") {
		t.Errorf("an xfail that passes must be reported and fail the run: exit %d\n%s", code, out)
	}
	write("tar-broken\n")
	if code, _, errOut := runWith(t, "perfect", dir, "-xfail", list); code != exitSetup || !strings.Contains(errOut, "no reason") {
		t.Errorf("an entry without a reason: exit %d, %s", code, errOut)
	}
}

func TestProtocolArguments(t *testing.T) {
	dir := writeVectors(t, map[string]expected{"v": {Outcome: "rejected", Class: "x", Step: "1"}},
		map[string]map[string]string{"v": {"trust/policy.json": "{}", "trust/trusted-head": "head", "trust/at": "2026-11-27T12:00:00Z\n"}})
	_, out, _ := runWith(t, "args", dir, "-json")
	var rep report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("-json output: %v\n%s", err, out)
	}
	got := rep.Results[0].Classes[0]
	want := "--json --root-fingerprint SHA256:00 --policy " + filepath.Join(dir, "v", "trust", "policy.json") +
		" --trusted-head " + filepath.Join(dir, "v", "trust", "trusted-head") + " --at 2026-11-27T12:00:00Z"
	if got != want {
		t.Errorf("verifier arguments:\n got %s\nwant %s", got, want)
	}
}

func TestUsage(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := runMain(nil, &out, &errOut); code != exitUsage || !strings.Contains(errOut.String(), "-verifier is required") {
		t.Errorf("no -verifier: exit %d, %s", code, errOut.String())
	}
	if code := runMain([]string{"-verifier", "x", "-vectors", t.TempDir()}, &out, &errOut); code != exitSetup {
		t.Errorf("empty vector directory: exit %d", code)
	}
}

// TestCommittedVectorsLoad runs a perfect fake verifier over the committed
// vectors: every vector directory is complete and its expectation valid.
func TestCommittedVectorsLoad(t *testing.T) {
	code, out, errOut := runWith(t, "perfect", "../testvectors/v1", "-j", "8")
	if code != exitOK {
		t.Errorf("exit %d\n%s%s", code, out, errOut)
	}
}
