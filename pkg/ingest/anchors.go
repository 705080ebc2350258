package ingest

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/dossier-audit/dossier/pkg/anchor"
	"github.com/dossier-audit/dossier/pkg/anchor/anchorer"
	"github.com/dossier-audit/dossier/pkg/dossier"
	"github.com/dossier-audit/dossier/pkg/keyring"
	"github.com/dossier-audit/dossier/pkg/tlog"
	"github.com/dossier-audit/dossier/pkg/tlog/tlogproof"
	"github.com/dossier-audit/dossier/pkg/tsa"
	"github.com/dossier-audit/dossier/pkg/tsa/tsaverify"
	"github.com/dossier-audit/dossier/pkg/witness"
)

// AnchorConfig is the background anchorer (spec/anchors.md §4): after
// each new checkpoint it asks every TSA for an RFC 3161 token and every
// witness for a cosignature, kept in DataDir/anchors. A TSA or witness
// that is down delays the anchor (retried with backoff), never ingest.
type AnchorConfig struct {
	// TSAs lists NAME=URL; a TSA's chain is the keyring's
	// timestampAuthorities entry NAME unless TSAChains gives NAME=PEM.
	TSAs      []string `json:"tsas,omitempty"`
	TSAChains []string `json:"tsaChains,omitempty"`
	// Witnesses lists NAME=URL (the witness's tlog-witness prefix).
	Witnesses []string `json:"witnesses,omitempty"`
	// Interval is how often the anchorer looks for a new checkpoint: at
	// most one anchor (one token per TSA) per interval, of the newest
	// checkpoint, which covers every earlier leaf. Exports anchor their own
	// checkpoint whatever the interval.
	Interval Duration `json:"interval"`
	// Timeout bounds each TSA or witness request.
	Timeout Duration `json:"timeout"`
	// MaxBackoff is the longest wait after failed attempts.
	MaxBackoff Duration `json:"maxBackoff"`
}

func defaultAnchorConfig() AnchorConfig {
	return AnchorConfig{Interval: Duration(time.Minute), Timeout: Duration(10 * time.Second), MaxBackoff: Duration(5 * time.Minute)}
}

func (a *AnchorConfig) enabled() bool { return len(a.TSAs)+len(a.Witnesses) > 0 }

func (c *Config) anchorOptions() []option {
	return []option{
		{"anchor-tsas", "DOSSIERD_ANCHOR_TSAS", "time-stamping authorities NAME=URL, comma separated (checkpoints get RFC 3161 tokens)", (*listValue)(&c.Anchors.TSAs)},
		{"anchor-tsa-chains", "DOSSIERD_ANCHOR_TSA_CHAINS", "TSA chains NAME=PEM, comma separated (default: the keyring's timestampAuthorities)", (*listValue)(&c.Anchors.TSAChains)},
		{"anchor-witnesses", "DOSSIERD_ANCHOR_WITNESSES", "witnesses NAME=URL, comma separated (checkpoints get tlog-cosignatures)", (*listValue)(&c.Anchors.Witnesses)},
		{"anchor-interval", "DOSSIERD_ANCHOR_INTERVAL", "how often the anchorer looks for a new checkpoint", &c.Anchors.Interval},
		{"anchor-timeout", "DOSSIERD_ANCHOR_TIMEOUT", "timeout of each TSA or witness request", &c.Anchors.Timeout},
		{"anchor-max-backoff", "DOSSIERD_ANCHOR_MAX_BACKOFF", "longest wait between failed anchor attempts", &c.Anchors.MaxBackoff},
	}
}

