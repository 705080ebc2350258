package tlog

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/transparency-dev/tessera"
)

// feeder hands leaves to Tessera one group at a time: the leaves queued
// while a group is being integrated form the next group, added to Tessera
// together once the group before it resolved. Tessera integrates one batch
// at a time, each at the cost of a dozen fsyncs whatever its size, and cuts
// a batch when its first leaf is BatchMaxAge old; fed leaf by leaf under
// load, it would cut several small batches while one integrates, each then
// waiting its turn. Fed by groups, a group is one batch (group commit), so
// the batch size follows the load and a leaf waits for at most the batch
// being integrated and its own. Leaves keep their queue order.
type feeder struct {
	add     tessera.AddFn
	ctx     context.Context
	wake    chan struct{}
	maxWait time.Duration // longest gather

	mu      sync.Mutex
	queue   []*feedItem
	stopped bool

	failed error // of an earlier group; later groups are never fed
}

type feedItem struct {
	entry *tessera.Entry
	idx   tessera.Index
	err   error
	done  chan struct{}
}

var errFeederStopped = errors.New("log appender stopped")

// handoffAge is Tessera's BatchMaxAge behind a feeder: a group is added in
// a tight loop, so Tessera needs only this long to take all of it into
// one batch.
const handoffAge = 250 * time.Microsecond

func newFeeder(ctx context.Context, add tessera.AddFn, maxWait time.Duration) *feeder {
	f := &feeder{add: add, ctx: ctx, wake: make(chan struct{}, 1), maxWait: maxWait}
	go f.run()
	return f
}

// Add queues e for the next group; its signature is tessera.AddFn's.
func (f *feeder) Add(_ context.Context, e *tessera.Entry) tessera.IndexFuture {
	it := &feedItem{entry: e, done: make(chan struct{})}
	f.mu.Lock()
	if f.stopped {
		it.err = errFeederStopped
		close(it.done)
	} else {
		f.queue = append(f.queue, it)
	}
	f.mu.Unlock()
	select {
	case f.wake <- struct{}{}:
	default:
	}
	return func() (tessera.Index, error) {
		<-it.done
		return it.idx, it.err
	}
}

func (f *feeder) run() {
	for {
		select {
		case <-f.wake:
		case <-f.ctx.Done():
			f.stop()
			return
		}
		f.gather()
		f.mu.Lock()
		group := f.queue
		f.queue = nil
		f.mu.Unlock()
		f.feed(group)
	}
}

// gather lets the leaves of appenders woken together (by the bundle
// store's group commit, or the previous group's acknowledgement) join one
// group: it yields while the queue keeps growing, for at most maxWait.
func (f *feeder) gather() {
	deadline := time.Now().Add(f.maxWait)
	for n, still := -1, 0; still < 3 && time.Now().Before(deadline); {
		f.mu.Lock()
		m := len(f.queue)
		f.mu.Unlock()
		if m == n {
			still++
		} else {
			n, still = m, 0
		}
		runtime.Gosched()
	}
}

// feed adds a group to Tessera and waits until every leaf of it resolved.
// After a failure it fails every later group without feeding it: the Log
// is failed too (ErrLogFailed) and is reopened, and leaves that depend on a
// failed one (the next seq of its stream) must not reach the tree.
func (f *feeder) feed(group []*feedItem) {
	if f.failed != nil {
		for _, it := range group {
			it.err = fmt.Errorf("an earlier batch failed: %w", f.failed)
			close(it.done)
		}
		return
	}
	futs := make([]tessera.IndexFuture, len(group))
	for i, it := range group {
		futs[i] = f.add(f.ctx, it.entry)
	}
	for i, it := range group {
		it.idx, it.err = futs[i]()
		if it.err != nil && f.failed == nil {
			f.failed = it.err
		}
		close(it.done)
	}
}

// stop fails the leaves still queued: they were never handed to Tessera.
func (f *feeder) stop() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stopped = true
	for _, it := range f.queue {
		it.err = errFeederStopped
		close(it.done)
	}
	f.queue = nil
}
