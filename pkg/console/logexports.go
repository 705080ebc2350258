package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dossier-audit/dossier/internal/atomicfile"
	"github.com/dossier-audit/dossier/pkg/dossier"
	"github.com/dossier-audit/dossier/pkg/ingest/auth"
	"github.com/dossier-audit/dossier/pkg/record"
	"github.com/dossier-audit/dossier/pkg/run"
	"github.com/dossier-audit/dossier/pkg/tlog"
)

// logStatus reads the published checkpoint (signature verified by the
// facts loaded from it; here only shown).
func (b *LogBackend) logStatus() (LogStatus, error) {
	dir := b.cfg.Log.Dir()
	raw, err := tlog.ReadCheckpoint(dir)
	if err != nil {
		return LogStatus{}, fmt.Errorf("reading the checkpoint: %w", err)
	}
	lines := strings.SplitN(string(raw), "\n", 4)
	if len(lines) < 4 {
		return LogStatus{}, fmt.Errorf("checkpoint of %d lines, want a signed note", len(lines))
	}
	size, err := strconv.ParseUint(lines[1], 10, 64)
	if err != nil {
		return LogStatus{}, fmt.Errorf("checkpoint size %q: %w", lines[1], err)
	}
	st := LogStatus{Origin: lines[0], Size: size, RootHash: lines[2], Checkpoint: string(raw)}
	if fi, err := os.Stat(filepath.Join(dir, "checkpoint")); err == nil {
		st.PublishedAt = fi.ModTime()
	}
	return st, nil
}

