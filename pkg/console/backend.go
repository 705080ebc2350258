package console

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/dossier-audit/dossier/pkg/ingest/auth"
	"github.com/dossier-audit/dossier/pkg/policy"
)

// Backend is what the console needs of dossierd (or of a log directory,
// see LogBackend): it reads runs, the log and exports, builds exports and
// logs approval bundles signed elsewhere. It never signs an approval.
type Backend interface {
	// Runs lists run summaries, newest first; with Filter.WaitingFor set,
	// only the runs that still lack an approval and that this person has
	// not approved yet.
	Runs(ctx context.Context, f Filter) (RunPage, error)
	// Run returns one run laid out for review; ErrNotFound when unknown.
	Run(ctx context.Context, runID string) (*RunDetail, error)
	// Log returns the state of the log.
	Log(ctx context.Context) (LogStatus, error)
	// Exports lists the exports made, newest first.
	Exports(ctx context.Context, p Page) (ExportPage, error)
	// Export builds and logs a package; by is who asked.
	Export(ctx context.Context, req ExportRequest, by auth.Identity) (ExportInfo, error)
	// OpenExport opens a package for download; ErrNotFound when unknown.
	OpenExport(ctx context.Context, id string) (io.ReadSeekCloser, ExportInfo, error)
	// SubmitApproval verifies a signed approval bundle of the run (signed
	// by a reviewer key of the keyring, listing exactly the run's review
	// digests) and appends it to the log; ErrApproval when it does not
	// verify.
	SubmitApproval(ctx context.Context, runID string, bundle []byte, by auth.Identity) (ApprovalResult, error)
}

// Sentinel errors a Backend wraps.
var (
	// ErrNotFound: no such run or export.
	ErrNotFound = errors.New("not found")
	// ErrApproval: an uploaded approval bundle does not verify or does not
	// cover the run's review.
	ErrApproval = errors.New("approval refused")
	// ErrExport: the export request is refused (no runs, no reason, ...).
	ErrExport = errors.New("export refused")
)

// Page selects one page of a list: Offset items skipped, at most Limit.
type Page struct{ Offset, Limit int }

// Filter selects runs.
type Filter struct {
	Page
	// WaitingFor is the subject of the identity whose queue is listed.
	WaitingFor string
}

// RunPage is one page of runs and the total count.
type RunPage struct {
	Runs  []RunSummary
	Total int
}

// RunSummary is one run or release in a list.
type RunSummary struct {
	RunID    string
	Release  bool     // the run holds a model-release record
	Records  int      // records present
	Present  []string // kinds present
	Required []string // kinds the policy requires
	// Lacks are the policy rules the run still fails ("what the policy
	// still lacks"), sorted.
	Lacks     []string
	Approvals []ApprovalInfo
	Expires   string // earliest approval expiry, RFC 3339, or ""
	Exported  bool
	// TooLarge: the run holds more records than LogConfig.MaxRunRecords;
	// only RunID and Records (those of its stream) are known, its records
	// are not loaded, and Run and SubmitApproval fail with a
	// *TooLargeError.
	TooLarge bool
}

// ApprovalInfo is one logged approval.
type ApprovalInfo struct {
	Digest, SignerName, SignerID, Function string
	SignedAt, Meaning, Decision, ExpiresAt string
	Conditions                             []string
}

// RecordRow is one record of a run.
type RecordRow struct {
	Index                        uint64
	Kind, Digest, Signer, Signed string
}

// RunDetail is one run laid out for review.
type RunDetail struct {
	Summary RunSummary
	RunRoot string
	// Review is the canonical review document (pkg/review), exactly the
	// bytes a reviewer signs with 'dossier approve'; ViewDigest its digest.
	Review     []byte
	ViewDigest string
	// EarlierViews are the digests of the review as it stood before each
	// approval of the run was logged (same reviewed records, fewer
	// approvals shown): an approval naming one of them is not stale, it
	// was signed alongside another reviewer's. Set by CheckApproval.
	EarlierViews []string
	// Reviewed are the record digests an approval must list, sorted.
	Reviewed []string
	Records  []RecordRow // by log index
	Report   policy.Report
	// Previous names the model's last approved version the review is
	// compared with ("" for a first release).
	Previous string
	// AsOf is the checkpoint size the run was read at; Stale tells that
	// the log has grown since (the backend is refreshing it).
	AsOf  uint64
	Stale bool
}

// LogStatus is the state of the log.
type LogStatus struct {
	Origin      string
	Size        uint64
	RootHash    string
	Checkpoint  string    // the signed checkpoint note
	PublishedAt time.Time // when the checkpoint was last written
	TimeVerdict string    // latest time evidence verdict
	TimeChecked time.Time
	TimeDetail  string
	Anchors     []string // anchors held for the checkpoint, one line each
}

// ExportRequest is an export asked from the console.
type ExportRequest struct {
	Runs         []string
	Reason       string
	Organisation string
	Contact      string
}

// ExportInfo describes one package.
type ExportInfo struct {
	ID           string // hex of the package digest
	Package      string // sha256:<hex>
	By, Reason   string
	Organisation string
	Contact      string
	Runs         []string
	At           time.Time
	Size         int64
	ExportRecord string
}

// ExportPage is one page of exports and the total count.
type ExportPage struct {
	Exports []ExportInfo
	Total   int
}

// ApprovalResult tells where an uploaded approval was logged.
type ApprovalResult struct {
	Digest   string
	LogIndex uint64
	Signer   string
	Decision string
}
