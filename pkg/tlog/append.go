package tlog

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/transparency-dev/tessera"
	"github.com/transparency-dev/tessera/api/layout"
	"github.com/transparency-dev/tessera/client"

	"github.com/dossier-audit/dossier/pkg/tlog/tlogproof"
)

// Receipt is what the appender returns for a durable, integrated record.
type Receipt struct {
	Index    uint64 `json:"index"`  // leaf index in the log
	Stream   string `json:"stream"` // stream the record belongs to
	Seq      uint64 `json:"seq"`    // its sequence number in the stream, from 0
	Prev     string `json:"prev"`   // digest of the stream's previous record; "" for seq 0
	Bundle   string `json:"bundle"` // "sha256:<hex>" of the exact bundle bytes
	Leaf     []byte `json:"leaf"`   // the leaf bytes
	Existing bool   `json:"existing"`
}

// entry is the appender's record of one leaf. done is closed once err and
// index are final.
type entry struct {
	digest [32]byte
	stream string
	seq    uint64
	prev   *[32]byte // digest of the stream's previous record, nil for seq 0
	pred   *entry    // that record while it is still in flight
	index  uint64
	err    error
	done   chan struct{}
}

// streamHead is the state of a stream: its next seq, the digest of its
// last record and, while that record is in flight, the record itself.
type streamHead struct {
	name string
	next uint64
	last [32]byte // digest of seq next-1, when next > 0
	pred *entry   // the record of seq next-1 while it is in flight
}

var closed = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

func digestString(d [32]byte) string { return "sha256:" + hex.EncodeToString(d[:]) }

func (e *entry) leaf() tlogproof.Leaf {
	l := tlogproof.Leaf{Bundle: digestString(e.digest), Stream: e.stream, Seq: e.seq}
	if e.prev != nil {
		l.Prev = digestString(*e.prev)
	}
	return l
}

func (e *entry) receipt(existing bool) Receipt {
	l := e.leaf()
	return Receipt{Index: e.index, Stream: l.Stream, Seq: l.Seq, Prev: l.Prev,
		Bundle: l.Bundle, Leaf: l.Marshal(), Existing: existing}
}

// Append logs bundle as the next record of stream. It returns once the
// bundle bytes are durable in the bundle store and the leaf is integrated
// into the durable tree (and, with Options.AwaitCheckpoint, covered by a
// published checkpoint). Appending a bundle already in the log returns its
// existing receipt with Existing set.
func (l *Log) Append(ctx context.Context, bundle []byte, stream string) (Receipt, error) {
	return l.append(ctx, bundle, stream, nil)
}

// AppendAt is Append with an expected sequence number, for imports: a
// different record holding seq is ErrSequenceTaken, a seq beyond the next
// free one is ErrSequenceGap.
func (l *Log) AppendAt(ctx context.Context, bundle []byte, stream string, seq uint64) (Receipt, error) {
	return l.append(ctx, bundle, stream, &seq)
}

func (l *Log) append(ctx context.Context, bundle []byte, stream string, want *uint64) (Receipt, error) {
	if err := tlogproof.ValidateStream(stream); err != nil {
		return Receipt{}, err
	}
	if len(bundle) == 0 {
		return Receipt{}, errors.New("empty bundle")
	}
	d := sha256.Sum256(bundle)
	if e, err := l.lookup(ctx, d); err != nil || e != nil {
		if err != nil {
			return Receipt{}, err
		}
		return l.existing(ctx, e, stream, want)
	}
	if err := l.store.Put(ctx, digestString(d), bundle); err != nil {
		return Receipt{}, fmt.Errorf("storing bundle %s: %w", digestString(d), err)
	}
	e, fut, err := l.assign(ctx, d, stream, want)
	if err != nil {
		return Receipt{}, err
	}
	if fut == nil {
		return l.existing(ctx, e, stream, want)
	}
	l.resolve(e, fut)
	if e.err != nil {
		return Receipt{}, e.err
	}
	if l.opts.AwaitCheckpoint {
		if err := l.awaitPublished(ctx, e.index); err != nil {
			return Receipt{}, err
		}
	}
	return e.receipt(false), nil
}

// lookup returns the record of digest d, in flight or logged, or nil.
func (l *Log) lookup(ctx context.Context, d [32]byte) (*entry, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.findLocked(ctx, d)
}

// findLocked looks d up among the records in flight, then in the index of
// logged leaves, whose candidates it reads from the log to compare the
// full digest.
func (l *Log) findLocked(ctx context.Context, d [32]byte) (*entry, error) {
	if e, ok := l.pending[d]; ok {
		return e, nil
	}
	var found *entry
	var err error
	l.index.find(prefixOf(d), func(idx uint64) bool {
		var lf tlogproof.Leaf
		if lf, err = l.readLeaf(ctx, idx); err != nil {
			return true
		}
		if lf.Bundle != digestString(d) {
			return false
		}
		found = loggedEntry(idx, lf)
		return true
	})
	return found, err
}

// loggedEntry is the resolved record of a leaf read from the log.
func loggedEntry(idx uint64, lf tlogproof.Leaf) *entry {
	d, _ := parseDigest(lf.Bundle)
	e := &entry{digest: d, stream: lf.Stream, seq: lf.Seq, index: idx, done: closed}
	if lf.Prev != "" {
		pd, _ := parseDigest(lf.Prev)
		e.prev = &pd
	}
	return e
}

