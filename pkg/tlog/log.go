package tlog

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/transparency-dev/tessera"
	"golang.org/x/mod/sumdb/note"

	"github.com/dossier-audit/dossier/internal/filelock"
	"github.com/dossier-audit/dossier/pkg/tlog/tlogproof"
)

// Errors of the appender.
var (
	// ErrSequenceTaken: a different record already holds that sequence
	// number of the stream.
	ErrSequenceTaken = errors.New("sequence number already taken")
	// ErrSequenceGap: an explicit sequence number skips ahead of the stream.
	ErrSequenceGap = errors.New("sequence number out of order")
	// ErrRecordConflict: the bundle is already in the log under another
	// stream or sequence number than the one asked for.
	ErrRecordConflict = errors.New("bundle already logged elsewhere")
	// ErrRollback: the log directory holds a smaller (or different) tree
	// than the last checkpoint the log key signed.
	ErrRollback = errors.New("log rollback refused")
	// ErrLogFailed: an earlier append failed after its sequence number was
	// assigned; the log refuses appends until it is reopened, which
	// reconciles its state from the durable log.
	ErrLogFailed = errors.New("log failed earlier; reopen it")
	// ErrLocked: another process has the log open for appending.
	ErrLocked = errors.New("log directory is in use")
	// ErrExists: Init found an existing log.
	ErrExists = errors.New("log already exists")
	// ErrCorruptLog: the log holds entries that break the leaf rules.
	ErrCorruptLog = errors.New("log entries are inconsistent")
)

// Defaults of Options.
const (
	DefaultBatchMaxSize       = 1024
	DefaultBatchMaxAge        = time.Millisecond
	DefaultCheckpointInterval = 200 * time.Millisecond
	stateDir                  = ".dossier"
	closeTimeout              = 30 * time.Second
)

// Options configure Open and Init.
type Options struct {
	// Signer signs checkpoints; its Name is the log origin. Required.
	Signer note.Signer
	// Origin, when set, must equal Signer.Name().
	Origin string
	// Watermark is the file that records the last checkpoint the log key
	// signed (default DIR/.dossier/signed). Keep it outside DIR (e.g. beside
	// the key) so that restoring DIR from a backup cannot also restore it.
	Watermark string
	// BundleStore keeps bundle bytes; default a DirStore in DIR/.dossier/bundles.
	BundleStore BundleStore
	// BatchMaxSize bounds Tessera's sequencing batches. BatchMaxAge bounds
	// how long the appender gathers leaves that arrive together before it
	// hands them to Tessera as one batch (leaves that arrive while a batch
	// integrates join the next batch whatever their age; see feeder).
	BatchMaxSize uint
	BatchMaxAge  time.Duration
	// CheckpointInterval is how often a new checkpoint may be published
	// (Tessera's POSIX minimum is 100ms).
	CheckpointInterval time.Duration
	// AwaitCheckpoint makes Append wait until a published checkpoint covers
	// the record, so a proof can be served at once.
	AwaitCheckpoint bool

	snapshotMinTail uint64 // tests lower it
	unfed           bool   // benchmarks compare with leaves added one by one
}

func (o *Options) fill(dir string) error {
	if o.Signer == nil {
		return errors.New("tlog: Options.Signer is required")
	}
	if o.Origin != "" && o.Origin != o.Signer.Name() {
		return fmt.Errorf("tlog: origin %q differs from the signer name %q", o.Origin, o.Signer.Name())
	}
	o.Origin = o.Signer.Name()
	if o.Watermark == "" {
		o.Watermark = filepath.Join(dir, stateDir, "signed")
	}
	if o.BatchMaxSize == 0 {
		o.BatchMaxSize = DefaultBatchMaxSize
	}
	if o.BatchMaxAge == 0 {
		o.BatchMaxAge = DefaultBatchMaxAge
	}
	if o.CheckpointInterval == 0 {
		o.CheckpointInterval = DefaultCheckpointInterval
	}
	if o.snapshotMinTail == 0 {
		o.snapshotMinTail = defaultSnapshotMinTail
	}
	return nil
}

// Log is an open, appendable log directory. Its methods are safe for
// concurrent use.
type Log struct {
	dir   string
	opts  Options
	store BundleStore
	owned *DirStore
	lock  *os.File

	add      tessera.AddFn
	reader   tessera.LogReader
	awaiter  *tessera.PublicationAwaiter
	shutdown func(context.Context) error
	cancel   context.CancelFunc

	mu       sync.Mutex
	index    prefixIndex         // integrated leaves: digest prefix → leaf index
	pending  map[[32]byte]*entry // records in flight, and failed ones
	streams  map[string]*streamHead
	broken   error
	snapSize uint64 // leaves covered by the index snapshot on disk
}

// Init creates a new, empty log in dir (created if missing) and publishes
// its size-0 checkpoint. It refuses a directory that already has a log.
func Init(ctx context.Context, dir string, opts Options) error {
	if _, err := os.Stat(filepath.Join(dir, "checkpoint")); err == nil {
		return fmt.Errorf("%w: %s has a checkpoint", ErrExists, dir)
	}
	l, err := Open(ctx, dir, opts)
	if err != nil {
		return err
	}
	return l.Close(ctx)
}

