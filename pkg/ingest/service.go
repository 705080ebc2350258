package ingest

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/dossier-audit/dossier/pkg/bundle"
	"github.com/dossier-audit/dossier/pkg/console"
	"github.com/dossier-audit/dossier/pkg/dossier"
	"github.com/dossier-audit/dossier/pkg/ingest/auth"
	"github.com/dossier-audit/dossier/pkg/keyring"
	"github.com/dossier-audit/dossier/pkg/keys"
	"github.com/dossier-audit/dossier/pkg/record"
	"github.com/dossier-audit/dossier/pkg/tlog"
)

// Deps are the collaborators New takes from the caller; zero values mean
// the defaults (slog.Default, time.Now, authenticators from the config).
type Deps struct {
	Logger *slog.Logger
	Now    func() time.Time
	// IngestAuth and ReviewAuth replace the authenticators built from
	// Config.Ingest.Auth and Config.Review.Auth.
	IngestAuth, ReviewAuth auth.Authenticator
	// Getenv reads DOSSIER_KEY_PASSWORD for the ingest key (default os.Getenv).
	Getenv func(string) string
}

// Service is the ingest daemon's core: the log, the run registry, the
// answer journal, the time gate and the pusher. Handler serves its HTTP
// API; Close drains and closes it.
type Service struct {
	cfg     Config
	log     *tlog.Log
	logDir  string
	signer  signature.Signer
	keyID   string
	trusted map[string]signature.Verifier
	// keyringEnvs are the configured keyring versions (exports carry them).
	keyringEnvs [][]byte
	runs        *runRegistry
	journal     *journal
	gate        *timeGate
	pusher      *pusher
	anchors     *anchorLoop // nil: no TSA or witness configured (anchors.go)
	exports     *exporter
	metrics     *metrics
	logger      *slog.Logger
	now         func() time.Time
	authIn      auth.Authenticator
	authRev     auth.Authenticator

	// review is the review console's backend, shared with the approval
	// import (approvals.go); built once.
	review     *console.LogBackend
	reviewErr  error
	reviewOnce sync.Once

	producer record.Producer
	sem      chan struct{}

	mu       sync.Mutex
	inflight map[string][32]byte
	recLocks map[[32]byte]chan struct{}
	lastTime time.Time
	draining bool

	wg     sync.WaitGroup
	cancel context.CancelFunc
}

// New opens (or initialises) the data directory and starts the time gate
// and the pusher. It recovers the answer journal from the log first: every
// receipt in the log is findable before the first request is served.
func New(ctx context.Context, cfg Config, deps Deps) (_ *Service, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Service{cfg: cfg, logger: deps.Logger, now: deps.Now, inflight: map[string][32]byte{},
		recLocks: map[[32]byte]chan struct{}{}, sem: make(chan struct{}, cfg.Limits.MaxInFlight), metrics: newMetrics()}
	if s.logger == nil {
		s.logger = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.producer = record.Producer{ID: "workload:dossierd/" + cfg.Name, Name: "dossierd " + cfg.Name, Kind: "workload"}
	pol, err := loadPolicy(cfg.Policy) // before anything is opened
	if err != nil {
		return nil, err
	}
	if err := s.openAuth(cfg, deps); err != nil {
		return nil, err
	}
	if err := s.openSigner(ctx, cfg, deps); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, err
	}
	if s.runs, err = openRuns(filepath.Join(cfg.DataDir, "runs")); err != nil {
		return nil, err
	}
	if err := s.openLog(ctx, cfg); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			s.closeStores(context.Background())
		}
	}()
	if s.journal, err = openJournal(filepath.Join(cfg.DataDir, "journal"), cfg.IdempotencyTTL.D(), s.now, s.receiptLogged); err != nil {
		return nil, err
	}
	s.journal.fsyncs = s.metrics.fsync.observe
	if err := s.recover(ctx); err != nil {
		return nil, err
	}
	if err := s.loadKeyring(ctx, cfg); err != nil {
		return nil, err
	}
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.cancel = cancel
	s.gate = newTimeGate(cfg.Time, s)
	s.gate.checkOnce(bg)
	if s.pusher, err = newPusher(cfg, s); err != nil {
		return nil, err
	}
	expSigner, err := loadExporter(ctx, cfg, deps)
	if err != nil {
		return nil, err
	}
	s.exports = newExporter(s, expSigner)
	s.exports.policy = pol
	if s.anchors, err = newAnchorLoop(cfg, s); err != nil {
		return nil, err
	}
	if s.anchors != nil {
		s.wg.Add(1)
		go func() { defer s.wg.Done(); s.anchors.loop(bg) }()
	}
	s.wg.Add(3)
	go func() { defer s.wg.Done(); s.gate.loop(bg) }()
	go func() { defer s.wg.Done(); s.pusher.loop(bg) }()
	go func() { defer s.wg.Done(); s.pruneLoop(bg) }()
	ts := s.gate.state()
	s.logger.Info("dossierd ready", "dataDir", cfg.DataDir, "logOrigin", s.log.Origin(), "ingestKey", s.keyID,
		"timePolicy", s.gate.policyText(), "timeVerdict", ts.Verdict, "timeDiagnosis", ts.Diagnosis,
		"timeEvidence", ts.Evidence, "registry", cfg.Push.Registry, "releasePolicy", cfg.Policy)
	return s, nil
}

