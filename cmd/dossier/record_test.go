package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRecordCommands covers record create, verify and inspect, with the
// exit code and message of every refusal.
func TestRecordCommands(t *testing.T) {
	d := t.TempDir()
	p := func(s string) string { return filepath.Join(d, s) }
	expect := func(name string, code int, want string, args ...string) string {
		t.Helper()
		got, stdout, stderr := runCmd(t, args...)
		if got != code || !strings.Contains(stdout+stderr, want) {
			t.Fatalf("%s: exit %d (want %d), output lacks %q\nstdout: %s\nstderr: %s", name, got, code, want, stdout, stderr)
		}
		return stdout
	}
	expect("key", 0, "", "key generate", "--output", p("producer"))
	expect("other key", 0, "", "key generate", "--algorithm", "ed25519", "--output", p("other"))
	for _, id := range []string{"run-a", "run-b"} {
		expect("run "+id, 0, "", "run init", "--id", id, "--project", "p", "--model", "m",
			"--started-by", "workload:train", "--started-at", "2026-11-27T08:00:00Z", "-o", p(id+".json"))
	}
	writePredicate(t, p("closed.json"), "run-closed", "run-a", "sha256:"+strings.Repeat("a", 64))
	create := func(out string, extra ...string) []string {
		return append([]string{"record create", "--run", p("run-a.json"), "--type", "run-closed",
			"--predicate", p("closed.json"), "--key", p("producer.key"), "-o", out}, extra...)
	}
	expect("create", 0, "run-closed", create(p("rec.json"))...)
	expect("never overwrites", 3, "never overwritten", create(p("rec.json"))...)
	expect("other run", 1, `is not the run of`, "record create", "--run", p("run-b.json"), "--type", "run-closed",
		"--predicate", p("closed.json"), "--key", p("producer.key"), "-o", p("x.json"))
	expect("run-scoped needs --run", 2, "pass --run", "record create", "--type", "run-closed",
		"--predicate", p("closed.json"), "--key", p("producer.key"))
	expect("unknown kind", 2, "unknown record kind", "record create", "--type", "nonsense",
		"--predicate", p("closed.json"), "--key", p("producer.key"))
	if err := os.WriteFile(p("bad.json"), []byte(`{"runId":"run-a","runId":"run-a"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	expect("invalid predicate", 1, "not valid", "record create", "--run", p("run-a.json"), "--type", "run-closed",
		"--predicate", p("bad.json"), "--key", p("producer.key"), "-o", p("y.json"))
	if _, err := os.Stat(p("y.json")); !os.IsNotExist(err) {
		t.Fatalf("a refused record left a file: %v", err)
	}

	expect("verify", 0, "verified", "record verify", "--key", p("producer.pub"), "--run", p("run-a.json"),
		"--type", "run-closed", p("rec.json"))
	expect("verify wrong key", 1, "signature (3)", "record verify", "--key", p("other.pub"), p("rec.json"))
	expect("verify other run", 1, "subject (8)", "record verify", "--key", p("producer.pub"), "--run", p("run-b.json"), p("rec.json"))
	expect("verify other kind", 1, "predicate (7)", "record verify", "--key", p("producer.pub"), "--type", "dataset", p("rec.json"))
	rec, _ := os.ReadFile(p("rec.json"))
	if err := os.WriteFile(p("cut.json"), rec[:len(rec)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	expect("verify truncated", 1, "envelope (2)", "record verify", "--key", p("producer.pub"), p("cut.json"))
	expect("verify missing file", 3, "no such file", "record verify", "--key", p("producer.pub"), p("none.json"))

	out := expect("verify json", 0, "", "record verify", "--json", "--key", p("producer.pub"), p("rec.json"))
	var line verifyLine
	if err := json.Unmarshal([]byte(out), &line); err != nil || !line.Verified || !strings.HasPrefix(line.Digest, "sha256:") {
		t.Fatalf("verify --json: %q (%v)", out, err)
	}
	out = expect("inspect json", 0, "", "record inspect", "--json", p("rec.json"))
	var in inspection
	if err := json.Unmarshal([]byte(out), &in); err != nil || in.Kind != "run-closed" || in.Verified || in.Common.RunID != "run-a" {
		t.Fatalf("inspect --json: %q (%v)", out, err)
	}
	expect("inspect human", 0, "NOT verified", "record inspect", p("rec.json"))
	expect("inspect garbage", 1, "not a Dossier record bundle", "record inspect", p("closed.json"))
}
