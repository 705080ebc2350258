package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/dossier-audit/dossier/cmd/internal/cli"
)

func TestExitCodes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		args []string
		env  map[string]string
		code int
		err  string
	}{
		{"help", []string{"-h"}, nil, 0, ""},
		{"unknown flag", []string{"-nope"}, nil, 2, "flag provided but not defined"},
		{"missing keys", []string{"-data-dir", t.TempDir()}, nil, 2, "logKey is required"},
		{"bad policy from env", []string{"-data-dir", "x", "-log-key", "k", "-ingest-key", "k"},
			map[string]string{"DOSSIERD_TIME_ON_BAD": "ignore"}, 2, `time.onBad is "ignore"`},
		{"missing config file", []string{"-config", "/nonexistent/dossierd.json"}, nil, 2, "no such file"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			env := &cli.Env{Prog: "dossierd", Stderr: &stderr, Stdout: &bytes.Buffer{},
				Getenv: func(k string) string { return tc.env[k] }}
			if code := run(env, tc.args); code != tc.code {
				t.Fatalf("exit %d, want %d: %s", code, tc.code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.err) {
				t.Fatalf("stderr %q lacks %q", stderr.String(), tc.err)
			}
		})
	}
}
