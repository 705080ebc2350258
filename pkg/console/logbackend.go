package console

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/dossier-audit/dossier/pkg/dossier"
	"github.com/dossier-audit/dossier/pkg/gate"
	"github.com/dossier-audit/dossier/pkg/ingest/auth"
	"github.com/dossier-audit/dossier/pkg/keyring"
	"github.com/dossier-audit/dossier/pkg/policy"
	"github.com/dossier-audit/dossier/pkg/record"
	"github.com/dossier-audit/dossier/pkg/review"
	"github.com/dossier-audit/dossier/pkg/run"
	"github.com/dossier-audit/dossier/pkg/tlog"
)

// LogConfig configures a LogBackend: the console over a log directory,
// without the daemon (dossier console, tests).
type LogConfig struct {
	// Log appends approvals and exports and reads stored bundles
	// (*tlog.Log); its Dir is the log directory read at its checkpoint.
	Log dossier.Log
	// RunsDir holds one run file (JSON) per run.
	RunsDir string
	// Keyrings are the keyring version envelopes appended to the log; Pin
	// the root fingerprint they chain to ("" trusts version 1).
	Keyrings [][]byte
	Pin      string
	// Policy is what the runs are evaluated against (default: the
	// dossier.DefaultPolicy).
	Policy *policy.Policy
	// Exporter signs exports; nil disables them.
	Exporter signature.Signer
	// ExportsDir keeps packages (<hex>.tar) and their descriptions.
	ExportsDir string
	// Append, when set, logs an approval that CheckApproval accepted
	// instead of Log.Append (dossierd: through its submission path, with
	// a receipt naming by) and returns its log index.
	Append func(ctx context.Context, runID string, bundle []byte, by auth.Identity) (uint64, error)
	// Now is the clock of policy evaluation and exports.
	Now func() time.Time
	// MaxRunRecords is the most records a run may hold for its review to
	// be loaded and rendered (0: DefaultMaxRunRecords, chosen so that one
	// such run fits in dossierd's memory budget beside ingest). A larger
	// run is listed with its record count, counted without reading its
	// records, and marked TooLarge; its page, review and approvals fail
	// with a *TooLargeError. Loading and rendering costs about
	// PeakBytesPerRecord a record at its peak.
	MaxRunRecords int
}

// LogBackend is a Backend over a log directory. It verifies each run's
// records with pkg/gate and keeps, per run, the facts, the policy report
// and the rendered review at the checkpoint size they were read at (see
// cache.go): a page shows them at once and, when the log has grown since,
// says so and refreshes them in the background. Identity subjects are
// compared with the keyring's person ids (an approval's signer id) to
// build a person's queue.
type LogBackend struct {
	cfg      LogConfig
	mu       sync.Mutex
	entries  map[string]*entry   // by run id
	inflight map[string]bool     // runs being refreshed
	onScan   func(runs []string) // a test's hook: called at each pass over the log
	expMu    sync.Mutex
}