// CanWrite reports whether a log in dir can be opened for appending on
// this platform (Init and Open refuse otherwise, before creating
// anything); callers that create other files first (a key pair) ask it
// before they do.
func CanWrite(dir string) error { return canWrite(dir) }

// Open opens the log in dir for appending (creating it when empty). It
// refuses a tree smaller than, or inconsistent with, the last checkpoint
// the key signed (ErrRollback), then rebuilds the stream state from the
// entries of the log itself, so a crash at any point loses nothing that was
// acknowledged and duplicates nothing.
func Open(ctx context.Context, dir string, opts Options) (_ *Log, err error) {
	if err := canWrite(dir); err != nil {
		return nil, err
	}
	if err := opts.fill(dir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, stateDir), 0o755); err != nil {
		return nil, err
	}
	l := &Log{dir: dir, opts: opts, pending: map[[32]byte]*entry{}, streams: map[string]*streamHead{}}
	defer func() {
		if err != nil {
			l.release()
		}
	}()
	if err := l.lockDir(); err != nil {
		return nil, err
	}
	wm, err := loadWatermark(opts.Watermark)
	if err != nil {
		return nil, err
	}
	if err := wm.check(ctx, dir); err != nil {
		return nil, err
	}
	if err := l.openStore(); err != nil {
		return nil, err
	}
	if err := l.startTessera(ctx, &guardSigner{Signer: opts.Signer, wm: wm}); err != nil {
		return nil, err
	}
	if err := l.recover(ctx); err != nil {
		return nil, err
	}
	return l, nil
}

func (l *Log) lockDir() error {
	f, err := os.OpenFile(filepath.Join(l.dir, stateDir, "lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	if err := filelock.Lock(f, false); err != nil {
		f.Close()
		return fmt.Errorf("%w: %s: %v", ErrLocked, l.dir, err)
	}
	l.lock = f
	return nil
}

func (l *Log) openStore() error {
	l.store = l.opts.BundleStore
	if l.store != nil {
		return nil
	}
	s, err := OpenDirStore(filepath.Join(l.dir, stateDir, "bundles"))
	if err != nil {
		return err
	}
	l.store, l.owned = s, s
	return nil
}

func (l *Log) startTessera(ctx context.Context, signer note.Signer) error {
	driver, err := newDriver(ctx, l.dir)
	if err != nil {
		return err
	}
	tctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	l.cancel = cancel
	age := handoffAge
	if l.opts.unfed {
		age = l.opts.BatchMaxAge
	}
	o := tessera.NewAppendOptions().
		WithCheckpointSigner(signer).
		WithBatching(l.opts.BatchMaxSize, age).
		WithCheckpointInterval(l.opts.CheckpointInterval).
		WithShutdownTimeout(30 * time.Second)
	a, shutdown, reader, err := tessera.NewAppender(tctx, driver, o)
	if err != nil {
		return fmt.Errorf("opening log %s: %w", l.dir, err)
	}
	l.add, l.shutdown, l.reader = a.Add, shutdown, reader
	if !l.opts.unfed {
		l.add = newFeeder(tctx, a.Add, l.opts.BatchMaxAge).Add
	}
	l.awaiter = tessera.NewPublicationAwaiter(tctx, reader.ReadCheckpoint, 10*time.Millisecond)
	return nil
}

// Dir returns the log directory.
func (l *Log) Dir() string { return l.dir }

// Origin returns the log origin (the checkpoint's first line).
func (l *Log) Origin() string { return l.opts.Origin }

// Size returns the integrated tree size.
func (l *Log) Size(ctx context.Context) (uint64, error) { return l.reader.IntegratedSize(ctx) }

// Close waits until a published checkpoint covers every integrated entry,
// then stops the appender and releases the directory.
func (l *Log) Close(ctx context.Context) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, closeTimeout)
		defer cancel()
	}
	var err error
	if size, serr := l.reader.IntegratedSize(ctx); serr != nil {
		err = serr
	} else if size > 0 {
		err = l.awaitPublished(ctx, size-1) // entries recovered from a crash too
	}
	if l.shutdown != nil {
		err = errors.Join(err, l.shutdown(ctx))
	}
	if err == nil {
		if size, serr := l.reader.IntegratedSize(ctx); serr == nil {
			err = l.writeSnapshot(ctx, size)
		}
	}
	return errors.Join(err, l.release())
}

func (l *Log) release() error {
	var errs []error
	if l.cancel != nil {
		l.cancel()
	}
	if l.owned != nil {
		errs = append(errs, l.owned.Close())
		l.owned = nil
	}
	if l.lock != nil {
		errs = append(errs, l.lock.Close())
		l.lock = nil
	}
	return errors.Join(errs...)
}

// Bundle returns the stored bytes of the bundle with the given digest.
func (l *Log) Bundle(ctx context.Context, digest string) ([]byte, error) {
	return l.store.Get(ctx, digest)
}

var _ = tlogproof.Digest