// validate checks the anchor options; anchors need the keyring (its log
// key opens checkpoints, its trust root names the TSAs).
func (a *AnchorConfig) validate(c *Config) error {
	if !a.enabled() {
		return nil
	}
	var errs []string
	if len(c.Keyring) == 0 {
		errs = append(errs, "anchors need a keyring (its log key and trust root)")
	}
	for _, l := range [][]string{a.TSAs, a.TSAChains, a.Witnesses} {
		if _, err := namedValues(l); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if a.Interval <= 0 || a.Timeout <= 0 {
		errs = append(errs, "anchors.interval and anchors.timeout must be positive")
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %s", ErrConfig, strings.Join(errs, "; "))
	}
	return nil
}

// namedValues parses NAME=VALUE entries with unique names.
func namedValues(list []string) (map[string]string, error) {
	m := map[string]string{}
	for _, e := range list {
		k, v, ok := strings.Cut(e, "=")
		if !ok || k == "" || v == "" || m[k] != "" {
			return nil, fmt.Errorf("anchors: %q: want a unique NAME=VALUE", e)
		}
		m[k] = v
	}
	return m, nil
}

// anchorLoop runs the anchorer in the background and is the daemon's
// anchor source for exports. One anchoring runs at a time (witness state
// is per store).
type anchorLoop struct {
	s     *Service
	a     *anchorer.Anchorer
	every time.Duration
	maxBO time.Duration
	mu    sync.Mutex // held while anchoring
	stMu  sync.Mutex
	last  map[string]time.Time // anchor name -> last success
	errs  map[string]uint64    // anchor name -> failures
	done  uint64               // largest size every anchor covers
	seen  map[uint64]time.Time // sizes seen, not yet fully anchored: when first seen
}

// newAnchorLoop configures the anchorer; nil when no anchor is configured.
func newAnchorLoop(cfg Config, s *Service) (*anchorLoop, error) {
	if !cfg.Anchors.enabled() {
		return nil, nil
	}
	doc, err := keyring.Parse(s.keyringEnvs[len(s.keyringEnvs)-1])
	if err != nil {
		return nil, fmt.Errorf("anchors: keyring: %w", err)
	}
	logs := doc.Document.KeysWithRole(keyring.RoleLog)
	if len(logs) != 1 {
		return nil, fmt.Errorf("anchors: the newest keyring lists %d log keys, want 1", len(logs))
	}
	v, err := tlog.NewVerifier(logs[0].NoteVerifierKey)
	if err != nil {
		return nil, fmt.Errorf("anchors: %w", err)
	}
	hc := &http.Client{Timeout: cfg.Anchors.Timeout.D()}
	a := &anchorer.Anchorer{Log: v, Store: anchorer.Store{Dir: filepath.Join(cfg.DataDir, "anchors")}, Prove: witness.TileProver(s.logDir)}
	if a.TSAs, err = configTSAs(cfg.Anchors, doc.Document, hc); err != nil {
		return nil, err
	}
	wits, _ := namedValues(cfg.Anchors.Witnesses)
	for _, name := range slices.Sorted(maps.Keys(wits)) {
		a.Witnesses = append(a.Witnesses, anchorer.Witness{Name: name, Client: &witness.Client{URL: wits[name], HTTP: hc}})
	}
	if err := a.Check(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	return &anchorLoop{s: s, a: a, every: cfg.Anchors.Interval.D(), maxBO: cfg.Anchors.MaxBackoff.D(),
		last: map[string]time.Time{}, errs: map[string]uint64{}, seen: map[uint64]time.Time{}}, nil
}

func configTSAs(ac AnchorConfig, doc *keyring.Document, hc *http.Client) ([]anchorer.TSA, error) {
	urls, _ := namedValues(ac.TSAs)
	chains, _ := namedValues(ac.TSAChains)
	var out []anchorer.TSA
	for _, name := range slices.Sorted(maps.Keys(urls)) {
		opts, err := tsaChain(name, chains[name], doc)
		if err != nil {
			return nil, err
		}
		out = append(out, anchorer.TSA{Name: name, Client: &tsa.Client{URL: urls[name], HTTP: hc, Verify: opts}})
	}
	return out, nil
}

// tsaChain reads the chain of TSA name: a PEM file, else the keyring's
// timestampAuthorities entry of that name.
func tsaChain(name, file string, doc *keyring.Document) (tsaverify.Options, error) {
	pemText := ""
	for _, t := range doc.TimestampAuthorities {
		if t.Name == name {
			pemText = t.ChainPEM
		}
	}
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return tsaverify.Options{}, fmt.Errorf("anchors: TSA %s chain: %w", name, err)
		}
		pemText = string(b)
	}
	if pemText == "" {
		return tsaverify.Options{}, fmt.Errorf("%w: TSA %s: no chain (the keyring has no timestampAuthorities entry %s; set anchors.tsaChains)", ErrConfig, name, name)
	}
	ta := keyring.TimestampAuthority{Name: name, ChainPEM: pemText}
	roots, inter, err := ta.Chain()
	if err != nil {
		return tsaverify.Options{}, fmt.Errorf("%w: TSA %s chain: %v", ErrConfig, name, err)
	}
	return tsaverify.Options{Roots: roots, Intermediates: inter}, nil
}