func (s *Service) openAuth(cfg Config, deps Deps) error {
	var err error
	s.authIn, s.authRev = deps.IngestAuth, deps.ReviewAuth
	if s.authIn == nil {
		if s.authIn, err = auth.Load(cfg.Ingest.Auth, deps.Now); err != nil {
			return fmt.Errorf("ingest listener: %w", err)
		}
	}
	if s.authRev == nil && cfg.Review.Addr != "" {
		if s.authRev, err = auth.Load(cfg.Review.Auth, deps.Now); err != nil {
			return fmt.Errorf("review listener: %w", err)
		}
	}
	return nil
}

// openSigner loads the ingest key. A key file signs deterministically
// (RFC 6979 / Ed25519), so a retried unsigned submission yields the same
// bundle bytes and the log recognises it: no duplicate even when the
// answer was lost in a crash.
func (s *Service) openSigner(ctx context.Context, cfg Config, deps Deps) error {
	getenv := deps.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	pass := keys.PasswordSource{Getenv: getenv, File: cfg.IngestKeyPassword}.PassFunc()
	var err error
	if keys.IsKMSRef(cfg.IngestKey) {
		s.signer, err = keys.LoadSigner(ctx, cfg.IngestKey, pass)
	} else {
		s.signer, err = loadFileSigner(cfg.IngestKey, pass, cfg.IngestKeyUnencrypted)
	}
	if err != nil {
		return fmt.Errorf("ingest key: %w", err)
	}
	keyed, err := bundle.NewKeyedSigner(ctx, s.signer) // fingerprinted once, not per bundle
	if err != nil {
		return fmt.Errorf("ingest key: %w", err)
	}
	s.signer, s.keyID = keyed, keyed.Fingerprint()
	return nil
}

// loadExporter loads the exporter key (nil when none is configured).
func loadExporter(ctx context.Context, cfg Config, deps Deps) (signature.Signer, error) {
	if cfg.ExporterKey == "" {
		return nil, nil
	}
	getenv := deps.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	pass := keys.PasswordSource{Getenv: getenv, File: cfg.ExporterKeyPassword}.PassFunc()
	if keys.IsKMSRef(cfg.ExporterKey) {
		return keys.LoadSigner(ctx, cfg.ExporterKey, pass)
	}
	s, err := loadFileSigner(cfg.ExporterKey, pass, cfg.IngestKeyUnencrypted)
	if err != nil {
		return nil, fmt.Errorf("exporter key: %w", err)
	}
	return s, nil
}

func loadFileSigner(path string, pass keys.PassFunc, unencrypted bool) (signature.Signer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	priv, err := keys.ParsePrivateKey(b, pass, unencrypted)
	if err != nil {
		return nil, err
	}
	return dossier.DeterministicSigner(priv)
}

func (s *Service) openLog(ctx context.Context, cfg Config) error {
	skey, err := os.ReadFile(cfg.LogKey)
	if err != nil {
		return fmt.Errorf("log key: %w", err)
	}
	signer, err := tlog.NewSigner(strings.TrimSpace(string(skey)))
	if err != nil {
		return fmt.Errorf("log key: %w", err)
	}
	s.logDir = filepath.Join(cfg.DataDir, "log")
	opts := tlog.Options{Signer: signer, Watermark: cfg.Watermark, BatchMaxAge: cfg.LogBatchMaxAge.D()}
	if _, err := os.Stat(filepath.Join(s.logDir, "checkpoint")); errors.Is(err, os.ErrNotExist) {
		if err := tlog.Init(ctx, s.logDir, opts); err != nil {
			return fmt.Errorf("initialising the log: %w", err)
		}
	}
	if s.log, err = tlog.Open(ctx, s.logDir, opts); err != nil {
		return fmt.Errorf("opening the log: %w", err)
	}
	return nil
}

