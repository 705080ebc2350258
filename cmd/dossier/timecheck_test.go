package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/dossier-audit/dossier/cmd/internal/cli"
	"github.com/dossier-audit/dossier/pkg/ntp/ntptest"
	"github.com/dossier-audit/dossier/pkg/timecheck"
)

// runTimecheckCmd runs "dossier timecheck" in-process and returns the exit
// code, stdout and stderr.
func runTimecheckCmd(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	env := &cli.Env{Prog: "dossier", Stdout: &out, Stderr: &errb, Now: time.Now,
		Getenv: func(string) string { return "" }}
	code := commands.Main(env, append([]string{"timecheck"}, args...), "", "")
	return code, out.String(), errb.String()
}

func TestTimecheckCommand(t *testing.T) {
	t.Parallel()
	g1, g2, g3 := ntptest.New(t, ntptest.Good()), ntptest.New(t, ntptest.Good()), ntptest.New(t, ntptest.Good())
	local := ntptest.New(t, ntptest.ChronyLocal())
	silent := ntptest.New(t, ntptest.Behavior{Silent: true})
	goods := g1.Addr() + "," + g2.Addr()
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout []string
		stderr string
	}{
		{"good", []string{"--server", goods, "--server", g3.Addr(), "--samples", "3"}, 0,
			[]string{"SERVER", "GPS", "truechimer", "verdict:     good", "3 agreeing, 3 required", "diagnosis:   3 sources agree"}, ""},
		{"degraded", []string{"--server", goods}, 1,
			[]string{"verdict:     degraded", "configure more NTP servers"}, "dossier: error: time is degraded"},
		{"local mode", []string{"--server", local.Addr()}, 1,
			[]string{"127.127.1.1", "verdict:     untraceable", "error bound: none proved",
				"runs in local mode (stratum 10, refid 127.127.1.1): point it at a GPS or upstream source, or accept untraceable time in the policy"},
			"time is untraceable"},
		{"local mode allowed", []string{"--server", local.Addr(), "--allow-untraceable", "--min-agreeing", "1"}, 0,
			[]string{"verdict:     untraceable", "allowed by policy"}, ""},
		{"no answer", []string{"--server", silent.Addr(), "--timeout", "200ms"}, 3,
			[]string{"no answer", "verdict:     bad"}, "no NTP server answered"},
		{"no server", nil, 2, nil, "at least one --server is required"},
		{"bad address", []string{"--server", "host:0"}, 2, nil, "invalid NTP server address"},
		{"bad limit", []string{"--server", goods, "--max-error", "0s"}, 2, nil, "must be positive"},
		{"stray argument", []string{"--server", goods, "extra"}, 2, nil, "takes no arguments"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := runTimecheckCmd(tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, stdout, stderr)
			}
			for _, want := range tc.stdout {
				if !strings.Contains(stdout, want) {
					t.Errorf("stdout lacks %q:\n%s", want, stdout)
				}
			}
			if !strings.Contains(stderr, tc.stderr) {
				t.Errorf("stderr %q lacks %q", stderr, tc.stderr)
			}
		})
	}
}

func TestTimecheckJSON(t *testing.T) {
	t.Parallel()
	srv := ntptest.New(t, ntptest.Good())
	code, stdout, _ := runTimecheckCmd("--server", srv.Addr(), "--json", "--min-agreeing", "1", "--max-error", "20ms")
	if code != 0 {
		t.Fatalf("exit %d, want 0:\n%s", code, stdout)
	}
	var r timecheck.Result
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("stdout is not a time-evidence JSON: %v\n%s", err, stdout)
	}
	if r.Verdict != timecheck.Good || r.Policy.MaxError != 20*time.Millisecond || r.Required != 1 ||
		len(r.Sources) != 1 || r.Sources[0].RefID != "GPS" {
		t.Errorf("unexpected evidence: %+v", r)
	}
}
