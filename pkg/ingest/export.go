package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/dossier-audit/dossier/internal/atomicfile"
	"github.com/dossier-audit/dossier/pkg/console"
	"github.com/dossier-audit/dossier/pkg/dossier"
	"github.com/dossier-audit/dossier/pkg/ingest/auth"
	"github.com/dossier-audit/dossier/pkg/internal/strictjson"
	"github.com/dossier-audit/dossier/pkg/record"
	"github.com/dossier-audit/dossier/pkg/run"
	"github.com/dossier-audit/dossier/pkg/tlog"
	"github.com/dossier-audit/dossier/pkg/tlog/tlogproof"
)

// exporter builds compliance packages for POST /v1/exports with
// pkg/dossier (the export is logged before the package is sealed), keeps
// each package in DataDir/exports/<hex of the package digest>.tar and
// serves it from GET /v1/exports/{id}. One export runs at a time.
type exporter struct {
	s      *Service
	dir    string
	signer signature.Signer // nil: exports disabled (no exporterKey)
	mu     sync.Mutex
	// policy is the release policy (nil: none; gate.go).
	policy *releasePolicy
}

func newExporter(s *Service, signer signature.Signer) *exporter {
	return &exporter{s: s, dir: filepath.Join(s.cfg.DataDir, "exports"), signer: signer}
}

// ExportRequest is the body of POST /v1/exports.
type ExportRequest struct {
	Runs      []string         `json:"runs"`
	Purpose   string           `json:"purpose"`
	Recipient record.Recipient `json:"recipient"`
	PackageID string           `json:"packageId,omitempty"`
	// Kind is "review" (default) or "release" (gate.go).
	Kind string `json:"kind,omitempty"`
}

// ExportResult answers POST /v1/exports and is kept beside the package.
type ExportResult struct {
	ID       string          `json:"id"`
	Download string          `json:"download"`
	Result   *dossier.Result `json:"result"`
	// Kind is the export's kind; a review export that does not meet the
	// policy lists the failed rules in result.forReview.
	Kind string `json:"kind"`
}

var hexID = regexp.MustCompile(`^[a-f0-9]{64}$`)

func (s *Service) handleExport(w http.ResponseWriter, r *http.Request, id *auth.Identity) *Problem {
	e := s.exports
	if e.signer == nil {
		return problem(http.StatusNotImplemented, CodeNotImplemented, "no exporterKey configured; exports over the API are disabled")
	}
	body, p := readBody(w, r, s.cfg.Limits.MaxBodyBytes)
	if p != nil {
		return p
	}
	var req ExportRequest
	if err := strictjson.Decode(body, &req, strictjson.Limits{MaxBytes: len(body) + 1}); err != nil {
		return problem(http.StatusBadRequest, CodeMalformed, err.Error())
	}
	roots := make([]*run.Root, 0, len(req.Runs))
	for _, rid := range req.Runs {
		root, ok := s.runs.get(rid)
		if !ok {
			return problem(http.StatusNotFound, CodeNotFound, "no such run: "+rid)
		}
		roots = append(roots, root)
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 30*time.Minute)
	defer cancel()
	res, p := e.export(ctx, req, roots, id)
	if p != nil {
		return p
	}
	s.logger.Info("export written", "id", res.ID, "records", res.Result.RecordCount, "exportRecord", res.Result.ExportRecord,
		"subject", id.Subject, "purpose", req.Purpose)
	writeJSON(w, http.StatusCreated, res)
	return nil
}