// loadKeyring verifies the configured keyring chain against its pinned
// root, appends missing versions to the log (stream keyring), and trusts
// the newest version's unrevoked producer and ingest keys for signed
// submissions.
func (s *Service) loadKeyring(ctx context.Context, cfg Config) error {
	s.trusted = map[string]signature.Verifier{}
	if len(cfg.Keyring) == 0 {
		return nil
	}
	envs := make([][]byte, len(cfg.Keyring))
	for i, p := range cfg.Keyring {
		b, err := os.ReadFile(p)
		if err != nil {
			return fmt.Errorf("keyring: %w", err)
		}
		envs[i] = b
	}
	s.keyringEnvs = envs
	chain, err := keyring.VerifyChain(cfg.KeyringRoot, envs...)
	if err != nil {
		return fmt.Errorf("keyring: %w", err)
	}
	for _, env := range envs {
		if _, err := s.log.Append(ctx, env, "keyring"); err != nil {
			return fmt.Errorf("logging the keyring: %w", err)
		}
	}
	for _, k := range chain.Latest().Keys {
		if k.Revoked() || !(k.HasRole(keyring.RoleProducer) || k.HasRole(keyring.RoleIngest)) {
			continue
		}
		v, err := k.Verifier()
		if err != nil {
			return fmt.Errorf("keyring key %s: %w", k.ID, err)
		}
		s.trusted[k.ID] = v
	}
	return nil
}

// pruneLoop forgets expired idempotency keys every tenth of the TTL.
func (s *Service) pruneLoop(ctx context.Context) {
	every := max(s.cfg.IdempotencyTTL.D()/10, time.Second)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n := s.journal.prune(); n > 0 {
				s.logger.Debug("idempotency keys expired", "count", n)
			}
		}
	}
}

// Close stops accepting submissions, waits for those in progress, stops
// the background work and closes the journal and the log.
func (s *Service) Close(ctx context.Context) error {
	s.mu.Lock()
	s.draining = true
	s.mu.Unlock()
	for i := 0; i < cap(s.sem); i++ { // wait for every outstanding submission
		select {
		case s.sem <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if s.cancel != nil {
		s.cancel()
	}
	s.wg.Wait()
	if size, err := s.log.Size(ctx); err == nil {
		_ = s.journal.putMark(size)
	}
	return s.closeStores(ctx)
}

func (s *Service) closeStores(ctx context.Context) error {
	var errs []error
	if s.journal != nil {
		errs = append(errs, s.journal.close())
	}
	if s.log != nil {
		errs = append(errs, s.log.Close(ctx))
	}
	return errors.Join(errs...)
}

// receiptLogged returns the log receipt (leaf index, stream, seq, prev)
// of a logged bundle: an answer's receipt or record.
func (s *Service) receiptLogged(digest string) (tlog.Receipt, bool) {
	return s.log.Lookup(digest)
}

// lockRecord serialises work on one record digest (append, receipt,
// journal), so one record never gets two receipts from concurrent
// submissions; it returns the unlock function.
func (s *Service) lockRecord(d [32]byte) func() {
	for {
		s.mu.Lock()
		ch, busy := s.recLocks[d]
		if !busy {
			ch = make(chan struct{})
			s.recLocks[d] = ch
			s.mu.Unlock()
			return func() {
				s.mu.Lock()
				delete(s.recLocks, d)
				s.mu.Unlock()
				close(ch)
			}
		}
		s.mu.Unlock()
		<-ch
	}
}

// stamp returns the current time, never earlier than a time it returned
// before (receipts never go backwards when the clock steps back).
func (s *Service) stamp() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.now().UTC()
	if t.Before(s.lastTime) {
		t = s.lastTime
	}
	s.lastTime = t
	return t
}

func sum(parts ...[]byte) [32]byte {
	h := sha256.New()
	for _, p := range parts {
		h.Write(p)
		h.Write([]byte{0})
	}
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out
}
