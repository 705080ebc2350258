package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dossier-audit/dossier/cmd/internal/cli"
	"github.com/dossier-audit/dossier/pkg/client/clienttest"
)

func runWithEnv(t *testing.T, vars map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	env := &cli.Env{Prog: "dossier", Stdout: &out, Stderr: &errb,
		Now:    func() time.Time { return time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC) },
		Getenv: func(k string) string { return vars[k] }}
	code := commands.Main(env, args, "", "")
	return code, out.String(), errb.String()
}

func TestSubmitCommands(t *testing.T) {
	srv := clienttest.New("tok")
	defer srv.Close()
	d := t.TempDir()
	vars := map[string]string{"DOSSIER_URL": srv.URL, "DOSSIER_TOKEN": "tok", "DOSSIER_OUTBOX": filepath.Join(d, "outbox"),
		"DOSSIER_RUN_ID": "cli-run", "DOSSIER_PRODUCER_ID": "workload:ci", "HOME": d}
	must := func(name string, code int, args ...string) string {
		t.Helper()
		got, stdout, stderr := runWithEnv(t, vars, args...)
		if got != code {
			t.Fatalf("%s: exit %d (want %d)\nstdout: %s\nstderr: %s", name, got, code, stdout, stderr)
		}
		return stdout
	}
	pred := filepath.Join(d, "p.json")
	os.WriteFile(pred, []byte(`{"name":"train"}`), 0o644)
	srv.Refuse(true)
	if out := must("queued", 0, "submit", "--type", "dataset", "--predicate", pred); !strings.HasPrefix(out, "queued dk1-") {
		t.Fatalf("submit while refused: %q", out)
	}
	must("close queued", 0, "submit close", "--status", "failed", "--reason", "node lost")
	must("flush while refused", 3, "submit flush")
	srv.Refuse(false)
	if out := must("flush", 0, "submit flush"); out != "delivered 2, refused 0, pending 0\n" {
		t.Fatalf("flush: %q", out)
	}
	got := srv.Accepted()
	if len(got) != 2 || got[0].Kind != "dataset" || got[1].Kind != "run-closed" || got[1].Predicate["reason"] != "node lost" {
		t.Fatalf("accepted %+v", got)
	}
	must("direct", 0, "submit", "--type", "evaluation", "--predicate", pred)
	srv.RejectKind("attachment")
	must("refused for good", 1, "submit", "--type", "attachment", "--predicate", pred)
	must("usage: no kind", 2, "submit", "--predicate", pred)
	must("usage: close without reason", 2, "submit close", "--status", "aborted")
	os.WriteFile(filepath.Join(d, "spool.tar"), []byte("a spool tar"), 0o644)
	if out := must("import --url", 0, "import", "--url", srv.URL, "--carried-by", "person:m1:Max", filepath.Join(d, "spool.tar")); !strings.HasPrefix(out, "imported 1 of 1") {
		t.Fatalf("import --url: %q", out)
	}
	if got := srv.Imports(); len(got) != 1 || got[0] != "person:m1:Max" {
		t.Fatalf("imports %v", got)
	}
	must("import without --url needs the local log", 2, "import", "--carried-by", "person:m1:Max", filepath.Join(d, "spool.tar"))
	vars["DOSSIER_URL"] = ""
	must("usage: no url", 2, "submit", "--type", "dataset", "--predicate", pred)
}