func (e *exporter) export(ctx context.Context, req ExportRequest, roots []*run.Root, id *auth.Identity) (*ExportResult, *Problem) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := os.MkdirAll(e.dir, 0o750); err != nil {
		return nil, problem(http.StatusServiceUnavailable, CodeStorage, err.Error())
	}
	if err := e.s.awaitCheckpoint(ctx); err != nil {
		return nil, problem(http.StatusServiceUnavailable, CodeStorage, err.Error()).retry(1)
	}
	tmp := filepath.Join(e.dir, fmt.Sprintf(".export-%d.tar", time.Now().UnixNano()))
	name := id.Name
	if name == "" {
		name = id.Subject
	}
	kind, p := e.exportKind(req.Kind)
	if p != nil {
		return nil, p
	}
	res, err := dossier.Export(ctx, dossier.ExportRequest{Runs: roots, Keyring: e.s.keyringEnvs, Policy: e.policy.bytes(), Release: e.policy != nil, RequirePolicy: kind == ExportRelease,
		Producer: record.Producer{ID: id.Subject, Name: name, Kind: "person"}, RequestedBy: record.Party{ID: id.Subject, Name: name},
		Recipient: req.Recipient, Purpose: req.Purpose, At: e.s.stamp(), PackageID: req.PackageID, Output: tmp},
		dossier.Deps{Log: e.s.log, Exporter: e.signer, Anchors: e.s.anchors.source()})
	if err != nil {
		os.Remove(tmp)
		if p := policyRefusal(err); p != nil {
			return nil, p
		}
		if errors.Is(err, dossier.ErrRequest) || errors.Is(err, dossier.ErrKeyring) || errors.Is(err, dossier.ErrNotLogged) {
			return nil, problem(http.StatusUnprocessableEntity, CodeExportFailed, err.Error())
		}
		return nil, problem(http.StatusServiceUnavailable, CodeExportFailed, err.Error())
	}
	hex := strings.TrimPrefix(res.Package, "sha256:")
	out := &ExportResult{ID: hex, Download: "/v1/exports/" + hex, Result: res, Kind: kind}
	res.Path = ""
	meta, _ := json.Marshal(out)
	if err := os.Rename(tmp, filepath.Join(e.dir, hex+".tar")); err != nil {
		return nil, problem(http.StatusServiceUnavailable, CodeStorage, err.Error())
	}
	if err := atomicfile.WriteFile(filepath.Join(e.dir, hex+".json"), meta, 0o640); err != nil {
		return nil, problem(http.StatusServiceUnavailable, CodeStorage, err.Error())
	}
	if err := e.listInConsole(out, req, name); err != nil {
		// The package is written and logged; only the console's list lacks it.
		e.s.logger.Warn("export not listed in the review console", "id", hex, "err", err)
	}
	return out, nil
}

// listInConsole makes an API export visible on the review console's exports
// page: the console lists the packages of its own directory, so the package
// is hard-linked there (same volume, no copy) with the console's description.
func (e *exporter) listInConsole(out *ExportResult, req ExportRequest, by string) error {
	dir := filepath.Join(e.s.cfg.DataDir, consoleExportsDir)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	link := filepath.Join(dir, out.ID+".tar")
	if err := os.Link(filepath.Join(e.dir, out.ID+".tar"), link); err != nil && !errors.Is(err, os.ErrExist) {
		return err
	}
	info, err := json.Marshal(console.ExportInfo{ID: out.ID, Package: out.Result.Package, By: by, Reason: req.Purpose,
		Organisation: req.Recipient.Organisation, Contact: req.Recipient.Contact, Runs: req.Runs,
		At: e.s.now().UTC(), Size: out.Result.Size, ExportRecord: out.Result.ExportRecord})
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(dir, out.ID+".json"), info, 0o640)
}

func (s *Service) handleExportGet(w http.ResponseWriter, r *http.Request, _ *auth.Identity) *Problem {
	id := strings.TrimPrefix(r.PathValue("id"), "sha256:")
	if !hexID.MatchString(id) {
		return problem(http.StatusBadRequest, CodeMalformed, "export id is the package digest (64 lowercase hex)")
	}
	f, err := os.Open(filepath.Join(s.exports.dir, id+".tar"))
	if errors.Is(err, os.ErrNotExist) {
		return problem(http.StatusNotFound, CodeNotFound, "no such export")
	}
	if err != nil {
		return problem(http.StatusServiceUnavailable, CodeStorage, err.Error())
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return problem(http.StatusServiceUnavailable, CodeStorage, err.Error())
	}
	w.Header().Set("Content-Type", "application/x-tar")
	w.Header().Set("Content-Disposition", `attachment; filename="dossier-`+id[:16]+`.tar"`)
	w.Header().Set("Digest", "sha-256=:"+id+":")
	http.ServeContent(w, r, id+".tar", st.ModTime(), f)
	return nil
}

// awaitCheckpoint waits until the published checkpoint covers every
// record acknowledged so far (exports read the log at its checkpoint).
func (s *Service) awaitCheckpoint(ctx context.Context) error {
	size, err := s.log.Size(ctx)
	if err != nil {
		return err
	}
	for {
		raw, err := tlog.ReadCheckpoint(s.logDir)
		if err != nil {
			return err
		}
		cp, err := tlogproof.ParseCheckpointBody(noteBody(raw))
		if err != nil {
			return err
		}
		if cp.Size >= size {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
