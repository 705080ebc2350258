package main

import (
	"bytes"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dossier-audit/dossier/cmd/internal/cli"
	"github.com/dossier-audit/dossier/pkg/tsa/tsatest"
)

// runAnchorCmd runs one dossier command in-process.
func runAnchorCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	env := &cli.Env{Prog: "dossier", Stdout: &out, Stderr: &errb, Now: time.Now, Getenv: func(string) string { return "" }}
	return commands.Main(env, args, "", ""), out.String(), errb.String()
}

func TestTSACommands(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	now := time.Now()
	ca := tsatest.NewCA(t, "Test TSA Root", now.Add(-time.Hour))
	leaf := ca.Issue(t, "Test TSA", now.Add(-time.Hour), now.Add(time.Hour))
	chain := filepath.Join(dir, "chain.pem")
	cp := filepath.Join(dir, "checkpoint")
	other := filepath.Join(dir, "other")
	for p, b := range map[string][]byte{chain: tsatest.PEM(leaf.Chain...), cp: []byte("log\n1\nAAAA\n\n— log x\n"), other: []byte("other")} {
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	good := tsatest.NewFake(t, leaf, tsatest.OK).URL()
	wrong := tsatest.NewFake(t, leaf, tsatest.WrongImprint).URL()
	token := filepath.Join(dir, "token.tsr")
	tests := []struct {
		name string
		args []string
		code int
		out  string
	}{
		{"stamp", []string{"tsa", "stamp", "--url", good, "--checkpoint", cp, "--chain", chain, "-o", token}, 0, "genTime"},
		{"verify", []string{"tsa", "verify", "--token", token, "--data", cp, "--chain", chain, "--json"}, 0, `"genTime"`},
		{"verify other bytes", []string{"tsa", "verify", "--token", token, "--data", other, "--chain", chain}, 1, ""},
		{"stamp wrong imprint", []string{"tsa", "stamp", "--url", wrong, "--checkpoint", cp, "--chain", chain, "-o", filepath.Join(dir, "w.tsr")}, 1, ""},
		{"stamp TSA down", []string{"tsa", "stamp", "--url", "http://127.0.0.1:1/api/v1/timestamp", "--checkpoint", cp, "--chain", chain, "-o", filepath.Join(dir, "d.tsr")}, 3, ""},
		{"usage", []string{"tsa", "verify", "--token", token}, 2, ""},
	}
	for _, tt := range tests { // in order: verify reads the token stamp wrote
		code, out, errOut := runAnchorCmd(t, tt.args...)
		if code != tt.code || !strings.Contains(out, tt.out) {
			t.Fatalf("%s: exit %d, want %d\nstdout: %s\nstderr: %s", tt.name, code, tt.code, out, errOut)
		}
	}
}

func TestWitnessCommands(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	logDir, keys := filepath.Join(dir, "log"), filepath.Join(dir, "keys")
	mustRun(t, "log", "init", "--dir", logDir, "--origin", "audit.example.internal/log", "--key-out", filepath.Join(keys, "log"))
	appendLeaves(t, dir, logDir, keys, 0, 3)
	mustRun(t, "witness", "keygen", "--name", "secops.example.internal/witness", "--key-out", filepath.Join(keys, "w1"))
	srv, err := newWitnessServer(filepath.Join(keys, "w1.key"), filepath.Join(dir, "state"), []string{filepath.Join(keys, "log.vkey")})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	cosigned := filepath.Join(dir, "cosigned")
	mustRun(t, "witness", "add", "--url", hs.URL, "--log", logDir, "--witness-vkey", filepath.Join(keys, "w1.vkey"), "-o", cosigned)
	policy := writePolicy(t, dir, keys, "quorum w1\n")
	if code, out, errOut := runAnchorCmd(t, "witness", "verify", "--policy", policy, cosigned); code != 0 || !strings.Contains(out, "quorum     met") {
		t.Fatalf("witness verify: exit %d\n%s%s", code, out, errOut)
	}
	strict := writePolicy(t, dir, keys, "witness w2 "+readTrim(t, filepath.Join(keys, "w1.vkey"))+"\nquorum w1\n")
	if code, _, _ := runAnchorCmd(t, "witness", "verify", "--policy", strict, cosigned); code != 2 {
		t.Fatalf("duplicate witness key accepted: exit %d", code)
	}
	// The log grows; the client starts from 0, gets 409 and re-proves from
	// the witness's size using the log's tiles.
	appendLeaves(t, dir, logDir, keys, 3, 9)
	mustRun(t, "witness", "add", "--url", hs.URL, "--log", logDir, "--witness-vkey", filepath.Join(keys, "w1.vkey"), "-o", cosigned)
	code, out, errOut := runAnchorCmd(t, "witness", "verify", "--policy", policy, "--json", cosigned)
	if code != 0 || !strings.Contains(out, `"size": 9`) {
		t.Fatalf("witness verify after growth: exit %d\n%s%s", code, out, errOut)
	}
}

func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errOut := runAnchorCmd(t, args...)
	if code != 0 {
		t.Fatalf("%s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

func appendLeaves(t *testing.T, dir, logDir, keys string, from, to int) {
	t.Helper()
	args := []string{"log", "append", "--dir", logDir, "--key", filepath.Join(keys, "log.key"), "--stream", "export"}
	for i := from; i < to; i++ {
		p := filepath.Join(dir, fmt.Sprintf("bundle-%d", i))
		if err := os.WriteFile(p, []byte(fmt.Sprintf(`{"n":%d}`, i)), 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, p)
	}
	mustRun(t, args...)
}

func writePolicy(t *testing.T, dir, keys, extra string) string {
	t.Helper()
	p := filepath.Join(dir, fmt.Sprintf("policy-%d", time.Now().UnixNano()))
	text := "log " + readTrim(t, filepath.Join(keys, "log.vkey")) + "\nwitness w1 " + readTrim(t, filepath.Join(keys, "w1.vkey")) + "\n" + extra
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func readTrim(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func TestAnchorCommands(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	logDir, keys, store := filepath.Join(dir, "log"), filepath.Join(dir, "keys"), filepath.Join(dir, "anchors")
	mustRun(t, "log", "init", "--dir", logDir, "--origin", "audit.example.internal/log", "--key-out", filepath.Join(keys, "log"))
	appendLeaves(t, dir, logDir, keys, 0, 4)
	mustRun(t, "witness", "keygen", "--name", "secops.example.internal/witness", "--key-out", filepath.Join(keys, "w1"))
	srv, err := newWitnessServer(filepath.Join(keys, "w1.key"), filepath.Join(dir, "state"), []string{filepath.Join(keys, "log.vkey")})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	now := time.Now()
	ca := tsatest.NewCA(t, "Test TSA Root", now.Add(-time.Hour))
	fake := tsatest.NewFake(t, ca.Issue(t, "Test TSA", now.Add(-time.Hour), now.Add(time.Hour)), tsatest.BadStatus)
	chain := filepath.Join(dir, "chain.pem")
	if err := os.WriteFile(chain, tsatest.PEM(ca.Cert), 0o644); err != nil {
		t.Fatal(err)
	}
	common := []string{"--log", logDir, "--log-vkey", filepath.Join(keys, "log.vkey"), "--store", store}
	run := append([]string{"anchor", "run", "--tsa", "tsa=" + fake.URL(), "--tsa-chain", "tsa=" + chain, "--witness", "secops=" + hs.URL}, common...)
	if code, out, errOut := runAnchorCmd(t, run...); code != 3 || !strings.Contains(out, `"backlog": [`) {
		t.Fatalf("anchor run with the TSA down: exit %d, want 3\n%s%s", code, out, errOut)
	}
	fake.Fault = tsatest.OK
	if out := mustRun(t, run...); !strings.Contains(out, `"backlog": []`) {
		t.Fatalf("anchor run: backlog left:\n%s", out)
	}
	cp := filepath.Join(dir, "package-checkpoint")
	if err := os.WriteFile(cp, []byte(mustRun(t, "log", "checkpoint", "--dir", logDir)), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "anchors.json")
	mustRun(t, append([]string{"anchor", "build", "--tsa", "tsa=" + fake.URL(), "--tsa-chain", "tsa=" + chain, "--checkpoint", cp, "--index", "0", "--index", "3", "-o", out}, common...)...)
	b, err := os.ReadFile(out)
	if err != nil || !strings.Contains(string(b), `"tsa":"tsa"`) || !strings.Contains(string(b), "secops.example.internal/witness") {
		t.Fatalf("anchors.json: %s, %v", b, err)
	}
}

func TestWitnessServeErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	busy := httptest.NewServer(nil)
	t.Cleanup(busy.Close)
	keys := filepath.Join(dir, "keys")
	mustRun(t, "witness", "keygen", "--name", "w.example/w", "--key-out", filepath.Join(keys, "w"))
	mustRun(t, "log", "init", "--dir", filepath.Join(dir, "log"), "--origin", "audit.example.internal/log", "--key-out", filepath.Join(keys, "log"))
	tests := []struct {
		name string
		args []string
		code int
	}{
		{"no log key", []string{"--state", dir, "--key", filepath.Join(keys, "w.key")}, 2},
		{"log key is not a vkey", []string{"--state", dir, "--key", filepath.Join(keys, "w.key"), "--log-vkey", filepath.Join(keys, "w.key")}, 2},
		{"address in use", []string{"--listen", strings.TrimPrefix(busy.URL, "http://"), "--state", filepath.Join(dir, "state"),
			"--key", filepath.Join(keys, "w.key"), "--log-vkey", filepath.Join(keys, "log.vkey")}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if code, out, errOut := runAnchorCmd(t, append([]string{"witness", "serve"}, tt.args...)...); code != tt.code {
				t.Fatalf("exit %d, want %d\n%s%s", code, tt.code, out, errOut)
			}
		})
	}
}
