package ingest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/dossier-audit/dossier/pkg/ntp"
	"github.com/dossier-audit/dossier/pkg/record"
	"github.com/dossier-audit/dossier/pkg/timecheck"
)

// VerdictUnknown is the gate's verdict before the first check completed,
// and when the evidence of the latest check could not be logged. With no
// NTP server configured the verdict is untraceable ("no NTP server
// configured"), logged as time evidence like any other check.
const VerdictUnknown = "unknown"

// timeGate runs the time checker periodically, logs every check as a
// time-evidence record, and decides per verdict whether submissions are
// refused (503 time-untrusted) or accepted and flagged.
type timeGate struct {
	cfg    TimeConfig
	policy timecheck.Policy
	s      *Service

	mu       sync.Mutex
	verdict  string
	diag     string
	maxError time.Duration
	checked  time.Time
	evidence string // digest of the latest time-evidence record
}

func newTimeGate(cfg TimeConfig, s *Service) *timeGate {
	p := timecheck.DefaultPolicy()
	if cfg.MinAgreeing > 0 {
		p.MinAgreeing = cfg.MinAgreeing
	}
	if cfg.MaxError > 0 {
		p.MaxError = cfg.MaxError.D()
	}
	p.AllowUntraceable = cfg.AllowUntraceable
	return &timeGate{cfg: cfg, policy: p, s: s, verdict: VerdictUnknown, diag: "no time check yet"}
}

// policyText states the policy for the startup log and /readyz.
func (g *timeGate) policyText() string {
	return fmt.Sprintf("good: accept; degraded: %s; untraceable: %s; bad: %s; unknown: %s",
		g.cfg.OnDegraded, g.cfg.OnUntraceable, g.cfg.OnBad, g.cfg.OnUnknown)
}

func (g *timeGate) action(verdict string) string {
	switch verdict {
	case string(timecheck.Good):
		return PolicyFlag
	case string(timecheck.Degraded):
		return g.cfg.OnDegraded
	case string(timecheck.Untraceable):
		return g.cfg.OnUntraceable
	case string(timecheck.Bad):
		return g.cfg.OnBad
	}
	return g.cfg.OnUnknown
}

// admit returns the current verdict and the flags a record accepted now
// carries, or the refusal.
func (g *timeGate) admit() (string, []string, *Problem) {
	g.mu.Lock()
	v, diag := g.verdict, g.diag
	g.mu.Unlock()
	if g.action(v) == PolicyRefuse {
		g.s.metrics.timeRefusals.Add(1)
		return v, nil, problem(http.StatusServiceUnavailable, CodeTimeUntrusted,
			fmt.Sprintf("time verdict %s (%s); policy refuses records", v, diag)).retry(30)
	}
	if v == string(timecheck.Good) {
		return v, nil, nil
	}
	return v, []string{"time-" + v}, nil
}

func (g *timeGate) evidenceRef() *record.TimeEvidenceRef {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.evidence == "" {
		return nil
	}
	return &record.TimeEvidenceRef{Digest: g.evidence}
}

// State is the gate's state as /readyz shows it.
type TimeState struct {
	Verdict   string `json:"verdict"`
	Diagnosis string `json:"diagnosis"`
	Action    string `json:"action"`
	Policy    string `json:"policy"`
	CheckedAt string `json:"checkedAt,omitempty"`
	MaxError  int64  `json:"maxErrorNs"`
	Evidence  string `json:"evidence,omitempty"`
}

func (g *timeGate) state() TimeState {
	g.mu.Lock()
	defer g.mu.Unlock()
	st := TimeState{Verdict: g.verdict, Diagnosis: g.diag, Action: g.action(g.verdict), Policy: g.policyText(),
		MaxError: int64(g.maxError), Evidence: g.evidence}
	if !g.checked.IsZero() {
		st.CheckedAt = g.checked.UTC().Format(time.RFC3339Nano)
	}
	return st
}

func (g *timeGate) loop(ctx context.Context) {
	if g.cfg.Interval <= 0 {
		return
	}
	t := time.NewTicker(g.cfg.Interval.D())
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			g.checkOnce(ctx)
		}
	}
}

// checkOnce runs one check, logs its evidence and updates the verdict.
// With no server configured the check is the honest untraceable result
// ("no NTP server configured"), logged and signed like any other, so
// receipts name it. Evidence that cannot be logged leaves the verdict
// unknown: a verdict the log cannot show is not relied on.
func (g *timeGate) checkOnce(ctx context.Context) {
	res := ntp.Check(ctx, g.cfg.Servers, g.policy, ntp.Options{})
	digest, err := g.logEvidence(ctx, res)
	g.mu.Lock()
	defer g.mu.Unlock()
	g.checked = res.CheckedAt
	if err != nil {
		g.verdict, g.diag, g.evidence = VerdictUnknown, "time evidence not logged: "+err.Error(), ""
		g.s.logger.Error("time evidence not logged", "err", err)
		return
	}
	prev := g.verdict
	g.verdict, g.diag, g.maxError, g.evidence = string(res.Verdict), res.Diagnosis, res.MaxError, digest
	g.s.metrics.setTime(g.verdict, res.MaxError)
	if prev != g.verdict {
		g.s.logger.Warn("time verdict changed", "from", prev, "to", g.verdict, "diagnosis", res.Diagnosis,
			"action", g.action(g.verdict), "evidence", digest)
	}
}

func (g *timeGate) logEvidence(ctx context.Context, res timecheck.Result) (string, error) {
	pred, err := json.Marshal(res)
	if err != nil {
		return "", err
	}
	b, err := g.s.signPredicate(ctx, record.PredicateTypePrefix+"time-evidence/v1", pred, nil)
	if err != nil {
		return "", err
	}
	rc, err := g.s.log.Append(ctx, b, "time-evidence")
	if err != nil {
		return "", err
	}
	return rc.Bundle, nil
}