// loop anchors each new published checkpoint; failures back off up to
// maxBO and are retried on the then newest checkpoint (a later anchor
// covers every earlier leaf).
func (l *anchorLoop) loop(ctx context.Context) {
	failed := 0
	for {
		wait := l.every
		if failed > 0 {
			wait = min(l.maxBO, l.every<<min(failed, 16))
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		if l.once(ctx) {
			failed = 0
		} else {
			failed++
		}
	}
}

// once anchors the published checkpoint when some anchor lacks it; it
// reports whether everything was obtained.
func (l *anchorLoop) once(ctx context.Context) bool {
	raw, err := tlog.ReadCheckpoint(l.s.logDir)
	if err != nil {
		l.s.logger.Warn("anchors: reading the checkpoint", "err", err)
		return false
	}
	cp, err := tlogproof.ParseCheckpointBody(noteBody(raw))
	if err != nil || cp.Size == 0 || l.covered(cp.Size) {
		return err == nil
	}
	l.mu.Lock()
	r, err := l.a.Anchor(ctx, raw)
	l.mu.Unlock()
	if err != nil {
		l.s.logger.Error("anchors: checkpoint not anchored", "size", cp.Size, "err", err)
		l.record(cp.Size, nil, err)
		return false
	}
	l.record(cp.Size, r, nil)
	return len(r.Failed) == 0
}

func (l *anchorLoop) covered(size uint64) bool {
	l.stMu.Lock()
	defer l.stMu.Unlock()
	if _, ok := l.seen[size]; size > l.done && !ok {
		l.seen[size] = time.Now()
	}
	return size <= l.done
}

// record keeps the outcome of one Anchor call for the metrics.
func (l *anchorLoop) record(size uint64, r *anchorer.Report, err error) {
	l.stMu.Lock()
	defer l.stMu.Unlock()
	now := time.Now()
	if err != nil {
		l.errs["store"]++
		return
	}
	for _, n := range r.Stamped {
		l.last["tsa:"+n] = now
	}
	for _, n := range r.Cosigned {
		l.last["witness:"+n] = now
	}
	for k, e := range r.Failed {
		l.errs[k]++
		l.s.logger.Warn("anchors: anchor not obtained; retried", "anchor", k, "size", size, "err", e)
	}
	if len(r.Failed) == 0 {
		l.done = max(l.done, size)
		maps.DeleteFunc(l.seen, func(s uint64, _ time.Time) bool { return s <= l.done })
	}
}

// source is the anchor source of one export: the package checkpoint is
// anchored first (under the loop's lock), then anchors.json is built.
func (l *anchorLoop) source() dossier.AnchorSource {
	if l == nil {
		return nil
	}
	return &lockedSource{l: l, e: &anchorer.Export{Anchorer: l.a}}
}

type lockedSource struct {
	l *anchorLoop
	e *anchorer.Export
}

// Build implements dossier.AnchorSource.
func (ls *lockedSource) Build(ctx context.Context, pkg *tlogproof.Checkpoint, indices []uint64) (*anchor.File, error) {
	ls.l.mu.Lock()
	defer ls.l.mu.Unlock()
	f, err := ls.e.Build(ctx, pkg, indices)
	if err == nil && ls.e.Fresh != nil {
		ls.l.record(pkg.Size, ls.e.Fresh, nil)
	}
	if err == nil && ls.e.Asserted > 0 {
		ls.l.s.logger.Warn("export: some proved leaves are not anchored (asserted by the operator)",
			"asserted", ls.e.Asserted, "proved", ls.e.Proved, "anchoredSize", ls.e.AnchoredSize, "checkpointSize", ls.e.Size)
	}
	return f, err
}

// writeMetrics writes the anchor metrics (nothing when anchors are off).
func (l *anchorLoop) writeMetrics(w io.Writer) {
	if l == nil {
		return
	}
	l.stMu.Lock()
	defer l.stMu.Unlock()
	age := 0.0
	for _, t := range l.seen {
		age = max(age, time.Since(t).Seconds())
	}
	gauge(w, "dossierd_anchor_backlog_checkpoints", "Published checkpoints seen that no complete anchor (every TSA and witness) covers yet.", float64(len(l.seen)))
	gauge(w, "dossierd_anchor_backlog_age_seconds", "Age of the oldest checkpoint not yet completely anchored (0 when none).", age)
	gauge(w, "dossierd_anchor_anchored_size", "Largest tree size every configured TSA and witness anchored.", float64(l.done))
	names := l.names()
	fmt.Fprintln(w, "# HELP dossierd_anchor_last_success_timestamp_seconds Unix time of the last anchor obtained, by anchor (0: none since start).\n# TYPE dossierd_anchor_last_success_timestamp_seconds gauge")
	for _, n := range names {
		ts := 0.0
		if t, ok := l.last[n]; ok {
			ts = float64(t.UnixNano()) / 1e9
		}
		fmt.Fprintf(w, "dossierd_anchor_last_success_timestamp_seconds{anchor=%q} %s\n", n, num(ts))
	}
	fmt.Fprintln(w, "# HELP dossierd_anchor_errors_total Failed anchor attempts, by anchor (store: the anchor store itself).\n# TYPE dossierd_anchor_errors_total counter")
	for _, n := range append(names, "store") {
		fmt.Fprintf(w, "dossierd_anchor_errors_total{anchor=%q} %d\n", n, l.errs[n])
	}
}

func (l *anchorLoop) names() []string {
	var out []string
	for _, t := range l.a.TSAs {
		out = append(out, "tsa:"+t.Name)
	}
	for _, wi := range l.a.Witnesses {
		out = append(out, "witness:"+wi.Name)
	}
	return out
}
