package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSpoolPackImport is the air-gap scenario: records written to a spool
// with no network, packed, verified and imported on the other side, twice
// (the second import changes nothing), and a damaged tar refused.
func TestSpoolPackImport(t *testing.T) {
	d := t.TempDir()
	p := func(s string) string { return filepath.Join(d, s) }
	must := func(name string, code int, args ...string) string {
		t.Helper()
		got, stdout, stderr := runCmd(t, args...)
		if got != code {
			t.Fatalf("%s: exit %d (want %d)\nstdout: %s\nstderr: %s", name, got, code, stdout, stderr)
		}
		return stdout
	}
	must("key producer", 0, "key generate", "--output", p("producer"))
	must("key importer", 0, "key generate", "--output", p("importer"))
	must("key other", 0, "key generate", "--output", p("other"))
	must("run", 0, "run init", "--id", "gap-run-1", "--project", "p", "--model", "acme/m", "--started-by", "workload:train",
		"--started-at", "2026-11-27T08:00:00Z", "-o", p("run.json"))
	for i, kind := range []string{"dataset", "training-run", "run-closed"} {
		f := p(kind + ".json")
		writePredicate(t, f, kind, "gap-run-1", "sha256:"+strings.Repeat("ab", 32))
		out := must("spool "+kind, 0, "spool", "--dir", p("spool"), "--run", p("run.json"), "--type", kind,
			"--predicate", f, "--key", p("producer.key"), "--id", "spool-test", "--origin", "node-17")
		if !strings.HasPrefix(out, []string{"1 ", "2 ", "3 "}[i]) {
			t.Fatalf("spool %s printed %q", kind, out)
		}
	}
	must("spool: usage", 2, "spool", "--dir", p("spool"), "--run", p("run.json"))
	must("pack", 0, "spool pack", "--dir", p("spool"), "--key", p("producer.key"), "--packed-by", "workload:slurm/job:training job", "-o", p("spool.tar"))
	must("pack: never overwrites", 3, "spool pack", "--dir", p("spool"), "--key", p("producer.key"), "--packed-by", "workload:x:y", "-o", p("spool.tar"))
	must("verify", 0, "spool verify", "--trust", p("producer.pub"), p("spool.tar"))
	must("verify: untrusted", 1, "spool verify", "--trust", p("other.pub"), p("spool.tar"))
	must("key root", 0, "key generate", "--output", p("root"))
	kr := must("keyring", 0, "keyring create", "--root-key", p("root.key"), "-o", p("keyring-v1.json"),
		"--add", "root:"+p("root.pub")+":Root:person:r1:sec", "--add", "producer:"+p("producer.pub")+":Pipeline:workload:train:ml")
	pin := strings.Fields(kr)[0]
	must("verify with keyring", 0, "spool verify", "--keyring", p("keyring-v1.json"), "--keyring-root", pin, p("spool.tar"))
	must("verify with keyring: wrong pin", 1, "spool verify", "--keyring", p("keyring-v1.json"), "--keyring-root", "SHA256:"+strings.Repeat("A", 43), p("spool.tar"))
	must("verify: both trust flags", 2, "spool verify", "--trust", p("producer.pub"), "--keyring", p("keyring-v1.json"), p("spool.tar"))
	must("log init", 0, "log init", "--dir", p("log"), "--origin", "example.test/import", "--key-out", p("logkey"))
	imp := []string{"import", "--log", p("log"), "--log-key", p("logkey.key"), "--layout", p("layout"), "--key", p("importer.key"),
		"--carried-by", "person:m41877:Max Mustermann", "--importer", "person:e30211:Erika Musterfrau", "--trust", p("producer.pub"), "--json"}
	var first, second struct {
		Imported, AlreadyPresent int
		Transfer                 string
		TransferExisting         bool
	}
	json.Unmarshal([]byte(must("import", 0, append(imp, p("spool.tar"))...)), &first)
	json.Unmarshal([]byte(must("import again", 0, append(imp, p("spool.tar"))...)), &second)
	if first.Imported != 3 || second.Imported != 0 || second.AlreadyPresent != 3 || !second.TransferExisting || second.Transfer != first.Transfer {
		t.Fatalf("imports: %+v then %+v", first, second)
	}
	b, _ := os.ReadFile(p("spool.tar"))
	b[len(b)/2] ^= 0xff
	os.WriteFile(p("bad.tar"), b, 0o644)
	must("import damaged", 1, append(imp, p("bad.tar"))...)
}
