package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/dossier-audit/dossier/cmd/internal/cli"
)

func TestConsoleUsage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no flags", nil, 2, "console needs --log"},
		{"no tokens", []string{"--log", "d", "--log-key", "k", "--runs", "r", "--keyring", "kr"}, 2, "--tokens"},
		{"negative max-run-records", []string{"--log", "d", "--log-key", "k", "--runs", "r", "--keyring", "kr", "--tokens", "t", "--max-run-records", "-1"}, 2, "--max-run-records is -1"},
		{"missing keyring file", []string{"--log", "d", "--log-key", "k", "--runs", "r", "--keyring", "/nonexistent/kr", "--tokens", "t"}, 3, "nonexistent"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var out, errb bytes.Buffer
			env := &cli.Env{Prog: "dossier", Stdout: &out, Stderr: &errb, Now: time.Now, Getenv: func(string) string { return "" }}
			code := commands.Main(env, append([]string{"console"}, tc.args...), "", "")
			if code != tc.code || !strings.Contains(errb.String(), tc.want) {
				t.Fatalf("exit %d, want %d; stderr %q lacks %q", code, tc.code, errb.String(), tc.want)
			}
		})
	}
}
