package ingest

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/dossier-audit/dossier/internal/atomicfile"
	"github.com/dossier-audit/dossier/pkg/oci"
	"github.com/dossier-audit/dossier/pkg/oci/remote"
	"github.com/dossier-audit/dossier/pkg/tlog/tlogproof"
)

// pushBatch bounds the leaves one push pass handles. A pass has a fixed
// cost (index.json and the run's tree top rewritten, one sync of the
// staged blobs, the cursor file), so under load fewer, larger passes cost
// less CPU per record; a pass holds at most this many bundles in memory.
const pushBatch = 4096

// pusher copies logged records into the local OCI layout
// (DataDir/layout) and, when configured, a registry. The log is its
// durable spool: a cursor file (DataDir/push-cursor) holds the first leaf
// not yet pushed and advances only after a pass was written and (for a
// registry) read back by digest, so the backlog survives restarts and
// registry outages of any length, and drains in log order. Pushes are
// content-addressed, so a pass repeated after a crash changes nothing.
type pusher struct {
	s      *Service
	path   string
	layout *oci.LayoutStore
	remote *remote.Repository
	every  time.Duration
	maxBO  time.Duration
	wakeC  chan struct{}

	mu     sync.Mutex
	cursor uint64
	behind time.Time // when the backlog last became non-empty
	failed int
}

func newPusher(cfg Config, s *Service) (*pusher, error) {
	p := &pusher{s: s, path: filepath.Join(cfg.DataDir, "push-cursor"), every: cfg.Push.Interval.D(),
		maxBO: cfg.Push.MaxBackoff.D(), wakeC: make(chan struct{}, 1)}
	if p.every <= 0 {
		p.every = 2 * time.Second
	}
	if p.maxBO <= 0 {
		p.maxBO = 5 * time.Minute
	}
	var err error
	if p.layout, err = oci.OpenLayout(filepath.Join(cfg.DataDir, "layout")); err != nil {
		return nil, fmt.Errorf("layout: %w", err)
	}
	if cfg.Push.Registry != "" {
		opts := remote.Options{PlainHTTP: cfg.Push.PlainHTTP, CAFile: cfg.Push.CAFile, Username: cfg.Push.Username}
		if cfg.Push.Password != "" {
			b, err := os.ReadFile(cfg.Push.Password)
			if err != nil {
				return nil, fmt.Errorf("registry password: %w", err)
			}
			opts.Password = strings.TrimSpace(string(b))
		}
		if p.remote, err = remote.Open(cfg.Push.Registry, opts); err != nil {
			return nil, fmt.Errorf("registry: %w", err)
		}
	}
	if b, err := os.ReadFile(p.path); err == nil && len(b) == 8 {
		p.cursor = binary.BigEndian.Uint64(b)
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	return p, nil
}

func (p *pusher) wake() {
	select {
	case p.wakeC <- struct{}{}:
	default:
	}
}

// backlog returns the leaves not pushed and the backlog's age in seconds.
func (p *pusher) backlog(ctx context.Context) (int64, float64) {
	size, _ := p.s.log.Size(ctx)
	p.mu.Lock()
	defer p.mu.Unlock()
	if size <= p.cursor {
		return 0, 0
	}
	age := 0.0
	if !p.behind.IsZero() {
		age = time.Since(p.behind).Seconds()
	}
	return int64(size - p.cursor), age
}

func (p *pusher) loop(ctx context.Context) {
	delay := time.Duration(0)
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.wakeC:
		case <-time.After(max(delay, p.every)):
		}
		if delay > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(delay):
			}
		}
		delay = p.drain(ctx)
	}
}

// drain pushes until the backlog is empty or a pass fails; it returns
// the backoff to wait before the next attempt.
func (p *pusher) drain(ctx context.Context) time.Duration {
	for ctx.Err() == nil {
		more, err := p.pass(ctx)
		if err != nil {
			p.mu.Lock()
			p.failed++
			n := p.failed
			p.mu.Unlock()
			bo := min(p.maxBO, time.Second<<min(n-1, 16))
			bo = bo/2 + rand.N(bo/2+1)
			p.s.logger.Warn("push failed; backlog kept", "err", err, "attempt", n, "retryIn", bo)
			return bo
		}
		p.mu.Lock()
		p.failed = 0
		p.mu.Unlock()
		if !more {
			return 0
		}
	}
	return 0
}

// Drain pushes the whole backlog now (tests, shutdown).
func (s *Service) DrainPush(ctx context.Context) error {
	for {
		more, err := s.pusher.pass(ctx)
		if err != nil || !more {
			return err
		}
	}
}

// pass pushes one batch of leaves; more reports a remaining backlog.
func (p *pusher) pass(ctx context.Context) (more bool, err error) {
	size, err := p.s.log.Size(ctx)
	if err != nil {
		return false, err
	}
	p.mu.Lock()
	start := p.cursor
	if size > start && p.behind.IsZero() {
		p.behind = time.Now()
	}
	p.mu.Unlock()
	if size <= start {
		return false, nil
	}
	end := min(size, start+pushBatch)
	runs, err := p.collect(ctx, start, end)
	if err != nil {
		return false, err
	}
	for _, rc := range runs {
		if err := oci.WriteRun(ctx, p.layout, rc); err != nil {
			return false, fmt.Errorf("layout: %w", err)
		}
		if p.remote != nil {
			if err := oci.WriteRun(ctx, p.remote, rc); err != nil {
				return false, fmt.Errorf("registry: %w", err)
			}
		}
	}
	if err := p.advance(end, size); err != nil {
		return false, err
	}
	return end < size, nil
}

// collect packs the run records among leaves [start, end), per run.
func (p *pusher) collect(ctx context.Context, start, end uint64) (map[string]*oci.RunContent, error) {
	runs := map[string]*oci.RunContent{}
	err := forLeaves(ctx, p.s.logDir, start, end, func(_ uint64, lf tlogproof.Leaf) error {
		root, ok := p.s.runs.byStream(lf.Stream)
		if !ok {
			return nil // log-scoped leaves (receipts, time evidence, keyring) stay in the log
		}
		b, err := p.s.log.Bundle(ctx, lf.Bundle)
		if err != nil {
			return err
		}
		rec, err := oci.PackRecord(root.Descriptor, b, lf.Seq)
		if err != nil {
			return fmt.Errorf("packing %s: %w", lf.Bundle, err)
		}
		rc := runs[lf.Stream]
		if rc == nil {
			rc = oci.NewRunContent(root)
			runs[lf.Stream] = rc
		}
		rc.Records = append(rc.Records, rec)
		return nil
	})
	return runs, err
}

func (p *pusher) advance(end, size uint64) error {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], end)
	if err := atomicfile.WriteFile(p.path, b[:], 0o640); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cursor = end
	if end >= size {
		p.behind = time.Time{}
	}
	return nil
}
