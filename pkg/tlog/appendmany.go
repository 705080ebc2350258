package tlog

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"

	"github.com/transparency-dev/tessera"

	"github.com/dossier-audit/dossier/pkg/tlog/tlogproof"
)

// Item is one record of an AppendMany call.
type Item struct {
	Bundle []byte
	Stream string
}

// AppendMany logs several records with one durable wait: their bundles are
// stored together (one group commit), their leaves are sequenced under one
// lock, in the order given (items of one stream get consecutive seqs), and
// handed to Tessera together, so they are integrated in the same batch.
// Each record keeps every guarantee of Append: it is acknowledged only once
// durable, and after its stream's previous record. The receipts are in the
// order of items; a bundle already logged gets its receipt with Existing
// set. On error nothing is acknowledged, though some items may be logged:
// retrying the same call returns their receipts with Existing set.
func (l *Log) AppendMany(ctx context.Context, items []Item) ([]Receipt, error) {
	ds := make([][32]byte, len(items))
	for i, it := range items {
		if err := tlogproof.ValidateStream(it.Stream); err != nil {
			return nil, fmt.Errorf("item %d: %w", i, err)
		}
		if len(it.Bundle) == 0 {
			return nil, fmt.Errorf("item %d: empty bundle", i)
		}
		ds[i] = sha256.Sum256(it.Bundle)
	}
	if err := l.putAll(ctx, items, ds); err != nil {
		return nil, err
	}
	es, futs, err := l.assignAll(ctx, items, ds)
	if err != nil {
		return nil, err
	}
	for i, e := range es {
		if futs[i] != nil {
			l.resolve(e, futs[i])
		}
	}
	out := make([]Receipt, len(items))
	for i, e := range es {
		if futs[i] == nil {
			if out[i], err = l.existing(ctx, e, items[i].Stream, nil); err != nil {
				return nil, fmt.Errorf("item %d: %w", i, err)
			}
			continue
		}
		if e.err != nil {
			return nil, e.err
		}
		out[i] = e.receipt(false)
	}
	if l.opts.AwaitCheckpoint {
		for i, e := range es {
			if futs[i] != nil {
				if err := l.awaitPublished(ctx, e.index); err != nil {
					return nil, err
				}
			}
		}
	}
	return out, nil
}

// putAll stores the bundles concurrently, so that a group-committing store
// makes them durable with one fsync.
func (l *Log) putAll(ctx context.Context, items []Item, ds [][32]byte) error {
	errs := make([]error, len(items))
	var wg sync.WaitGroup
	for i := range items {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := l.store.Put(ctx, digestString(ds[i]), items[i].Bundle); err != nil {
				errs[i] = fmt.Errorf("storing bundle %s: %w", digestString(ds[i]), err)
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// assignAll assigns every item under one lock; a nil future marks a record
// that was already logged or in flight.
func (l *Log) assignAll(ctx context.Context, items []Item, ds [][32]byte) ([]*entry, []tessera.IndexFuture, error) {
	es := make([]*entry, len(items))
	futs := make([]tessera.IndexFuture, len(items))
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := range items {
		e, fut, err := l.assignLocked(ctx, ds[i], items[i].Stream, nil)
		if err != nil {
			// items already queued still resolve; their callers are not told
			for j := range i {
				if futs[j] != nil {
					go l.resolve(es[j], futs[j])
				}
			}
			return nil, nil, fmt.Errorf("item %d: %w", i, err)
		}
		es[i], futs[i] = e, fut
	}
	return es, futs, nil
}
