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

// runPredicateCmd runs "dossier predicate ..." in-process with stdin and
// returns the exit code, stdout and stderr.
func runPredicateCmd(stdin string, args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	env := &cli.Env{Prog: "dossier", Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb,
		Now: time.Now, Getenv: func(string) string { return "" }}
	code := commands.Main(env, append([]string{"predicate"}, args...), "", "")
	return code, out.String(), errb.String()
}

func writeTemp(t *testing.T, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPredicateInitAndList(t *testing.T) {
	t.Parallel()
	code, out, _ := runPredicateCmd("", "init", "approval")
	if code != 0 || out != string(record.Template("approval")) {
		t.Fatalf("init approval: exit %d, output %q", code, out)
	}
	code, out, errOut := runPredicateCmd("", "init", "keyring")
	if code != cli.ExitUsage || out != "" || !strings.Contains(errOut, `unknown record kind "keyring"`) ||
		!strings.Contains(errOut, "hint: known kinds: dataset, training-run") {
		t.Fatalf("init unknown: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if code, _, _ := runPredicateCmd("", "init"); code != cli.ExitUsage {
		t.Fatalf("init without kind: exit %d", code)
	}
	code, out, _ = runPredicateCmd("", "list")
	if code != 0 || !strings.Contains(out, "time-evidence") || !strings.Contains(out, "https://dossier.dev/predicates/deployment/v1") {
		t.Fatalf("list: exit %d, output %q", code, out)
	}
	code, out, _ = runPredicateCmd("", "list", "--json")
	var kinds []record.Kind
	if code != 0 || json.Unmarshal([]byte(out), &kinds) != nil || len(kinds) != len(record.Kinds()) || !kinds[0].RunScoped {
		t.Fatalf("list --json: exit %d, output %q", code, out)
	}
}

func TestPredicateLint(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := writeTemp(t, dir, "dataset.json", record.Template("dataset"))
	bad := writeTemp(t, dir, "bad.json", []byte(`{"runId":"r 1","runId":"x","attempt":1}`))
	broken := writeTemp(t, dir, "broken.json", bytes.ReplaceAll(record.Template("evaluation"), []byte(`"pass"`), []byte(`"passed"`)))
	stmt, err := record.NewStatement([]record.ResourceDescriptor{record.RunSubject("llama3-ft-2026-11-27-001", strings.Repeat("ab", 32))},
		record.PredicateTypePrefix+"run-closed/v1", record.Template("run-closed"))
	if err != nil {
		t.Fatal(err)
	}
	statement := writeTemp(t, dir, "statement.json", stmt)
	missing := filepath.Join(dir, "missing.json")
	for _, tc := range []struct {
		name   string
		stdin  string
		args   []string
		code   int
		stdout []string
		stderr string
	}{
		{"good predicate", "", []string{"lint", "--type", "dataset", good}, 0,
			[]string{good + ": ok (https://dossier.dev/predicates/dataset/v1)"}, ""},
		{"flag after file", "", []string{"lint", good, "--type", record.PredicateTypePrefix + "dataset/v1"}, 0,
			[]string{good + ": ok"}, ""},
		{"statement autodetected", "", []string{"lint", statement}, 0,
			[]string{statement + ": ok (https://dossier.dev/predicates/run-closed/v1)"}, ""},
		{"statement of another type", "", []string{"lint", "--type", "dataset", statement}, 1,
			[]string{statement + `: predicateType: unexpected predicate type: "https://dossier.dev/predicates/run-closed/v1", want`}, "1 of 1 files have findings"},
		{"duplicate key", "", []string{"lint", "--type", "dataset", bad}, 1,
			[]string{bad + `: runId: duplicate key: "runId"`}, "error: 1 of 1 files have findings"},
		{"every finding", "", []string{"lint", "--type", "evaluation", broken}, 1,
			[]string{broken + `: verdict: value not allowed: "passed"`}, ""},
		{"stdin", string(record.Template("attachment")), []string{"lint", "--type", "attachment", "-"}, 0,
			[]string{"-: ok (https://dossier.dev/predicates/attachment/v1)"}, ""},
		{"json", "", []string{"lint", "--json", "--type", "evaluation", broken}, 1,
			[]string{`"ok":false`, `"path":"verdict","code":"enum"`}, ""},
		{"unreadable", "", []string{"lint", "--type", "dataset", missing}, 3, nil, "could not be read"},
		{"bare predicate without type", "", []string{"lint", good}, 2, nil, "pass --type KIND"},
		{"unknown type", "", []string{"lint", "--type", "nope", good}, 2, nil, `unknown record kind "nope"`},
		{"no file", "", []string{"lint"}, 2, nil, "needs at least one FILE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, out, errOut := runPredicateCmd(tc.stdin, tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, out, errOut)
			}
			for _, want := range tc.stdout {
				if !strings.Contains(out, want) {
					t.Errorf("stdout %q lacks %q", out, want)
				}
			}
			if !strings.Contains(errOut, tc.stderr) {
				t.Errorf("stderr %q lacks %q", errOut, tc.stderr)
			}
		})
	}
}
