package ingest

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestConfigPrecedence(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "dossierd.json")
	must(t, os.WriteFile(path, []byte(`{"dataDir":"/from-file","logKey":"f.key","ingestKey":"i.key","name":"file",
		"time":{"servers":["ntp1:123"],"interval":"30s","onBad":"flag","onDegraded":"flag","onUntraceable":"flag","onUnknown":"flag"}}`), 0o600))
	env := map[string]string{"DOSSIERD_NAME": "env", "DOSSIERD_TIME_INTERVAL": "45s"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	fs := flag.NewFlagSet("dossierd", flag.ContinueOnError)
	cfg, err := ConfigFromArgs(fs, []string{"-config", path, "-time-interval", "1m", "-ingest-addr", "127.0.0.1:9"}, lookup,
		func(fs *flag.FlagSet, a []string) error { return fs.Parse(a) })
	must(t, err)
	if cfg.DataDir != "/from-file" || cfg.Name != "env" || cfg.Time.Interval.D() != time.Minute ||
		cfg.Ingest.Addr != "127.0.0.1:9" || cfg.Time.OnBad != PolicyFlag || cfg.Limits.MaxBodyBytes != 4<<20 {
		t.Fatalf("config %+v", cfg)
	}
}

func TestConfigRefusals(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cases := []struct{ name, file, want string }{
		{"unknown field", `{"dataDir":"x","bogus":1}`, "bogus"},
		{"bad duration", `{"idempotencyTTL":"soon"}`, "duration"},
		{"bad policy", `{"dataDir":"d","logKey":"k","ingestKey":"k","time":{"onBad":"maybe"}}`, "onBad"},
		{"keyring without root", `{"dataDir":"d","logKey":"k","ingestKey":"k","keyring":["k1"]}`, "keyringRoot"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".json")
			must(t, os.WriteFile(p, []byte(tc.file), 0o600))
			cfg := DefaultConfig()
			err := cfg.LoadConfigFile(p)
			if err == nil {
				err = cfg.Validate()
			}
			if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want ErrConfig mentioning %q", err, tc.want)
			}
		})
	}
}

func TestMetricsExposition(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, testConfig(t))
	registerRun(t, d, testRunID)
	submit(t, d, testRunID, datasetBody(t, testRunID, 0), "")
	r := do(t, "GET", d.url+"/metrics", tokOperator, nil)
	if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain") {
		t.Fatalf("metrics: %d %s", r.status, r.header.Get("Content-Type"))
	}
	for _, want := range []string{
		`dossierd_requests_total{listener="ingest",route="submit",code="201"} 1`,
		`dossierd_request_duration_seconds_bucket{route="submit",le="+Inf"} 1`,
		"dossierd_records_acknowledged_total 1", "dossierd_queue_depth 0", "dossierd_push_backlog ",
		"dossierd_journal_fsync_seconds_count ", "dossierd_clock_error_bound_seconds 0",
		`dossierd_time_verdict{verdict="untraceable"} 1`, "dossierd_checkpoint_size ", "dossierd_checkpoint_age_seconds ",
	} {
		if !strings.Contains(string(r.body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}