// NewLogBackend checks cfg and returns the backend.
func NewLogBackend(cfg LogConfig) (*LogBackend, error) {
	if cfg.Log == nil || cfg.RunsDir == "" || len(cfg.Keyrings) == 0 {
		return nil, errors.New("log backend: a log, a runs directory and the keyring versions are required")
	}
	if cfg.MaxRunRecords < 0 {
		return nil, fmt.Errorf("log backend: the most records of a run reviewed is %d, want 0 (the default) or more", cfg.MaxRunRecords)
	}
	if cfg.Policy == nil {
		p, err := policy.Parse(dossier.DefaultPolicy)
		if err != nil {
			return nil, err
		}
		cfg.Policy = p
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &LogBackend{cfg: cfg, entries: map[string]*entry{}, inflight: map[string]bool{}}, nil
}

// roots reads the run files, newest start first.
func (b *LogBackend) roots() ([]*run.Root, error) {
	ents, err := os.ReadDir(b.cfg.RunsDir)
	if err != nil {
		return nil, fmt.Errorf("reading the runs directory: %w", err)
	}
	var out []*run.Root
	for _, e := range ents {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		raw, err := os.ReadFile(filepath.Join(b.cfg.RunsDir, e.Name()))
		if err != nil {
			return nil, err
		}
		r, err := run.ParseFile(raw)
		if err != nil {
			return nil, fmt.Errorf("run file %s: %w", e.Name(), err)
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(x, y *run.Root) int {
		if c := strings.Compare(y.Registration.StartedAt, x.Registration.StartedAt); c != 0 {
			return c
		}
		return strings.Compare(x.Registration.RunID, y.Registration.RunID)
	})
	return out, nil
}

// Runs implements Backend.
func (b *LogBackend) Runs(ctx context.Context, f Filter) (RunPage, error) {
	size, err := b.size()
	if err != nil {
		return RunPage{}, err
	}
	roots, err := b.roots()
	if err != nil {
		return RunPage{}, err
	}
	es, errs, err := b.listEntries(ctx, roots, size)
	if err != nil {
		return RunPage{}, err
	}
	exported := b.exportedRuns()
	var all []RunSummary
	for i, e := range es {
		if errs[i] != nil {
			return RunPage{}, fmt.Errorf("run %s: %w", roots[i].Registration.RunID, errs[i])
		}
		s := e.summary
		s.Exported = exported[s.RunID]
		if f.WaitingFor == "" || s.TooLarge || len(s.Lacks) > 0 && !slices.ContainsFunc(s.Approvals, func(a ApprovalInfo) bool { return a.SignerID == f.WaitingFor }) {
			all = append(all, s)
		}
	}
	lo := min(f.Offset, len(all))
	return RunPage{Runs: all[lo:min(lo+max(f.Limit, 0), len(all))], Total: len(all)}, nil
}

func (b *LogBackend) summary(f *gate.Facts) RunSummary {
	s := RunSummary{RunID: f.Run.Registration.RunID, Records: len(f.Records)}
	for _, r := range f.Records {
		s.Release = s.Release || r.Kind == "model-release"
		if !slices.Contains(s.Present, r.Kind) {
			s.Present = append(s.Present, r.Kind)
		}
		if a, ok := r.Predicate.(*record.Approval); ok {
			s.Approvals = append(s.Approvals, approvalInfo(r.Digest, a))
			if a.ExpiresAt != "" && (s.Expires == "" || a.ExpiresAt < s.Expires) {
				s.Expires = a.ExpiresAt
			}
		}
	}
	slices.Sort(s.Present)
	s.Required = requiredKinds(b.cfg.Policy, s.Release)
	s.Lacks = policy.Evaluate(f.PolicyInput(b.cfg.Policy, b.cfg.Now(), s.Release)).Failed()
	return s
}

func requiredKinds(p *policy.Policy, release bool) []string {
	out := slices.Clone(p.RequiredKinds)
	if p.Runs != nil {
		out = append(out, p.Runs.RequiredKinds...)
	}
	if release && p.Releases != nil {
		out = append(out, p.Releases.RequiredKinds...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func approvalInfo(digest string, a *record.Approval) ApprovalInfo {
	return ApprovalInfo{Digest: digest, SignerName: a.Signer.PrintedName, SignerID: a.Signer.ID, Function: a.Signer.Function,
		SignedAt: a.SignedAt, Meaning: a.Meaning, Decision: a.Decision, ExpiresAt: a.ExpiresAt, Conditions: a.Conditions}
}

// Run implements Backend.
func (b *LogBackend) Run(ctx context.Context, id string) (*RunDetail, error) {
	size, err := b.size()
	if err != nil {
		return nil, err
	}
	roots, err := b.roots()
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(roots, func(r *run.Root) bool { return r.Registration.RunID == id })
	if i < 0 {
		return nil, fmt.Errorf("%w: run %q", ErrNotFound, id)
	}
	e, err := b.entry(ctx, roots[i], size, true)
	if err != nil {
		return nil, err
	}
	if e.summary.TooLarge {
		return nil, b.tooLargeError(e)
	}
	d := *e.detail
	d.Summary.Exported = b.exportedRuns()[id]
	d.AsOf, d.Stale = e.size, e.size < size
	return &d, nil
}

func (b *LogBackend) detail(f *gate.Facts, prev *gate.Facts, label string) (*RunDetail, error) {
	in := f.ReviewInput(prev, label)
	doc, digest, err := review.Render(in)
	if err != nil {
		return nil, err
	}
	reviewed, err := review.ReviewedRecords(in)
	if err != nil {
		return nil, err
	}
	s := b.summary(f)
	d := &RunDetail{Summary: s, RunRoot: f.Run.Digest(), Review: doc, ViewDigest: digest, Reviewed: reviewed, Previous: label,
		Report: policy.Evaluate(f.PolicyInput(b.cfg.Policy, b.cfg.Now(), s.Release))}
	for _, r := range f.Records {
		o := in.Owners[r.Signer]
		d.Records = append(d.Records, RecordRow{Index: r.LogIndex, Kind: r.Kind, Digest: r.Digest, Signer: r.Signer, Signed: o.Name})
	}
	return d, nil
}

// SubmitApproval implements Backend: CheckApproval, then appended to the
// run's stream.
func (b *LogBackend) SubmitApproval(ctx context.Context, runID string, bun []byte, by auth.Identity) (ApprovalResult, error) {
	a, digest, d, err := b.CheckApproval(ctx, runID, bun)
	if err != nil {
		return ApprovalResult{}, err
	}
	var index uint64
	if b.cfg.Append != nil {
		index, err = b.cfg.Append(ctx, runID, bun, by)
	} else {
		var rc tlog.Receipt
		rc, err = b.cfg.Log.Append(ctx, bun, d.RunRoot)
		index = rc.Index
	}
	if err != nil {
		return ApprovalResult{}, fmt.Errorf("logging the approval: %w", err)
	}
	return ApprovalResult{Digest: digest, LogIndex: index, Signer: a.Signer.PrintedName, Decision: a.Decision}, nil
}

// CheckApproval is the one check of an approval signed elsewhere (the
// console's upload, dossierd's POST /v1/runs/{runId}/approvals): the run
// is read from the log now (not from the cache, so the review the
// approval must name is the current one), and VerifyApproval checks the
// bundle against it with the keys of the newest keyring version (the one
// in force for a record appended now). It returns the approval, its
// record digest and the run as checked; errors that are the approval's
// fault wrap ErrApproval, an unknown run ErrNotFound.
func (b *LogBackend) CheckApproval(ctx context.Context, runID string, bun []byte) (*record.Approval, string, *RunDetail, error) {
	d, keys, err := b.current(ctx, runID)
	if err != nil {
		return nil, "", nil, err
	}
	a, digest, err := VerifyApproval(bun, d, keys.Key)
	if err != nil {
		return nil, "", nil, err
	}
	return a, digest, d, nil
}

// CurrentRun is Run read from the log now rather than from the cache: the
// review document an approval signed now must name (dossierd's GET
// /v1/runs/{runId}/review). EarlierViews is set.
func (b *LogBackend) CurrentRun(ctx context.Context, runID string) (*RunDetail, error) {
	d, _, err := b.current(ctx, runID)
	return d, err
}

// current reads the run at the published checkpoint, stores it in the
// cache, and returns it with the newest keyring version.
func (b *LogBackend) current(ctx context.Context, runID string) (*RunDetail, *keyring.Document, error) {
	size, err := b.size()
	if err != nil {
		return nil, nil, err
	}
	roots, err := b.roots()
	if err != nil {
		return nil, nil, err
	}
	i := slices.IndexFunc(roots, func(r *run.Root) bool { return r.Registration.RunID == runID })
	if i < 0 {
		return nil, nil, fmt.Errorf("%w: run %q", ErrNotFound, runID)
	}
	e, err := b.build(ctx, roots[i], size, true)
	if err != nil {
		return nil, nil, err
	}
	b.store(runID, e)
	if e.summary.TooLarge {
		return nil, nil, b.tooLargeError(e)
	}
	d := *e.detail
	d.AsOf = e.size
	if d.EarlierViews, err = b.earlierViews(ctx, e.facts, roots, roots[i], size); err != nil {
		return nil, nil, err
	}
	return &d, e.facts.Chain.Latest(), nil
}

// earlierViews renders the run's review as it stood just before each of
// its approvals was logged (the records logged before it), so that two
// reviewers who rendered the same review can both have their approvals
// logged, in either order. Views that leave out a record the run holds
// now differ in their reviewed records, which VerifyApproval refuses.
func (b *LogBackend) earlierViews(ctx context.Context, f *gate.Facts, roots []*run.Root, root *run.Root, size uint64) ([]string, error) {
	var prev *gate.Facts
	var label string
	var out []string
	for _, r := range f.Records {
		if r.Kind != "approval" {
			continue
		}
		if out == nil {
			prev, label = b.previous(ctx, roots, root, size, nil)
		}
		g := *f
		g.Records = slices.DeleteFunc(slices.Clone(f.Records), func(x policy.Record) bool { return x.LogIndex >= r.LogIndex })
		_, digest, err := review.Render(g.ReviewInput(prev, label))
		if err != nil {
			return nil, err
		}
		out = append(out, digest)
	}
	return out, nil
}
