package tlog

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/transparency-dev/tessera"

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

type streamHead struct {
	name string
	next uint64
	last *entry
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
	if e := l.lookup(d); e != nil {
		return l.existing(ctx, e, stream, want)
	}
	if err := l.store.Put(ctx, digestString(d), bundle); err != nil {
		return Receipt{}, fmt.Errorf("storing bundle %s: %w", digestString(d), err)
	}
	e, fut, err := l.assign(d, stream, want)
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

func (l *Log) lookup(d [32]byte) *entry {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.byDigest[d]
}

// assign gives the record its stream position and queues its leaf, under
// the lock so that Tessera sees a stream's records in sequence order. It
// returns a nil future when another caller logged the same bundle first.
func (l *Log) assign(d [32]byte, stream string, want *uint64) (*entry, tessera.IndexFuture, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.broken != nil {
		return nil, nil, l.broken
	}
	if e, ok := l.byDigest[d]; ok {
		return e, nil, nil
	}
	h := l.head(stream)
	if want != nil && *want < h.next {
		return nil, nil, fmt.Errorf("%w: stream %s seq %d is held by another record (next free seq is %d)", ErrSequenceTaken, stream, *want, h.next)
	}
	if want != nil && *want > h.next {
		return nil, nil, fmt.Errorf("%w: stream %s: got seq %d, next is %d", ErrSequenceGap, stream, *want, h.next)
	}
	e := &entry{digest: d, stream: h.name, seq: h.next, pred: h.last, done: make(chan struct{})}
	if h.last != nil {
		e.prev = &h.last.digest
	}
	fut := l.add(context.Background(), tessera.NewEntry(e.leaf().Marshal()))
	h.next++
	h.last = e
	l.byDigest[d] = e
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
	if err != nil {
		e.err = fmt.Errorf("%w: appending %s: %v", ErrLogFailed, digestString(e.digest), err)
		l.mu.Lock()
		if l.broken == nil {
			l.broken = e.err
		}
		l.mu.Unlock()
	}
	e.index = idx.Index
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
	e := l.lookup(d)
	if e == nil {
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
