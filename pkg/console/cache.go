package console

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/dossier-audit/dossier/pkg/gate"
	"github.com/dossier-audit/dossier/pkg/policy"
	"github.com/dossier-audit/dossier/pkg/record"
	"github.com/dossier-audit/dossier/pkg/run"
)

// entry is what LogBackend keeps of one run, read at one checkpoint size.
type entry struct {
	size    uint64
	facts   *gate.Facts
	summary RunSummary
	detail  *RunDetail // nil until a run page asked for it
}

// refreshTimeout bounds a background refresh.
const refreshTimeout = 10 * time.Minute

// size reads the published checkpoint's size.
func (b *LogBackend) size() (uint64, error) {
	st, err := b.logStatus()
	return st.Size, err
}

// scanLog is one pass over the log for the runs of roots (gate.ScanLog):
// reading the log's leaves is what a cold read costs (about 1.6 µs a
// leaf, seconds for a large log), so the runs read together share one. Of
// a run holding more records than the limit it keeps only the count.
func (b *LogBackend) scanLog(ctx context.Context, roots []*run.Root) (*gate.Scan, error) {
	if b.onScan != nil {
		ids := make([]string, len(roots))
		for i, r := range roots {
			ids[i] = r.Registration.RunID
		}
		b.onScan(ids)
	}
	return gate.ScanLogMax(ctx, b.cfg.Log.Dir(), roots, b.cfg.Keyrings, b.cfg.Pin, b.maxRunRecords())
}

// listEntry verifies the run's records from the scan s (their bundles read
// through the open log, not a second handle on its bundle store) and
// evaluates the policy: an entry without the detail. A run holding more
// records than the limit is not read: its entry is tooLarge.
func (b *LogBackend) listEntry(ctx context.Context, s *gate.Scan, root *run.Root) (*entry, error) {
	if n, ok := s.Records(root); ok && n > b.maxRunRecords() {
		return tooLarge(s.Size(), root.Registration.RunID, n), nil
	}
	f, err := s.Facts(ctx, b.cfg.Log.Bundle, root)
	if err != nil {
		return nil, err
	}
	return &entry{size: f.Size, facts: f, summary: b.summary(f)}, nil
}

// entry returns the run's cached entry (with its detail when detail is
// set), reading it now when there is none. An entry older than size is
// returned as it is and refreshed in the background (stale while
// revalidating): verifying a run of 10,000 records takes seconds, a page
// must not wait for it. An entry read for a list, without the detail, at
// the current size is not read again for a run page: its detail is
// rendered from its facts (an older one is read again at the current
// size, the page waiting for it).
func (b *LogBackend) entry(ctx context.Context, root *run.Root, size uint64, detail bool) (*entry, error) {
	id := root.Registration.RunID
	b.mu.Lock()
	e := b.entries[id]
	if e != nil && (e.detail != nil || !detail || e.summary.TooLarge) {
		b.revalidate([]*run.Root{root}, size)
		b.mu.Unlock()
		return e, nil
	}
	b.mu.Unlock()
	var err error
	if e != nil && e.size >= size {
		e, err = b.finish(ctx, e, root, size, nil, nil)
	} else {
		e, err = b.build(ctx, root, size, detail)
	}
	if err != nil {
		return nil, err
	}
	b.store(id, e)
	return e, nil
}

// listEntries returns the list entries of roots: the cached ones as they are
// (those older than size refreshed in the background, together), the
// others read now in one pass over the log and cached. errs[i] is why
// roots[i] did not load; err, that the log itself did not read.
func (b *LogBackend) listEntries(ctx context.Context, roots []*run.Root, size uint64) (out []*entry, errs []error, err error) {
	out, errs = make([]*entry, len(roots)), make([]error, len(roots))
	var missing []*run.Root
	b.mu.Lock()
	for i, r := range roots {
		if out[i] = b.entries[r.Registration.RunID]; out[i] == nil {
			missing = append(missing, r)
		}
	}
	b.revalidate(roots, size)
	b.mu.Unlock()
	if len(missing) == 0 {
		return out, errs, nil
	}
	s, err := b.scanLog(ctx, missing)
	if err != nil {
		return nil, nil, err
	}
	for i, r := range roots {
		if out[i] == nil {
			if out[i], errs[i] = b.listEntry(ctx, s, r); errs[i] == nil {
				b.store(r.Registration.RunID, out[i])
			}
		}
	}
	return out, errs, nil
}

// revalidate refreshes in the background, in one pass over the log, those
// of roots whose cached entry is older than size and which no refresh is
// running for. The caller holds b.mu.
func (b *LogBackend) revalidate(roots []*run.Root, size uint64) {
	var stale []*run.Root
	var detail []bool
	for _, r := range roots {
		id := r.Registration.RunID
		if e := b.entries[id]; e != nil && e.size < size && !b.inflight[id] {
			b.inflight[id] = true
			stale, detail = append(stale, r), append(detail, e.detail != nil)
		}
	}
	if len(stale) > 0 {
		go b.refresh(stale, detail, size)
	}
}