// readLeaf reads and parses leaf idx of the integrated tree.
func (l *Log) readLeaf(ctx context.Context, idx uint64) (tlogproof.Leaf, error) {
	size, err := l.reader.IntegratedSize(ctx)
	if err != nil {
		return tlogproof.Leaf{}, err
	}
	if idx >= size {
		return tlogproof.Leaf{}, fmt.Errorf("%w: leaf %d is beyond the tree size %d", ErrCorruptLog, idx, size)
	}
	eb, err := client.GetEntryBundle(ctx, client.EntryBundleFetcherFunc(l.reader.ReadEntryBundle), idx/layout.EntryBundleWidth, size)
	if err != nil {
		return tlogproof.Leaf{}, fmt.Errorf("reading leaf %d: %w", idx, err)
	}
	lf, err := tlogproof.ParseLeaf(eb.Entries[idx%layout.EntryBundleWidth])
	if err != nil {
		return tlogproof.Leaf{}, fmt.Errorf("%w: leaf %d: %v", ErrCorruptLog, idx, err)
	}
	return lf, nil
}

// assign gives the record its stream position and queues its leaf, under
// the lock so that Tessera sees a stream's records in sequence order. It
// returns a nil future when another caller logged the same bundle first.
func (l *Log) assign(ctx context.Context, d [32]byte, stream string, want *uint64) (*entry, tessera.IndexFuture, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.assignLocked(ctx, d, stream, want)
}

func (l *Log) assignLocked(ctx context.Context, d [32]byte, stream string, want *uint64) (*entry, tessera.IndexFuture, error) {
	if l.broken != nil {
		return nil, nil, l.broken
	}
	if e, err := l.findLocked(ctx, d); err != nil || e != nil {
		return e, nil, err
	}
	h := l.head(stream)
	if want != nil && *want < h.next {
		return nil, nil, fmt.Errorf("%w: stream %s seq %d is held by another record (next free seq is %d)", ErrSequenceTaken, stream, *want, h.next)
	}
	if want != nil && *want > h.next {
		return nil, nil, fmt.Errorf("%w: stream %s: got seq %d, next is %d", ErrSequenceGap, stream, *want, h.next)
	}
	e := &entry{digest: d, stream: h.name, seq: h.next, pred: h.pred, done: make(chan struct{})}
	if h.next > 0 {
		prev := h.last
		e.prev = &prev
	}
	fut := l.add(context.Background(), tessera.NewEntry(e.leaf().Marshal()))
	h.next++
	h.last, h.pred = d, e
	l.pending[d] = e
	return e, fut, nil
}

func (l *Log) head(stream string) *streamHead {
	h, ok := l.streams[stream]
	if !ok {
		h = &streamHead{name: stream}
		l.streams[stream] = h
	}
	return h
}

// resolve waits for the leaf's integration, then for the stream's previous
// record, so that no record is acknowledged after a predecessor failed. Any
// failure marks the log broken: the in-memory stream state may be ahead of
// the durable log, and only a reopen reconciles it.
func (l *Log) resolve(e *entry, fut tessera.IndexFuture) {
	idx, err := fut()
	if p := e.pred; err == nil && p != nil {
		<-p.done
		if p.err != nil {
			err = fmt.Errorf("previous record of stream %s failed: %w", e.stream, p.err)
		}
	}
	e.pred = nil
	if err == nil && idx.Index > maxIndexValue {
		err = fmt.Errorf("the log holds more than %d leaves", maxIndexValue)
	}
	e.index = idx.Index
	l.mu.Lock()
	if err != nil {
		e.err = fmt.Errorf("%w: appending %s: %v", ErrLogFailed, digestString(e.digest), err)
		if l.broken == nil {
			l.broken = e.err
		}
	} else {
		l.index.add(prefixOf(e.digest), e.index)
		delete(l.pending, e.digest) // a failed record stays, so its retries fail
	}
	if h := l.streams[e.stream]; h != nil && h.pred == e && err == nil {
		h.pred = nil
	}
	l.mu.Unlock()
	close(e.done)
}

func (l *Log) existing(ctx context.Context, e *entry, stream string, want *uint64) (Receipt, error) {
	select {
	case <-e.done:
	case <-ctx.Done():
		return Receipt{}, ctx.Err()
	}
	if e.err != nil {
		return Receipt{}, e.err
	}
	if e.stream != stream || (want != nil && *want != e.seq) {
		return Receipt{}, fmt.Errorf("%w: %s is stream %s seq %d", ErrRecordConflict, digestString(e.digest), e.stream, e.seq)
	}
	if l.opts.AwaitCheckpoint {
		if err := l.awaitPublished(ctx, e.index); err != nil {
			return Receipt{}, err
		}
	}
	return e.receipt(true), nil
}

func (l *Log) awaitPublished(ctx context.Context, index uint64) error {
	_, _, err := l.awaiter.Await(ctx, func() (tessera.Index, error) { return tessera.Index{Index: index}, nil })
	return err
}

// Lookup returns the receipt of an acknowledged record by bundle digest.
func (l *Log) Lookup(digest string) (Receipt, bool) {
	d, err := parseDigest(digest)
	if err != nil {
		return Receipt{}, false
	}
	e, err := l.lookup(context.Background(), d)
	if err != nil || e == nil {
		return Receipt{}, false
	}
	select {
	case <-e.done:
		if e.err == nil {
			return e.receipt(true), true
		}
	default:
	}
	return Receipt{}, false
}
