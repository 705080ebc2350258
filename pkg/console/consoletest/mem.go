// Package consoletest is an in-memory console.Backend with a fixture of
// runs and a reviewer key, for the console's handler, browser and
// benchmark tests.
package consoletest

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/dossier-audit/dossier/pkg/console"
	"github.com/dossier-audit/dossier/pkg/gate"
	"github.com/dossier-audit/dossier/pkg/ingest/auth"
	"github.com/dossier-audit/dossier/pkg/keyring"
	"github.com/dossier-audit/dossier/pkg/keys"
	"github.com/dossier-audit/dossier/pkg/policy"
	"github.com/dossier-audit/dossier/pkg/record"
	"github.com/dossier-audit/dossier/pkg/review"
)

// Hostile is a dataset name every fixture run carries: record fields must
// be shown as text.
const Hostile = `<script>alert("x")</script><b>bold</b>`

// Reviewer is the fixture's reviewer: the person id and name the keyring
// binds to Key.
type Reviewer struct {
	Subject, Name string
	Key           ed25519.PrivateKey
	Signer        signature.Signer
	Entry         *keyring.Key
}

// Backend is an in-memory console.Backend.
type Backend struct {
	mu       sync.Mutex
	runs     []*console.RunDetail
	exports  []console.ExportInfo
	packages map[string][]byte
	log      console.LogStatus
	keys     map[string]*keyring.Key
	now      func() time.Time
	Reviewer Reviewer
}

// New returns a backend holding runs runs of records records each (at
// least 3 per run) and a reviewer key in its keyring.
func New(runs, records int, now func() time.Time) (*Backend, error) {
	rv, err := newReviewer()
	if err != nil {
		return nil, err
	}
	b := &Backend{packages: map[string][]byte{}, keys: map[string]*keyring.Key{rv.Entry.ID: rv.Entry}, now: now, Reviewer: rv}
	for i := range runs {
		d, err := NewRun(fmt.Sprintf("run-%03d", i+1), max(records, 3), i%2 == 1)
		if err != nil {
			return nil, err
		}
		b.runs = append(b.runs, d)
	}
	b.log = console.LogStatus{Origin: "dossier.example/log", Size: uint64(runs * records), RootHash: "q6e1Jq3j2v8=",
		Checkpoint: "dossier.example/log\n42\nq6e1Jq3j2v8=\n\n— dossier.example/log abcd\n", PublishedAt: now().Add(-3 * time.Second),
		TimeVerdict: "good", TimeChecked: now().Add(-time.Minute), TimeDetail: "3 of 3 servers agree within 2ms"}
	return b, nil
}

func newReviewer() (Reviewer, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return Reviewer{}, err
	}
	s, err := signature.LoadED25519SignerVerifier(priv)
	if err != nil {
		return Reviewer{}, err
	}
	pub := priv.Public()
	pemb, err := keys.MarshalPublicKey(pub)
	if err != nil {
		return Reviewer{}, err
	}
	k := &keyring.Key{ID: keys.Fingerprint(pub), Algorithm: "ed25519", PublicKey: string(pemb), Roles: []string{keyring.RoleReviewer},
		Owner: keyring.Owner{Name: "Rita Reviewer", PersonID: "rita", Team: "validation"}, ValidFrom: "2026-01-01T00:00:00Z"}
	return Reviewer{Subject: "rita", Name: "Rita Reviewer", Key: priv, Signer: s, Entry: k}, nil
}

// NewRun builds a run of n records (datasets, one training run, one
// evaluation) with its review document.
func NewRun(runID string, n int, release bool) (*console.RunDetail, error) {
	root := "sha256:" + strings.Repeat("ab", 32)
	common := record.Common{RunID: runID, Attempt: 1, ProducedAt: "2026-11-27T00:00:00Z",
		Producer: record.Producer{ID: "pipeline", Name: "CI", Kind: "workload"}}
	var recs []policy.Record
	for i := range n {
		var p record.Predicate
		kind := "dataset"
		switch i {
		case n - 2:
			kind, p = "training-run", &record.TrainingRun{Common: common, Hyperparameters: map[string]string{"lr": "0.001"}}
		case n - 1:
			kind, p = "evaluation", &record.Evaluation{Common: common, Benchmark: record.Benchmark{Name: "holdout"},
				Metrics: []record.Metric{{Name: "auc", Value: "0.91"}}}
		default:
			name := fmt.Sprintf("dataset-%05d", i)
			if i == 0 {
				name = Hostile
			}
			p = &record.Dataset{Common: common, Name: name, Version: "1", Licence: record.Licence{SPDX: "CC-BY-4.0"}}
		}
		sum := sha256.Sum256(fmt.Appendf(nil, "%s/%d", runID, i))
		recs = append(recs, policy.Record{Digest: "sha256:" + hex.EncodeToString(sum[:]), Kind: kind, LogIndex: uint64(i),
			Signer: "SHA256:pipeline", Predicate: p})
	}
	in := review.Input{RunID: runID, RunRoot: root, Records: recs}
	doc, digest, err := review.Render(in)
	if err != nil {
		return nil, err
	}
	reviewed, _ := review.ReviewedRecords(in)
	d := &console.RunDetail{RunRoot: root, Review: doc, ViewDigest: digest, Reviewed: reviewed,
		Summary: console.RunSummary{RunID: runID, Release: release, Records: n, Present: []string{"dataset", "evaluation", "training-run"},
			Required: []string{"dataset", "evaluation", "run-closed", "training-run"}, Lacks: []string{"approvals.required", "required-kinds"}},
		Report: policy.Report{RunID: runID, Results: []policy.Result{
			{Rule: "required-kinds", Status: policy.Fail, Subject: "run-closed", Message: "no run-closed record"},
			{Rule: "approvals.required", Status: policy.Fail, Subject: "run", Message: "0 of 1 approvals (role reviewer)"}}}}
	for _, r := range recs {
		d.Records = append(d.Records, console.RecordRow{Index: r.LogIndex, Kind: r.Kind, Digest: r.Digest, Signer: r.Signer, Signed: "CI pipeline"})
	}
	return d, nil
}

