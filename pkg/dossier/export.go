package dossier

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/dossier-audit/dossier/internal/atomicfile"
	"github.com/dossier-audit/dossier/pkg/anchor"
	"github.com/dossier-audit/dossier/pkg/bundle"
	"github.com/dossier-audit/dossier/pkg/keyring"
	"github.com/dossier-audit/dossier/pkg/keys"
	"github.com/dossier-audit/dossier/pkg/policy"
	"github.com/dossier-audit/dossier/pkg/record"
	"github.com/dossier-audit/dossier/pkg/review"
	"github.com/dossier-audit/dossier/pkg/tlog/tlogproof"
)

// plan carries one export through its stages.
type plan struct {
	req          *ExportRequest
	deps         *Deps
	chain        *keyring.Chain
	logVerifier  note.Verifier
	sel          *selection
	listDigest   string
	packageID    string
	created      string
	exportItem   *item
	exportDigest string
	view         *logView
	policy       []byte
	proposal     *policy.Policy
	forReview    []string
	anchorFile   *anchor.File
	anchorBytes  []byte
	reviewDocs   [][]byte
}

// Export builds the package for req (spec/package.md §3) and returns what
// it wrote. In order: it reads the log at its published checkpoint,
// selects the runs' records, the time evidence they name, the keyring
// stream and earlier export heads; signs the export record and appends it
// (stream "export"); waits for a checkpoint covering it; proves every
// record, the export record and every keyring version against that one
// checkpoint and every earlier head consistent with it; writes the
// canonical tar atomically; then signs and appends the export-sealed
// record. A failure before the export record is appended leaves the log
// unchanged; a failure after it leaves an export record without a sealed
// record, which later exports show.
func Export(ctx context.Context, req ExportRequest, deps Deps) (*Result, error) {
	p, err := newPlan(ctx, &req, &deps)
	if err != nil {
		return nil, err
	}
	if err := p.read(ctx); err != nil {
		return nil, err
	}
	if err := p.appendExport(ctx); err != nil {
		return nil, err
	}
	es, pkgIndex, err := p.build(ctx)
	if err != nil {
		return nil, err
	}
	res, err := p.write(es)
	if err != nil {
		return nil, err
	}
	res.PackageIndex = pkgIndex
	res.ForReview = p.forReview
	for _, doc := range p.reviewDocs {
		res.Reviews = append(res.Reviews, review.Digest(doc))
	}
	if p.anchorFile != nil {
		res.Anchors = len(p.anchorFile.Anchors)
	}
	if res.SealedRecord, err = p.seal(ctx, res.Package); err != nil {
		return res, err
	}
	return res, nil
}

// newPlan checks the request and the keyring it names.
func newPlan(ctx context.Context, req *ExportRequest, deps *Deps) (*plan, error) {
	switch {
	case deps.Log == nil || deps.Exporter == nil:
		return nil, fmt.Errorf("%w: a log and an exporter signer are required", ErrRequest)
	case len(req.Runs) == 0:
		return nil, fmt.Errorf("%w: no runs", ErrRequest)
	case req.At.IsZero():
		return nil, fmt.Errorf("%w: no export time", ErrRequest)
	case len(req.Keyring) == 0:
		return nil, fmt.Errorf("%w: no keyring versions", ErrRequest)
	case req.Output == "" && deps.Writer == nil:
		return nil, fmt.Errorf("%w: no output", ErrRequest)
	}
	if err := checkOutput(req.Output); err != nil {
		return nil, err
	}
	proposal, compact, err := parseProposal(req.Policy)
	if err != nil {
		return nil, err
	}
	p := &plan{req: req, deps: deps, created: req.At.UTC().Format(time.RFC3339Nano), policy: compact, proposal: proposal}
	chain, err := selfChain(req.Keyring)
	if err != nil {
		return nil, err
	}
	if p.logVerifier, err = logVerifier(chain); err != nil {
		return nil, err
	}
	return p, p.checkExporter(ctx, chain)
}

