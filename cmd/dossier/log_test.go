package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dossier-audit/dossier/cmd/internal/cli"
)

func runLogCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	env := &cli.Env{Prog: "dossier", Stdout: &out, Stderr: &errb, Now: time.Now,
		Getenv: func(string) string { return "" }}
	code := commands.Main(env, append([]string{"log"}, args...), "", "")
	return code, out.String(), errb.String()
}

func TestLogCommands(t *testing.T) {
	d := t.TempDir()
	p := func(s string) string { return filepath.Join(d, s) }
	for i, b := range []string{`{"a":1}`, `{"a":2}`, `{"a":3}`} {
		if err := os.WriteFile(p("b"+string(rune('1'+i))+".json"), []byte(b), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"init", []string{"init", "--dir", p("log"), "--origin", "example.test/log", "--key-out", p("trust/log")}, 0, "vkey example.test/log+", ""},
		{"init again", []string{"init", "--dir", p("log"), "--origin", "example.test/log", "--key-out", p("other/log")}, 2, "", "log already exists"},
		{"other key", []string{"init", "--dir", p("log2"), "--origin", "example.test/log", "--key-out", p("other/log")}, 0, "", ""},
		{"append", []string{"append", "--dir", p("log"), "--key", p("trust/log.key"), "--stream", "export", p("b1.json"), p("b2.json")}, 0, "1 export 1 sha256:", ""},
		{"save old checkpoint", []string{"prove", "--dir", p("log"), "--index", "0", "-o", p("old.proof")}, 0, "", ""},
		{"append no stream", []string{"append", "--dir", p("log"), "--key", p("trust/log.key"), p("b3.json")}, 1, "", "pass --stream"},
		{"append json", []string{"append", "--dir", p("log"), "--key", p("trust/log.key"), "--stream", "keyring", "--json", p("b3.json")}, 0, `"seq":0`, ""},
		{"append again", []string{"append", "--dir", p("log"), "--key", p("trust/log.key"), "--stream", "keyring", "--json", p("b3.json")}, 0, `"existing":true`, ""},
		{"checkpoint", []string{"checkpoint", "--dir", p("log"), "--vkey", p("trust/log.vkey")}, 0, "example.test/log\n3\n", ""},
		{"checkpoint other key", []string{"checkpoint", "--dir", p("log"), "--vkey", p("other/log.vkey")}, 1, "", "checkpoint signature not verified"},
		{"prove bundle", []string{"prove", "--dir", p("log"), "--bundle", p("b2.json"), "-o", p("b2.proof")}, 0, "", ""},
		{"verify", []string{"verify", "--vkey", p("trust/log.vkey"), "--proof", p("b2.proof"), "--bundle", p("b2.json")}, 0, "verified: leaf 1", ""},
		{"verify wrong bundle", []string{"verify", "--vkey", p("trust/log.vkey"), "--proof", p("b2.proof"), "--bundle", p("b1.json")}, 1, "", "leaf does not match"},
		{"verify other key", []string{"verify", "--vkey", p("other/log.vkey"), "--proof", p("b2.proof")}, 1, "", "checkpoint signature not verified"},
		{"verify usage", []string{"verify", "--proof", p("b2.proof")}, 2, "", "needs --vkey"},
		{"prove usage", []string{"prove", "--dir", p("log"), "--index", "1", "--bundle", p("b1.json")}, 2, "", "exactly one"},
		{"prove missing", []string{"prove", "--dir", p("log"), "--index", "9"}, 1, "", "not in the log"},
	}
	for _, s := range steps {
		code, stdout, stderr := runLogCmd(t, s.args...)
		if code != s.code || !strings.Contains(stdout, s.stdout) || !strings.Contains(stderr, s.stderr) {
			t.Fatalf("%s: exit %d (want %d)\nstdout: %s\nstderr: %s", s.name, code, s.code, stdout, stderr)
		}
	}
	// Consistency: the checkpoint inside old.proof (size 2) to the current one (size 3).
	old, _ := os.ReadFile(p("old.proof"))
	_, cp, _ := strings.Cut(string(old), "\n\n")
	os.WriteFile(p("old.cp"), []byte(cp), 0o644)
	cur, _ := os.ReadFile(p("log/checkpoint"))
	os.WriteFile(p("cur.cp"), cur, 0o644)
	for _, s := range []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"consistency", []string{"consistency", "--dir", p("log"), "--old", p("old.cp"), "-o", p("c.proof")}, 0, ""},
		{"verify consistency", []string{"verify", "--vkey", p("trust/log.vkey"), "--proof", p("c.proof"), "--old", p("old.cp")}, 0, ""},
		{"verify consistency new", []string{"verify", "--vkey", p("trust/log.vkey"), "--proof", p("c.proof"), "--old", p("old.cp"), "--new", p("cur.cp")}, 0, ""},
		{"verify consistency other new", []string{"verify", "--vkey", p("trust/log.vkey"), "--proof", p("c.proof"), "--old", p("old.cp"), "--new", p("old.cp")}, 1, "is not the one"},
		{"consistency without old", []string{"verify", "--vkey", p("trust/log.vkey"), "--proof", p("c.proof")}, 2, "needs --old"},
		{"trusted is newer", []string{"verify", "--vkey", p("trust/log.vkey"), "--proof", p("c.proof"), "--old", p("cur.cp")}, 1, "consistency proof does not verify"},
		{"other log's checkpoint", []string{"consistency", "--dir", p("log2"), "--old", p("old.cp")}, 1, "smaller"},
	} {
		code, stdout, stderr := runLogCmd(t, s.args...)
		if code != s.code || !strings.Contains(stderr, s.stderr) {
			t.Fatalf("%s: exit %d (want %d)\nstdout: %s\nstderr: %s", s.name, code, s.code, stdout, stderr)
		}
	}
}
