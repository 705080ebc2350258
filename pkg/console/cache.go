package console

import (
	"context"
	"time"

	"github.com/dossier-audit/dossier/pkg/gate"
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
	if e != nil && (e.detail != nil || !detail) {
		b.revalidate(root, e, size)
		b.mu.Unlock()
		return e, nil
	}
	b.mu.Unlock()
	var err error
	if e != nil && e.size >= size {
		e, err = b.finish(ctx, e, root, size, true)
	} else {
		e, err = b.build(ctx, root, size, detail)
	}
	if err != nil {
		return nil, err
	}
	b.store(id, e)
	return e, nil
}

// revalidate refreshes e in the background when it is older than size and
// no refresh of the run is running. The caller holds b.mu.
func (b *LogBackend) revalidate(root *run.Root, e *entry, size uint64) {
	if id := root.Registration.RunID; e.size < size && !b.inflight[id] {
		b.inflight[id] = true
		go b.refresh(root, size, e.detail != nil)
	}
}

func (b *LogBackend) refresh(root *run.Root, size uint64, detail bool) {
	ctx, cancel := context.WithTimeout(context.Background(), refreshTimeout)
	defer cancel()
	e, err := b.build(ctx, root, size, detail)
	b.mu.Lock()
	delete(b.inflight, root.Registration.RunID)
	b.mu.Unlock()
	if err == nil {
		b.store(root.Registration.RunID, e)
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

// build verifies the run's records (their bundles read through the open
// log, not a second handle on its bundle store), evaluates the policy and,
// when detail is set, renders the review against the last approved version.
func (b *LogBackend) build(ctx context.Context, root *run.Root, size uint64, detail bool) (*entry, error) {
	facts, err := gate.LoadFrom(ctx, b.cfg.Log.Dir(), b.cfg.Log.Bundle, root, b.cfg.Keyrings, b.cfg.Pin)
	if err != nil {
		return nil, err
	}
	return b.finish(ctx, &entry{size: facts.Size, facts: facts, summary: b.summary(facts)}, root, size, detail)
}

// finish returns e when detail is not set, else a copy of e with the
// review rendered against the last approved version (e may be cached and
// read by other pages: it is not changed).
func (b *LogBackend) finish(ctx context.Context, e *entry, root *run.Root, size uint64, detail bool) (*entry, error) {
	if !detail {
		return e, nil
	}
	roots, err := b.roots()
	if err != nil {
		return nil, err
	}
	prev, label := b.previous(ctx, roots, root, size)
	d, err := b.detail(e.facts, prev, label)
	if err != nil {
		return nil, err
	}
	return &entry{size: e.size, facts: e.facts, summary: e.summary, detail: d}, nil
}