// checkOutput refuses an output that exists or whose directory does not,
// before anything is logged (an export record without a package would
// otherwise remain in the log).
func checkOutput(path string) error {
	if path == "" {
		return nil
	}
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("package %s: %w", path, os.ErrExist)
	}
	if fi, err := os.Stat(filepath.Dir(path)); err != nil || !fi.IsDir() {
		return fmt.Errorf("%w: directory of %s: %v", ErrRequest, path, err)
	}
	return nil
}

// selfChain verifies a chain from its own version 1 (the writer has no
// pin to check; the auditor does).
func selfChain(envs [][]byte) (*keyring.Chain, error) {
	sorted, err := keyring.SortEnvelopes(envs)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKeyring, err)
	}
	v1, err := keyring.Parse(sorted[0])
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKeyring, err)
	}
	c, err := keyring.VerifyChain(keyring.RootFingerprint(v1.Payload), sorted...)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKeyring, err)
	}
	return c, nil
}

// logVerifier returns the checkpoint verifier of the newest keyring's log
// key.
func logVerifier(c *keyring.Chain) (note.Verifier, error) {
	ks := c.Latest().KeysWithRole(keyring.RoleLog)
	if len(ks) != 1 {
		return nil, fmt.Errorf("%w: the keyring lists %d log keys, want 1", ErrKeyring, len(ks))
	}
	v, err := note.NewVerifier(ks[0].NoteVerifierKey)
	if err != nil {
		return nil, fmt.Errorf("%w: log key: %w", ErrKeyring, err)
	}
	return v, nil
}

// checkExporter refuses a signer the keyring does not list as exporter.
func (p *plan) checkExporter(ctx context.Context, c *keyring.Chain) error {
	pub, err := keys.PublicKey(ctx, p.deps.Exporter)
	if err != nil {
		return fmt.Errorf("%w: exporter key: %w", ErrRequest, err)
	}
	fp := keys.Fingerprint(pub)
	if k, ok := c.Latest().Key(fp); !ok || !k.HasRole(keyring.RoleExporter) || k.Revoked() {
		return fmt.Errorf("%w: exporter key %s does not hold the exporter role in keyring version %d", ErrKeyring, fp, c.Latest().Version)
	}
	return nil
}

// read selects the package content from the published tree.
func (p *plan) read(ctx context.Context) error {
	v0, err := openView(p.deps.Log.Dir(), p.logVerifier)
	if err != nil {
		return err
	}
	p.deps.progress("read", 0, int(v0.cp.Size))
	wanted := map[string]bool{streamTime: true, streamExport: true, streamKeyring: true}
	for _, r := range p.req.Runs {
		wanted[r.Digest()] = true
	}
	ls, err := v0.leavesOf(ctx, func(s string) bool { return wanted[s] })
	if err != nil {
		return err
	}
	if p.sel, err = selectContent(ctx, p.deps.Log, indexLeaves(ls), p.req); err != nil {
		return err
	}
	envs := make([][]byte, len(p.sel.keyring))
	for i, it := range p.sel.keyring {
		envs[i] = it.bytes
	}
	if p.chain, err = selfChain(envs); err != nil {
		return err
	}
	for i, v := range p.chain.Versions {
		if e := p.sel.keyring[i].entry; e.Leaf.Bundle != v.Digest {
			return fmt.Errorf("%w: keyring stream seq %d holds %s, want version %d (%s)", ErrKeyring, e.Leaf.Seq, e.Leaf.Bundle, i+1, v.Digest)
		}
	}
	if err := p.checkExporter(ctx, p.chain); err != nil {
		return err
	}
	_, p.listDigest = p.sel.recordList()
	p.packageID = p.req.PackageID
	if p.packageID == "" {
		p.packageID = "dossier-" + strings.TrimPrefix(p.listDigest, "sha256:")[:16] + "-" + p.req.At.UTC().Format("20060102T150405Z")
	}
	p.evaluateProposal()
	if p.req.RequirePolicy && len(p.forReview) > 0 {
		return &PolicyError{Failed: p.forReview}
	}
	p.reviewDocs = p.reviews()
	p.deps.progress("read", int(v0.cp.Size), int(v0.cp.Size))
	return nil
}

