package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/dossier-audit/dossier/internal/atomicfile"
	"github.com/dossier-audit/dossier/internal/filelock"
)

// The outbox is a directory shared by the Go client, dossier submit and the
// Python client (same format):
//
//	OUTBOX/00000000000000000042.json   pending entries, delivered in name order
//	OUTBOX/dead/<name>.json            entries the daemon refused for good
//	OUTBOX/dead/<name>.problem.json    the daemon's problem document for it
//	OUTBOX/.enqueue.lock, .flush.lock  flock(2) locks
//
// An entry is written with write-temp, fsync, rename, fsync-directory
// before its first send, and removed (then the directory fsynced) only after
// the daemon acknowledged it with 200 or 201. A crash at any point leaves
// the entry pending or delivered; a resend carries the same key and body, so
// the daemon answers it from its idempotency store.

// EntryVersion is the version of the outbox entry format.
const EntryVersion = 1

// maxEntry bounds an outbox entry file.
const maxEntry = 8 << 20

// Entry is one pending request in the outbox.
type Entry struct {
	V        int    `json:"v"`
	Seq      uint64 `json:"seq"`
	Method   string `json:"method"`
	Path     string `json:"path"`
	Key      string `json:"key"`
	Body     string `json:"body"`
	RunID    string `json:"runId,omitempty"`
	Kind     string `json:"kind,omitempty"`
	QueuedAt string `json:"queuedAt"`

	name string
}

// ErrOutbox is wrapped by outbox I/O failures.
var ErrOutbox = errors.New("outbox")

type outbox struct {
	dir  string
	mu   sync.Mutex
	last uint64
}

func openOutbox(dir string) (*outbox, error) {
	if err := os.MkdirAll(filepath.Join(dir, "dead"), 0o700); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrOutbox, err)
	}
	return &outbox{dir: dir}, nil
}

// enqueue writes e durably with the next sequence number.
func (o *outbox) enqueue(e *Entry) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	unlock, err := flock(filepath.Join(o.dir, ".enqueue.lock"), true)
	if err != nil {
		return err
	}
	defer unlock()
	names, err := o.names()
	if err != nil {
		return err
	}
	next := o.last + 1
	if n := len(names); n > 0 {
		if s := seqOf(names[n-1]); s >= next {
			next = s + 1
		}
	}
	e.V, e.Seq = EntryVersion, next
	e.name = fmt.Sprintf("%020d.json", next)
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrOutbox, err)
	}
	if err := atomicfile.WriteNew(filepath.Join(o.dir, e.name), b, 0o600); err != nil {
		return fmt.Errorf("%w: %v", ErrOutbox, err)
	}
	o.last = next
	return nil
}

// names lists pending entry file names in delivery order.
func (o *outbox) names() ([]string, error) {
	des, err := os.ReadDir(o.dir)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrOutbox, err)
	}
	var out []string
	for _, de := range des {
		n := de.Name()
		if de.Type().IsRegular() && strings.HasSuffix(n, ".json") && len(n) == 25 && seqOf(n) > 0 {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out, nil
}

func seqOf(name string) uint64 {
	s, err := strconv.ParseUint(strings.TrimSuffix(name, ".json"), 10, 64)
	if err != nil {
		return 0
	}
	return s
}

func (o *outbox) read(name string) (*Entry, error) {
	b, err := os.ReadFile(filepath.Join(o.dir, name))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrOutbox, err)
	}
	if len(b) > maxEntry {
		return nil, fmt.Errorf("%w: %s: %d bytes, limit %d", ErrOutbox, name, len(b), maxEntry)
	}
	var e Entry
	if err := json.Unmarshal(b, &e); err != nil || e.V != EntryVersion || e.Key == "" || e.Path == "" || !strings.HasPrefix(e.Path, "/v1/") {
		return nil, fmt.Errorf("%w: %s: not an outbox entry of version %d", errCorrupt, name, EntryVersion)
	}
	e.name = name
	return &e, nil
}

// remove deletes a delivered entry durably.
func (o *outbox) remove(name string) error {
	if err := os.Remove(filepath.Join(o.dir, name)); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("%w: %v", ErrOutbox, err)
	}
	if err := atomicfile.SyncDir(o.dir); err != nil {
		return fmt.Errorf("%w: %v", ErrOutbox, err)
	}
	return nil
}

// bury moves an entry the daemon refused for good to dead/, with the
// daemon's answer beside it.
func (o *outbox) bury(name string, problem []byte) error {
	dead := filepath.Join(o.dir, "dead")
	if len(problem) > 0 {
		p := filepath.Join(dead, strings.TrimSuffix(name, ".json")+".problem.json")
		if err := atomicfile.WriteFile(p, problem, 0o600); err != nil {
			return fmt.Errorf("%w: %v", ErrOutbox, err)
		}
	}
	if err := os.Rename(filepath.Join(o.dir, name), filepath.Join(dead, name)); err != nil {
		return fmt.Errorf("%w: %v", ErrOutbox, err)
	}
	if err := atomicfile.SyncDir(dead); err != nil {
		return fmt.Errorf("%w: %v", ErrOutbox, err)
	}
	return o.remove(name)
}

// flock takes an exclusive lock (internal/filelock) on path; wait=false returns
// errLocked when another process holds it.
func flock(path string, wait bool) (func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrOutbox, err)
	}
	if err := filelock.Lock(f, wait); err != nil {
		f.Close()
		if errors.Is(err, filelock.ErrLocked) {
			return nil, errLocked
		}
		return nil, fmt.Errorf("%w: lock %s: %v", ErrOutbox, path, err)
	}
	return func() { _ = filelock.Unlock(f); f.Close() }, nil
}

var errLocked = errors.New("outbox is being flushed by another process")

// errCorrupt marks an entry that cannot be sent: it is set aside in dead/.
var errCorrupt = errors.New("corrupt outbox entry")