// Log implements Backend: the checkpoint and the newest time evidence
// cited by a run's records.
func (b *LogBackend) Log(ctx context.Context) (LogStatus, error) {
	st, err := b.logStatus()
	if err != nil {
		return st, err
	}
	if _, err := b.Runs(ctx, Filter{Page: Page{Limit: 1}}); err != nil {
		return st, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	var newest uint64
	for _, e := range b.entries {
		if e.facts == nil { // too large: not loaded
			continue
		}
		for _, r := range e.facts.Records {
			if te, ok := r.Predicate.(*record.TimeEvidence); ok && r.LogIndex >= newest {
				newest = r.LogIndex
				st.TimeVerdict, st.TimeDetail = te.Verdict, te.Diagnosis
				st.TimeChecked, _ = time.Parse(time.RFC3339Nano, te.CheckedAt)
			}
		}
	}
	return st, nil
}

var hexID = regexp.MustCompile(`^[a-f0-9]{64}$`)

// Exports implements Backend.
func (b *LogBackend) Exports(_ context.Context, p Page) (ExportPage, error) {
	all, err := b.exportInfos()
	if err != nil {
		return ExportPage{}, err
	}
	lo := min(p.Offset, len(all))
	return ExportPage{Exports: all[lo:min(lo+max(p.Limit, 0), len(all))], Total: len(all)}, nil
}

func (b *LogBackend) exportInfos() ([]ExportInfo, error) {
	if b.cfg.ExportsDir == "" {
		return nil, nil
	}
	ents, err := os.ReadDir(b.cfg.ExportsDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []ExportInfo
	for _, e := range ents {
		id, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || !hexID.MatchString(id) {
			continue
		}
		raw, err := os.ReadFile(filepath.Join(b.cfg.ExportsDir, e.Name()))
		if err != nil {
			return nil, err
		}
		var info ExportInfo
		if err := json.Unmarshal(raw, &info); err != nil {
			return nil, fmt.Errorf("export %s: %w", id, err)
		}
		out = append(out, info)
	}
	slices.SortFunc(out, func(x, y ExportInfo) int { return y.At.Compare(x.At) })
	return out, nil
}

func (b *LogBackend) exportedRuns() map[string]bool {
	infos, _ := b.exportInfos()
	out := map[string]bool{}
	for _, e := range infos {
		for _, r := range e.Runs {
			out[r] = true
		}
	}
	return out
}

// Export implements Backend with dossier.Export: the export record is
// logged before the package is sealed; one export at a time.
func (b *LogBackend) Export(ctx context.Context, req ExportRequest, by auth.Identity) (ExportInfo, error) {
	if b.cfg.Exporter == nil || b.cfg.ExportsDir == "" {
		return ExportInfo{}, fmt.Errorf("%w: no exporter key configured", ErrExport)
	}
	roots, err := b.rootsOf(req.Runs)
	if err != nil {
		return ExportInfo{}, err
	}
	b.expMu.Lock()
	defer b.expMu.Unlock()
	if err := os.MkdirAll(b.cfg.ExportsDir, 0o750); err != nil {
		return ExportInfo{}, err
	}
	name := by.Name
	if name == "" {
		name = by.Subject
	}
	at := b.cfg.Now().UTC()
	tmp := filepath.Join(b.cfg.ExportsDir, fmt.Sprintf(".export-%d.tar", at.UnixNano()))
	res, err := dossier.Export(ctx, dossier.ExportRequest{Runs: roots, Keyring: b.cfg.Keyrings,
		Producer: record.Producer{ID: by.Subject, Name: name, Kind: "person"}, RequestedBy: record.Party{ID: by.Subject, Name: name},
		Recipient: record.Recipient{Organisation: req.Organisation, Contact: req.Contact}, Purpose: req.Reason, At: at, Output: tmp},
		dossier.Deps{Log: b.cfg.Log, Exporter: b.cfg.Exporter})
	if err != nil {
		os.Remove(tmp)
		if errors.Is(err, dossier.ErrRequest) || errors.Is(err, dossier.ErrNotLogged) || errors.Is(err, dossier.ErrKeyring) {
			return ExportInfo{}, fmt.Errorf("%w: %w", ErrExport, err)
		}
		return ExportInfo{}, err
	}
	id := strings.TrimPrefix(res.Package, "sha256:")
	info := ExportInfo{ID: id, Package: res.Package, By: name, Reason: req.Reason, Organisation: req.Organisation, Contact: req.Contact,
		Runs: req.Runs, At: at, Size: res.Size, ExportRecord: res.ExportRecord}
	if err := os.Rename(tmp, filepath.Join(b.cfg.ExportsDir, id+".tar")); err != nil {
		return ExportInfo{}, err
	}
	meta, _ := json.Marshal(info)
	return info, atomicfile.WriteFile(filepath.Join(b.cfg.ExportsDir, id+".json"), meta, 0o640)
}

func (b *LogBackend) rootsOf(ids []string) ([]*run.Root, error) {
	all, err := b.roots()
	if err != nil {
		return nil, err
	}
	var out []*run.Root
	for _, id := range ids {
		i := slices.IndexFunc(all, func(r *run.Root) bool { return r.Registration.RunID == id })
		if i < 0 {
			return nil, fmt.Errorf("%w: run %q", ErrNotFound, id)
		}
		out = append(out, all[i])
	}
	return out, nil
}

// OpenExport implements Backend.
func (b *LogBackend) OpenExport(_ context.Context, id string) (io.ReadSeekCloser, ExportInfo, error) {
	if !hexID.MatchString(id) || b.cfg.ExportsDir == "" {
		return nil, ExportInfo{}, fmt.Errorf("%w: export %q", ErrNotFound, id)
	}
	raw, err := os.ReadFile(filepath.Join(b.cfg.ExportsDir, id+".json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, ExportInfo{}, fmt.Errorf("%w: export %q", ErrNotFound, id)
	}
	if err != nil {
		return nil, ExportInfo{}, err
	}
	var info ExportInfo
	if err := json.Unmarshal(raw, &info); err != nil {
		return nil, ExportInfo{}, err
	}
	f, err := os.Open(filepath.Join(b.cfg.ExportsDir, id+".tar"))
	if err != nil {
		return nil, ExportInfo{}, err
	}
	return f, info, nil
}