// Approve signs an approval of the run's review document with the
// reviewer's key, as 'dossier approve' does.
func (b *Backend) Approve(d *console.RunDetail, at time.Time) ([]byte, error) {
	a, err := gate.NewApproval(gate.ApprovalRequest{Review: d.Review, PrintedName: b.Reviewer.Name, SignerID: b.Reviewer.Subject,
		Function: "Head of Model Validation", Meaning: "approval", Decision: "approve", At: at})
	if err != nil {
		return nil, err
	}
	return gate.SignApproval(context.Background(), b.Reviewer.Signer, d.RunRoot, a)
}

// Runs implements console.Backend.
func (b *Backend) Runs(_ context.Context, f console.Filter) (console.RunPage, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var all []console.RunSummary
	for _, d := range b.runs {
		if f.WaitingFor == "" || waiting(d.Summary, f.WaitingFor) {
			all = append(all, d.Summary)
		}
	}
	lo := min(f.Offset, len(all))
	hi := min(lo+f.Limit, len(all))
	return console.RunPage{Runs: slices.Clone(all[lo:hi]), Total: len(all)}, nil
}

func waiting(s console.RunSummary, who string) bool {
	return len(s.Lacks) > 0 && !slices.ContainsFunc(s.Approvals, func(a console.ApprovalInfo) bool { return a.SignerID == who })
}

// Run implements console.Backend.
func (b *Backend) Run(_ context.Context, id string) (*console.RunDetail, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, d := range b.runs {
		if d.Summary.RunID == id {
			c := *d
			return &c, nil
		}
	}
	return nil, fmt.Errorf("%w: run %q", console.ErrNotFound, id)
}

// Log implements console.Backend.
func (b *Backend) Log(context.Context) (console.LogStatus, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.log, nil
}

// Exports implements console.Backend.
func (b *Backend) Exports(_ context.Context, p console.Page) (console.ExportPage, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	lo := min(p.Offset, len(b.exports))
	hi := min(lo+p.Limit, len(b.exports))
	return console.ExportPage{Exports: slices.Clone(b.exports[lo:hi]), Total: len(b.exports)}, nil
}

// Export implements console.Backend: the package is a small tar naming
// the runs.
func (b *Backend) Export(_ context.Context, req console.ExportRequest, by auth.Identity) (console.ExportInfo, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	body := []byte("runs: " + strings.Join(req.Runs, ", ") + "\nreason: " + req.Reason + "\n")
	_ = tw.WriteHeader(&tar.Header{Name: "README.txt", Mode: 0o644, Size: int64(len(body))})
	_, _ = tw.Write(body)
	_ = tw.Close()
	sum := sha256.Sum256(buf.Bytes())
	id := hex.EncodeToString(sum[:])
	info := console.ExportInfo{ID: id, Package: "sha256:" + id, By: by.Subject, Reason: req.Reason, Organisation: req.Organisation,
		Contact: req.Contact, Runs: req.Runs, At: b.now(), Size: int64(buf.Len()), ExportRecord: "sha256:" + strings.Repeat("e", 64)}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.packages[id] = buf.Bytes()
	b.exports = append([]console.ExportInfo{info}, b.exports...)
	for _, d := range b.runs {
		if slices.Contains(req.Runs, d.Summary.RunID) {
			d.Summary.Exported = true
		}
	}
	return info, nil
}

type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }

// OpenExport implements console.Backend.
func (b *Backend) OpenExport(_ context.Context, id string) (io.ReadSeekCloser, console.ExportInfo, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, e := range b.exports {
		if e.ID == id {
			return nopCloser{bytes.NewReader(b.packages[id])}, e, nil
		}
	}
	return nil, console.ExportInfo{}, fmt.Errorf("%w: export %q", console.ErrNotFound, id)
}

// SubmitApproval implements console.Backend with console.VerifyApproval.
func (b *Backend) SubmitApproval(ctx context.Context, runID string, bun []byte, _ auth.Identity) (console.ApprovalResult, error) {
	d, err := b.Run(ctx, runID)
	if err != nil {
		return console.ApprovalResult{}, err
	}
	a, digest, err := console.VerifyApproval(bun, d, func(fp string) (*keyring.Key, bool) { k, ok := b.keys[fp]; return k, ok })
	if err != nil {
		return console.ApprovalResult{}, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.log.Size++
	for _, r := range b.runs {
		if r.Summary.RunID == runID {
			r.Summary.Approvals = append(r.Summary.Approvals, console.ApprovalInfo{Digest: digest, SignerName: a.Signer.PrintedName,
				SignerID: a.Signer.ID, Function: a.Signer.Function, SignedAt: a.SignedAt, Meaning: a.Meaning, Decision: a.Decision,
				ExpiresAt: a.ExpiresAt, Conditions: a.Conditions})
			r.Summary.Lacks = slices.DeleteFunc(slices.Clone(r.Summary.Lacks), func(s string) bool { return strings.HasPrefix(s, "approvals.") })
		}
	}
	return console.ApprovalResult{Digest: digest, LogIndex: b.log.Size - 1, Signer: a.Signer.PrintedName, Decision: a.Decision}, nil
}