// refresh reads the runs again in one pass, with their detail where
// detail[i] is set, and keeps those that load.
func (b *LogBackend) refresh(roots []*run.Root, detail []bool, size uint64) {
	ctx, cancel := context.WithTimeout(context.Background(), refreshTimeout)
	defer cancel()
	if s, err := b.scanLog(ctx, roots); err == nil {
		for i, r := range roots {
			e, err := b.listEntry(ctx, s, r)
			if err == nil && detail[i] {
				e, err = b.finish(ctx, e, r, size, nil, nil)
			}
			if err == nil {
				b.store(r.Registration.RunID, e)
			}
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, r := range roots {
		delete(b.inflight, r.Registration.RunID)
	}
}

// store keeps e unless a newer entry (or one with the detail at the same
// size) is already kept.
func (b *LogBackend) store(id string, e *entry) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if old := b.entries[id]; old != nil && (old.size > e.size || old.size == e.size && old.detail != nil && e.detail == nil) {
		return
	}
	b.entries[id] = e
}

// build reads the run from the log now and, when detail is set, renders
// its review against the model's last approved version: the earlier runs
// of its model that are not cached are scanned in the same pass as the
// run (verified only as far as previous needs them).
func (b *LogBackend) build(ctx context.Context, root *run.Root, size uint64, detail bool) (*entry, error) {
	scanned := []*run.Root{root}
	var roots []*run.Root
	if detail {
		var err error
		if roots, err = b.roots(); err != nil {
			return nil, err
		}
		scanned = append(scanned, b.uncached(earlier(roots, root))...)
	}
	s, err := b.scanLog(ctx, scanned)
	if err != nil {
		return nil, err
	}
	e, err := b.listEntry(ctx, s, root)
	if err != nil || !detail || e.summary.TooLarge {
		return e, err
	}
	return b.finish(ctx, e, root, size, s, roots)
}

// finish returns a copy of e with the review rendered against the last
// approved version (e may be cached and read by other pages: it is not
// changed). s, when not nil, is a scan of the earlier runs of the model
// among roots that are not cached (roots nil: the run files are read).
func (b *LogBackend) finish(ctx context.Context, e *entry, root *run.Root, size uint64, s *gate.Scan, roots []*run.Root) (*entry, error) {
	if e.summary.TooLarge {
		return e, nil
	}
	if roots == nil {
		var err error
		if roots, err = b.roots(); err != nil {
			return nil, err
		}
	}
	prev, label := b.previous(ctx, roots, root, size, s)
	d, err := b.detail(e.facts, prev, label)
	if err != nil {
		return nil, err
	}
	return &entry{size: e.size, facts: e.facts, summary: e.summary, detail: d}, nil
}

// previous finds the model's last approved version: the newest other run
// of the same model started before this one holding an approval with the
// decision approve. The runs it looks at that are not cached are read in
// one pass over the log (s, when the caller made it, else a scan made at
// the first such run) and verified newest first, as far as needed. A run
// too large to load (TooLarge) is passed over: it is not the previous
// version the console compares with.
func (b *LogBackend) previous(ctx context.Context, roots []*run.Root, this *run.Root, size uint64, s *gate.Scan) (*gate.Facts, string) {
	cands := earlier(roots, this)
	scanned := s != nil
	for _, r := range cands { // newest first
		e := b.cached(r, size)
		if e == nil {
			if !scanned {
				s, _ = b.scanLog(ctx, b.uncached(cands))
				scanned = true
			}
			if s == nil {
				continue
			}
			var err error
			if e, err = b.listEntry(ctx, s, r); err != nil {
				continue
			}
			b.store(r.Registration.RunID, e)
		}
		if !e.summary.TooLarge && approved(e.facts) {
			return e.facts, "run " + r.Registration.RunID
		}
	}
	return nil, ""
}

func approved(f *gate.Facts) bool {
	return slices.ContainsFunc(f.Records, func(rec policy.Record) bool {
		a, ok := rec.Predicate.(*record.Approval)
		return ok && strings.HasPrefix(a.Decision, "approve")
	})
}

// earlier are the other runs of this run's model started before it, in
// the order of roots (newest first).
func earlier(roots []*run.Root, this *run.Root) []*run.Root {
	t := this.Registration
	return slices.DeleteFunc(slices.Clone(roots), func(r *run.Root) bool {
		reg := r.Registration
		return reg.RunID == t.RunID || reg.Model != t.Model || reg.StartedAt >= t.StartedAt
	})
}

// cached returns the run's cached entry (refreshed in the background when
// older than size), or nil.
func (b *LogBackend) cached(r *run.Root, size uint64) *entry {
	b.mu.Lock()
	defer b.mu.Unlock()
	e := b.entries[r.Registration.RunID]
	if e != nil {
		b.revalidate([]*run.Root{r}, size)
	}
	return e
}

// uncached are those of roots with no cached entry.
func (b *LogBackend) uncached(roots []*run.Root) []*run.Root {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.DeleteFunc(slices.Clone(roots), func(r *run.Root) bool { return b.entries[r.Registration.RunID] != nil })
}