// sign signs a predicate of kind with the exporter key as a bundle.
func (p *plan) sign(ctx context.Context, kind string, pred any) ([]byte, error) {
	raw := marshal(pred)
	pt := record.PredicateTypePrefix + kind + "/v1"
	subjects, err := record.Subjects(pt, raw, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %s predicate: %w", ErrRecord, kind, err)
	}
	st, err := record.NewStatement(subjects, pt, raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %s statement: %w", ErrRecord, kind, err)
	}
	b, err := bundle.Sign(ctx, p.deps.Exporter, bundle.PayloadTypeInToto, st)
	if err != nil {
		return nil, fmt.Errorf("signing the %s record: %w", kind, err)
	}
	return b, nil
}

func (p *plan) common() record.Common {
	return record.Common{ProducedAt: p.created, Producer: p.req.Producer}
}

// appendExport signs and logs the export record, then waits for a
// checkpoint that covers it.
func (p *plan) appendExport(ctx context.Context) error {
	runs := make([]string, len(p.sel.runs))
	for i, r := range p.sel.runs {
		runs[i] = r.Digest()
	}
	pred := record.Export{Common: p.common(), RequestedBy: p.req.RequestedBy, Purpose: p.req.Purpose,
		Recipient: p.req.Recipient, Runs: runs, RecordListDigest: p.listDigest, RecordCount: len(p.sel.records)}
	b, err := p.sign(ctx, "export", pred)
	if err != nil {
		return err
	}
	rc, err := p.deps.Log.Append(ctx, b, streamExport)
	if err != nil {
		return fmt.Errorf("%w: appending the export record: %w", ErrLog, err)
	}
	lf, err := tlogproof.ParseLeaf(rc.Leaf)
	if err != nil {
		return fmt.Errorf("%w: export record leaf: %w", ErrLog, err)
	}
	if p.exportItem, err = parseItem(leafEntry{Index: rc.Index, Raw: rc.Leaf, Leaf: lf}, b); err != nil {
		return err
	}
	p.exportDigest = rc.Bundle
	p.deps.progress("checkpoint", 0, 1)
	interval := p.deps.PollInterval
	if interval <= 0 {
		interval = 50 * time.Millisecond
	}
	p.view, err = awaitView(ctx, p.deps.Log.Dir(), p.logVerifier, rc.Index, interval)
	p.deps.progress("checkpoint", 1, 1)
	return err
}

// write writes the tar to the output file (atomically, never over an
// existing file) or the writer.
func (p *plan) write(es []tarEntry) (*Result, error) {
	var buf bytes.Buffer
	w := p.deps.Writer
	if p.req.Output != "" {
		w = &buf
	}
	d, n, err := writeTar(w, es)
	if err != nil {
		return nil, err
	}
	if p.req.Output != "" {
		if err := atomicfile.WriteNew(p.req.Output, buf.Bytes(), 0o444); err != nil {
			return nil, fmt.Errorf("writing the package: %w", err)
		}
	}
	runs := make([]string, len(p.sel.runs))
	for i, r := range p.sel.runs {
		runs[i] = r.Digest()
	}
	return &Result{Path: p.req.Output, PackageID: p.packageID, Package: d, Size: n, ExportRecord: p.exportDigest,
		RecordList: p.listDigest, RecordCount: len(p.sel.records), Runs: runs, TreeSize: p.view.cp.Size,
		LedgerHeads: len(p.sel.heads), KeyringLength: len(p.sel.keyring)}, nil
}

// seal signs and logs the export-sealed record.
func (p *plan) seal(ctx context.Context, pkgDigest string) (string, error) {
	pred := record.ExportSealed{Common: p.common(), Export: p.exportDigest, Package: pkgDigest,
		Checkpoint: p.head()}
	b, err := p.sign(ctx, "export-sealed", pred)
	if err != nil {
		return "", err
	}
	rc, err := p.deps.Log.Append(ctx, b, streamExport)
	if err != nil {
		return "", fmt.Errorf("%w: appending the export-sealed record (the package is written): %w", ErrLog, err)
	}
	return rc.Bundle, nil
}

func (p *plan) head() record.CheckpointHead {
	return record.CheckpointHead{Size: int64(p.view.cp.Size), RootHash: b64(p.view.cp.Root[:])}
}
