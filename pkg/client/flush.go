package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// deliver sends e, through the outbox when there is one: the entry is made
// durable first, then everything pending is flushed in order. queued is
// true when e is durable but not yet acknowledged. Without an outbox a
// failed send is returned.
func (c *Client) deliver(ctx context.Context, e *Entry, out any) (queued bool, err error) {
	if c.outbox == nil {
		return false, c.send(ctx, e, out)
	}
	e.QueuedAt = c.opts.Now().UTC().Format(time.RFC3339Nano)
	if err := c.outbox.enqueue(e); err != nil {
		return false, err
	}
	if !c.backoff.ready() {
		return true, nil
	}
	rep, err := c.flush(ctx, e.name, out)
	if err != nil && !errors.Is(err, errLocked) {
		var perr *ProblemError
		if errors.As(err, &perr) && !perr.Retryable() && rep.deadOwn {
			return false, err
		}
	}
	return !rep.deliveredOwn, nil
}

// FlushReport says what a Flush did.
type FlushReport struct {
	Delivered int `json:"delivered"`
	Dead      int `json:"dead"`
	Pending   int `json:"pending"`

	deliveredOwn, deadOwn bool
}

// Flush delivers pending outbox entries in order, ignoring backoff. It stops
// at the first entry that fails in a retryable way (order is kept) and
// returns that error; entries the daemon refuses for good are moved to
// OUTBOX/dead with the daemon's answer, and delivery continues.
func (c *Client) Flush(ctx context.Context) (FlushReport, error) {
	if c.outbox == nil {
		return FlushReport{}, nil
	}
	return c.flush(ctx, "", nil)
}

func (c *Client) flush(ctx context.Context, own string, out any) (FlushReport, error) {
	c.flushMu.Lock()
	defer c.flushMu.Unlock()
	var rep FlushReport
	unlock, err := flock(c.outbox.dir+"/.flush.lock", false)
	if err != nil {
		return rep, err
	}
	defer unlock()
	names, err := c.outbox.names()
	if err != nil {
		return rep, err
	}
	for i, name := range names {
		if err := c.flushOne(ctx, name, own, out, &rep); err != nil {
			rep.Pending = len(names) - i
			return rep, err
		}
	}
	c.backoff.reset()
	return rep, nil
}

func (c *Client) flushOne(ctx context.Context, name, own string, out any, rep *FlushReport) error {
	e, err := c.outbox.read(name)
	if errors.Is(err, errCorrupt) {
		rep.Dead++
		return c.outbox.bury(name, []byte(fmt.Sprintf(`{"code":"corrupt-entry","detail":%q}`, err.Error())))
	}
	if err != nil {
		return err
	}
	var sink json.RawMessage
	target := any(&sink)
	if name == own && out != nil {
		target = out
	}
	err = c.send(ctx, e, target)
	if err == nil {
		rep.Delivered++
		rep.deliveredOwn = rep.deliveredOwn || name == own
		return c.outbox.remove(name)
	}
	if again, after := retryable(err); again {
		c.backoff.fail(after)
		return err
	}
	perr, _ := err.(*ProblemError)
	var body []byte
	if perr != nil {
		body = perr.Body
	}
	if berr := c.outbox.bury(name, body); berr != nil {
		return berr
	}
	rep.Dead++
	rep.deadOwn = rep.deadOwn || name == own
	if name == own {
		return err
	}
	return nil
}

// FlushLoop flushes the outbox until ctx is done: at once, then whenever
// the backoff allows, at most every interval.
func (c *Client) FlushLoop(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if c.backoff.ready() {
			_, _ = c.Flush(ctx)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Pending returns the number of entries waiting in the outbox.
func (c *Client) Pending() (int, error) {
	if c.outbox == nil {
		return 0, nil
	}
	n, err := c.outbox.names()
	return len(n), err
}

// backoff is exponential with full jitter, honouring Retry-After.
type backoff struct {
	mu       sync.Mutex
	now      func() time.Time
	min, max time.Duration
	cur      time.Duration
	next     time.Time
}

func (b *backoff) ready() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return !b.now().Before(b.next)
}

func (b *backoff) fail(retryAfter time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.cur = min(max(b.cur*2, b.min), b.max)
	wait := b.cur/2 + rand.N(b.cur/2+1)
	b.next = b.now().Add(max(wait, retryAfter))
}

func (b *backoff) reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.cur, b.next = 0, time.Time{}
}
