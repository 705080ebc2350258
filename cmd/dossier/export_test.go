package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dossier-audit/dossier/cmd/internal/cli"
	"github.com/dossier-audit/dossier/pkg/record"
)

func runCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	env := &cli.Env{Prog: "dossier", Stdout: &out, Stderr: &errb,
		Now:    func() time.Time { return time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC) },
		Getenv: func(k string) string { return map[string]string{"DOSSIER_KEY_PASSWORD": "pw"}[k] }}
	code := commands.Main(env, args, "", "")
	return code, out.String(), errb.String()
}

// writePredicate writes kind's template for runID citing the time
// evidence te.
func writePredicate(t *testing.T, path, kind, runID, te string) {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(record.Template(kind), &m); err != nil {
		t.Fatal(err)
	}
	m["runId"], m["timeEvidence"] = runID, map[string]any{"digest": te}
	delete(m, "plan")
	b, _ := json.Marshal(m)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestKeyringAndExportCommands(t *testing.T) {
	d := t.TempDir()
	p := func(s string) string { return filepath.Join(d, s) }
	must := func(name string, code int, args ...string) string {
		t.Helper()
		got, stdout, stderr := runCmd(t, args...)
		if got != code {
			t.Fatalf("%s: exit %d (want %d)\nstdout: %s\nstderr: %s", name, got, code, stdout, stderr)
		}
		return stdout + stderr
	}
	for _, k := range []string{"producer", "time", "root"} {
		must("key "+k, 0, "key generate", "--output", p(k))
	}
	must("key exporter", 0, "key generate", "--algorithm", "ed25519", "--output", p("exporter"))
	must("run", 0, "run init", "--id", "cli-run-1", "--project", "p", "--model", "acme/m", "--started-by", "workload:train",
		"--started-at", "2026-11-27T08:00:00Z", "-o", p("run.json"))
	must("log init", 0, "log init", "--dir", p("log"), "--origin", "example.test/export", "--key-out", p("logkey"))
	adds := []string{"--add", "root:" + p("root.pub") + ":Root Owner:person:r1:security",
		"--add", "producer:" + p("producer.pub") + ":Pipeline:workload:pipeline/train:ml-platform",
		"--add", "time:" + p("time.pub") + ":Time checker:workload:timecheck:ops",
		"--add", "exporter:" + p("exporter.pub") + ":Erika Musterfrau:person:e30211:compliance",
		"--add", "log:" + p("logkey.vkey") + ":Log:workload:dossierd:ops"}
	out := must("keyring create", 0, append([]string{"keyring create", "--root-key", p("root.key"), "-o", p("keyring-v1.json")}, adds...)...)
	pin := strings.Fields(out)[0]
	if !strings.HasPrefix(pin, "SHA256:") || len(pin) != 71 {
		t.Fatalf("pin %q", pin)
	}
	must("keyring create: root key not listed", 2, append([]string{"keyring create", "--root-key", p("producer.key"), "-o", p("x.json")}, adds...)...)
	if got := must("fingerprint", 0, "keyring fingerprint", p("keyring-v1.json")); !strings.Contains(got, pin) {
		t.Fatalf("fingerprint %q, want %s", got, pin)
	}
	if got := must("show", 0, "keyring show", "--json", p("keyring-v1.json")); !strings.Contains(got, `"rootFingerprint": "`+pin) {
		t.Fatalf("show: %s", got)
	}
	must("verify", 0, "keyring verify", "--root-fingerprint", pin, p("keyring-v1.json"))
	must("verify wrong pin", 1, "keyring verify", "--root-fingerprint", "SHA256:"+strings.Repeat("0", 64), p("keyring-v1.json"))
	must("rotate: signed by a key that is not a root of v1", 1, append([]string{"keyring create", "--root-key", p("producer.key"),
		"--previous", p("keyring-v1.json"), "-o", p("keyring-v2-bad.json")}, adds...)...)
	must("rotate", 0, append([]string{"keyring create", "--root-key", p("root.key"), "--previous", p("keyring-v1.json"),
		"--issued-at", "2026-11-28T00:00:00Z", "-o", p("keyring-v2.json")}, adds...)...)
	must("verify chain", 0, "keyring verify", "--root-fingerprint", pin, p("keyring-v2.json"), p("keyring-v1.json"))
	must("fingerprint of v2", 2, "keyring fingerprint", p("keyring-v2.json"))
	must("append keyring", 0, "log append", "--dir", p("log"), "--key", p("logkey.key"), "--stream", "keyring", p("keyring-v1.json"))

	te := signTimeEvidence(t, p("te.json"), p("time.key"))
	for i, kind := range []string{"dataset", "training-run", "evaluation", "run-closed"} {
		writePredicate(t, p(kind+".pred.json"), kind, "cli-run-1", te)
		must("record "+kind, 0, "record create", "--run", p("run.json"), "--type", kind, "--predicate", p(kind+".pred.json"),
			"--key", p("producer.key"), "-o", p(string(rune('a'+i))+"-"+kind+".json"))
	}
	must("append records", 0, "log append", "--dir", p("log"), "--key", p("logkey.key"), p("te.json"),
		p("a-dataset.json"), p("b-training-run.json"), p("c-evaluation.json"), p("d-run-closed.json"))
	export := func(out string, extra ...string) []string {
		return append([]string{"export", "--log", p("log"), "--log-key", p("logkey.key"), "--exporter-key", p("exporter.key"),
			"--keyring", p("keyring-v1.json"), "--run", p("run.json"), "--purpose", "NB request <0415>",
			"--requested-by", "person:e30211:Erika Musterfrau", "--recipient", "Notified Body 0123:assessor@nb.example",
			"--at", "2026-12-02T14:00:00Z", "--json", "-o", out}, extra...)
	}
	got := must("export", 0, export(p("package.tar"))...)
	var res struct {
		Package      string `json:"package"`
		RecordCount  int    `json:"recordCount"`
		SealedRecord string `json:"sealedRecord"`
	}
	if err := json.Unmarshal([]byte(got[:strings.LastIndex(got, "}")+1]), &res); err != nil || res.RecordCount != 5 || res.SealedRecord == "" {
		t.Fatalf("export result %q: %v", got, err)
	}
	must("export over an existing file", 3, export(p("package.tar"))...)
	must("second export", 0, export(p("package2.tar"), "--package-id", "second")...)
	must("exporter not in keyring", 1, append(export(p("package3.tar")), "--exporter-key", p("producer.key"))...)
	must("usage", 2, "export", "--log", p("log"))
	if fi, err := os.Stat(p("package3.tar")); err == nil {
		t.Fatalf("refused export left a file: %v", fi)
	}
}

// signTimeEvidence writes a signed time-evidence record (the template)
// and returns its digest.
func signTimeEvidence(t *testing.T, out, key string) string {
	t.Helper()
	pred := filepath.Join(filepath.Dir(out), "te.pred.json")
	if err := os.WriteFile(pred, record.Template("time-evidence"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCmd(t, "record create", "--type", "time-evidence", "--predicate", pred, "--key", key, "-o", out)
	if code != 0 {
		t.Fatalf("time evidence: %d %s %s", code, stdout, stderr)
	}
	return strings.Fields(stderr)[len(strings.Fields(stderr))-3]
}
