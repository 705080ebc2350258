package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dossier-audit/dossier/pkg/keyring"
)

// TestKeyringOps walks a keyring through ten years in miniature: create,
// add a reviewer, rotate the roots (1-of-1 to 2-of-2), revoke the
// reviewer as departed, and read the history; each step's refusals too.
func TestKeyringOps(t *testing.T) {
	d := t.TempDir()
	p := func(s string) string { return filepath.Join(d, s) }
	run := func(name string, code int, args ...string) string {
		t.Helper()
		got, stdout, stderr := runCmd(t, args...)
		if got != code {
			t.Fatalf("%s: exit %d (want %d)\nstdout: %s\nstderr: %s", name, got, code, stdout, stderr)
		}
		return stdout
	}
	for _, k := range []string{"root", "rootB", "rootC", "producer", "reviewer"} {
		run("key "+k, 0, "key generate", "--output", p(k))
	}
	pin := strings.TrimSpace(run("create", 0, "keyring create", "--root-key", p("root.key"), "-o", p("v1.json"),
		"--add", "root:"+p("root.pub")+":Root One:person:r1:security",
		"--add", "producer:"+p("producer.pub")+":Pipeline:workload:train:ml-platform"))
	run("add", 0, "keyring add", "--previous", p("v1.json"), "--root-key", p("root.key"), "-o", p("v2.json"), "--valid-until", "2031-01-01T00:00:00Z",
		"--add", "reviewer:"+p("reviewer.pub")+":Rita Reviewer:person:rita:validation")
	if v2, _ := readKeyringVersion(p("v2.json")); v2.Document.Keys[2].ValidUntil == nil || *v2.Document.Keys[2].ValidUntil != "2031-01-01T00:00:00Z" {
		t.Fatalf("--valid-until not recorded: %+v", v2.Document.Keys[2])
	}
	run("add: signed by a non-root", 1, "keyring add", "--previous", p("v1.json"), "--root-key", p("producer.key"), "-o", p("bad.json"),
		"--add", "reviewer:"+p("reviewer.pub")+":Rita Reviewer:person:rita:validation")
	run("add: key listed twice", 2, "keyring add", "--previous", p("v2.json"), "--root-key", p("root.key"), "-o", p("bad.json"),
		"--add", "producer:"+p("reviewer.pub")+":Rita Reviewer:person:rita:validation")
	run("rotate: signed by the new roots", 1, "keyring rotate", "--previous", p("v2.json"), "--root-key", p("rootB.key"),
		"--root-key", p("rootC.key"), "--new-root", p("rootB.pub")+":Root B:person:rb:security",
		"--new-root", p("rootC.pub")+":Root C:person:rc:security", "--threshold", "2", "-o", p("bad.json"))
	run("rotate", 0, "keyring rotate", "--previous", p("v2.json"), "--root-key", p("root.key"),
		"--new-root", p("rootB.pub")+":Root B:person:rb:security",
		"--new-root", p("rootC.pub")+":Root C:person:rc:security", "--threshold", "2", "-o", p("v3.json"))
	run("rotate: threshold above the roots", 2, "keyring rotate", "--previous", p("v3.json"), "--root-key", p("rootB.key"),
		"--root-key", p("rootC.key"), "--keep", fingerprintOf(t, p("v3.json"), "Root B"), "--threshold", "2", "-o", p("bad.json"))
	revoke := []string{"keyring revoke", "--previous", p("v3.json"), "--person", "person:rita", "--reason", "departed",
		"--at", "2027-01-31T17:00:00Z", "--note", "left the company", "-o"}
	run("revoke below threshold", 1, append(revoke, p("bad.json"), "--root-key", p("rootB.key"))...)
	run("revoke by a retired root", 1, append(revoke, p("bad.json"), "--root-key", p("root.key"))...)
	run("revoke", 0, append(revoke, p("v4.json"), "--root-key", p("rootB.key"), "--root-key", p("rootC.key"))...)
	run("revoke: unknown reason", 2, "keyring revoke", "--previous", p("v4.json"), "--root-key", p("rootB.key"),
		"--key", fingerprintOf(t, p("v4.json"), "Pipeline"), "--reason", "lost", "-o", p("bad.json"))
	run("revoke: both --key and --person", 2, "keyring revoke", "--previous", p("v4.json"), "--root-key", p("rootB.key"),
		"--key", "SHA256:x", "--person", "p", "--reason", "retired", "-o", p("bad.json"))

	out := run("history", 0, "keyring history", "--root-fingerprint", pin, "--json", p("v3.json"), p("v1.json"), p("v4.json"), p("v2.json"))
	var h []keyring.Change
	if err := json.Unmarshal([]byte(out), &h); err != nil {
		t.Fatal(err)
	}
	if len(h) != 4 || len(h[1].Added) != 1 || len(h[2].Roots) != 2 || h[2].RootThreshold != 2 || len(h[3].Revoked) != 1 ||
		!strings.Contains(h[3].Revoked[0], "departed at 2027-01-31T17:00:00Z") {
		t.Fatalf("history: %s", out)
	}
	if txt := run("history text", 0, "keyring history", "--root-fingerprint", pin, p("v1.json"), p("v2.json"), p("v3.json"), p("v4.json")); !strings.Contains(txt, "revoked: ") {
		t.Fatalf("history text: %s", txt)
	}
	run("history with a gap", 1, "keyring history", "--root-fingerprint", pin, p("v1.json"), p("v3.json"))
	run("verify the chain", 0, "keyring verify", "--root-fingerprint", pin, p("v1.json"), p("v2.json"), p("v3.json"), p("v4.json"))
}

// fingerprintOf returns the id of the key whose owner has this name.
func fingerprintOf(t *testing.T, path, owner string) string {
	t.Helper()
	v, err := readKeyringVersion(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range v.Document.Keys {
		if k.Owner.Name == owner {
			return k.ID
		}
	}
	t.Fatalf("%s lists no key of %s", path, owner)
	return ""
}
