package audit

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/dossier-audit/dossier/pkg/oci"
)

// Finding kinds.
const (
	Missing = "missing" // logged, not in the store (or not with the right digest)
	Extra   = "extra"   // in the store, not logged for this run
	Corrupt = "corrupt" // in the store, but a blob or manifest fails verification
)

// Finding is one discrepancy between the store and the log.
type Finding struct {
	Kind     string  `json:"kind"`
	RunID    string  `json:"runId,omitempty"`
	Root     string  `json:"root,omitempty"`
	Bundle   string  `json:"bundle,omitempty"`
	Manifest string  `json:"manifest,omitempty"`
	Seq      *uint64 `json:"seq,omitempty"`
	Detail   string  `json:"detail"`
}

// RunReport summarises one run.
type RunReport struct {
	RunID  string `json:"runId,omitempty"`
	Root   string `json:"root"`
	Logged int    `json:"logged"`
	Stored int    `json:"stored"`
}

// Report is the result of an audit.
type Report struct {
	LogSize     uint64      `json:"logSize"`
	LogVerified bool        `json:"logCheckpointVerified"`
	Runs        []RunReport `json:"runs"`
	Findings    []Finding   `json:"findings"`
}

// OK reports whether the audit found nothing.
func (r *Report) OK() bool { return len(r.Findings) == 0 }

// Run names a run to audit: its id and, when known, its run root digest
// (used to report every logged record missing when the store lacks the run).
type Run struct {
	ID   string
	Root string
}

// Audit checks each run of runs in store against log. With all set, runs
// the log knows (streams named by a run root digest) that are not among
// runs are reported as missing with all their records.
func Audit(ctx context.Context, store oci.Reader, log *Log, runs []Run, all bool) (*Report, error) {
	rep := &Report{LogSize: log.Checkpoint.Size, LogVerified: log.Verified, Runs: []RunReport{}, Findings: []Finding{}}
	covered := map[string]bool{}
	for _, r := range runs {
		rr, err := auditRun(ctx, store, log, r, rep)
		if err != nil {
			return nil, err
		}
		covered[rr.Root] = true
		rep.Runs = append(rep.Runs, rr)
	}
	if all {
		for _, s := range streams(log) {
			if !covered[s] {
				rr := RunReport{Root: s}
				rr.Logged = missingAll(log, Run{Root: s}, rep, "run root not in the store")
				rep.Runs = append(rep.Runs, rr)
			}
		}
	}
	return rep, nil
}

func streams(log *Log) []string {
	seen := map[string]bool{}
	var out []string
	for _, lf := range log.Leaves {
		if strings.HasPrefix(lf.Stream, "sha256:") && !seen[lf.Stream] {
			seen[lf.Stream] = true
			out = append(out, lf.Stream)
		}
	}
	sort.Strings(out)
	return out
}

func missingAll(log *Log, r Run, rep *Report, detail string) int {
	leaves := log.Stream(r.Root)
	for _, lf := range leaves {
		seq := lf.Seq
		rep.Findings = append(rep.Findings, Finding{Kind: Missing, RunID: r.ID, Root: r.Root, Bundle: lf.Bundle, Seq: &seq, Detail: detail})
	}
	return len(leaves)
}

func auditRun(ctx context.Context, store oci.Reader, log *Log, r Run, rep *Report) (RunReport, error) {
	rc, problems, err := oci.ReadRun(ctx, store, r.ID)
	if errors.Is(err, oci.ErrNotFound) && r.Root != "" {
		return RunReport{RunID: r.ID, Root: r.Root, Logged: missingAll(log, r, rep, "run root not in the store")}, nil
	}
	if err != nil {
		return RunReport{}, fmt.Errorf("run %s: %w", r.ID, err)
	}
	root := rc.Root.Digest()
	if r.Root != "" && r.Root != root {
		return RunReport{}, fmt.Errorf("run %s: the store holds run root %s, want %s", r.ID, root, r.Root)
	}
	for _, p := range problems {
		rep.Findings = append(rep.Findings, Finding{Kind: Corrupt, RunID: r.ID, Root: root, Manifest: p.Digest, Detail: p.Err.Error()})
	}
	logged := log.Stream(root)
	inLog := map[string]uint64{}
	for _, lf := range logged {
		inLog[lf.Bundle] = lf.Seq
	}
	stored := map[string]bool{}
	for _, rec := range rc.Records {
		d, seq := rec.BundleDigest(), rec.Seq
		stored[d] = true
		want, ok := inLog[d]
		switch {
		case !ok:
			rep.Findings = append(rep.Findings, Finding{Kind: Extra, RunID: r.ID, Root: root, Bundle: d,
				Manifest: rec.Descriptor.Digest.String(), Seq: &seq, Detail: extraDetail(log, d)})
		case want != seq:
			rep.Findings = append(rep.Findings, Finding{Kind: Corrupt, RunID: r.ID, Root: root, Bundle: d,
				Manifest: rec.Descriptor.Digest.String(), Seq: &seq, Detail: fmt.Sprintf("stored with seq %d, the log says %d", seq, want)})
		}
	}
	for _, lf := range logged {
		if !stored[lf.Bundle] {
			seq := lf.Seq
			rep.Findings = append(rep.Findings, Finding{Kind: Missing, RunID: r.ID, Root: root, Bundle: lf.Bundle, Seq: &seq,
				Detail: "logged record not in the store"})
		}
	}
	return RunReport{RunID: r.ID, Root: root, Logged: len(logged), Stored: len(rc.Records)}, nil
}

func extraDetail(log *Log, bundle string) string {
	if lf, ok := log.Lookup(bundle); ok {
		return fmt.Sprintf("logged under stream %s, not this run", lf.Stream)
	}
	return "not in the log"
}
