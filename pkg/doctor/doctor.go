// Package doctor checks a dossierd deployment before (or while) it runs:
// the configuration, the time sources, the keys and the keyring, the data
// and log directories, the registry and the listeners. Every check says
// what it found and, when something is wrong, what to do about it.
package doctor

import (
	"context"
	"net/http"
	"time"

	"github.com/dossier-audit/dossier/pkg/ingest"
)

// Status of one check.
type Status string

// Statuses, from best to worst.
const (
	OK   Status = "ok"
	Skip Status = "skip"
	Warn Status = "warn"
	Fail Status = "fail"
)

// Check is the outcome of one check.
type Check struct {
	Name   string `json:"name"`
	Status Status `json:"status"`
	Detail string `json:"detail"`
	// Fix says what to do; empty when nothing needs doing.
	Fix string `json:"fix,omitempty"`
}

// Report is every check, in order.
type Report struct {
	Checks []Check `json:"checks"`
	// Healthy is false when any check failed (warnings do not count).
	Healthy bool `json:"healthy"`
}

// Options inject the environment of the checks.
type Options struct {
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Getenv reads the key password variable; default none.
	Getenv func(string) string
	// HTTP probes the registry and the listeners; default a 5 s client.
	HTTP *http.Client
	// NTPTimeout bounds each NTP query; default 2 s.
	NTPTimeout time.Duration
}

// Run checks the deployment described by cfg.
func Run(ctx context.Context, cfg ingest.Config, opts Options) *Report {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Getenv == nil {
		opts.Getenv = func(string) string { return "" }
	}
	if opts.HTTP == nil {
		opts.HTTP = &http.Client{Timeout: 5 * time.Second}
	}
	d := &doctor{cfg: cfg, opts: opts}
	d.config()
	d.time(ctx)
	d.keys(ctx)
	d.dataDir()
	d.log()
	d.registry(ctx)
	d.listener(ctx, "ingest", cfg.Ingest)
	d.listener(ctx, "review", cfg.Review)
	return finish(d)
}

type doctor struct {
	cfg    ingest.Config
	opts   Options
	checks []Check
	// ingestKeyID and logVKey are found by keys and used by later checks.
	ingestKeyID string
	logVKey     string
}

func (d *doctor) add(name string, s Status, detail, fix string) {
	d.checks = append(d.checks, Check{Name: name, Status: s, Detail: detail, Fix: fix})
}
