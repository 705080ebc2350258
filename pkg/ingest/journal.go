package ingest

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/dossier-audit/dossier/pkg/tlog"
)

// journal is the daemon's durable answer store: one JSON line per
// acknowledged submission (idempotency key, request hash, time, answer),
// appended with group commit (one write and one fsync per batch), and
// "mark" lines that state every receipt below a log size is journalled.
// The memory index holds offsets, not answers, so it stays small.
type journal struct {
	f   *os.File
	ttl time.Duration
	now func() time.Time

	mu       sync.Mutex
	size     int64
	keys     map[[16]byte]keyEntry // prefix of sha256(key) -> its line
	byRecord map[[16]byte]int64    // record digest prefix -> offset of its answer line
	byStream map[string][]int64    // stream -> offsets of its answers, in journal order
	mark     uint64
	queue    []*jreq
	wake     chan struct{}
	failed   error
	closed   bool
	done     chan struct{}
	fsyncs   func(time.Duration)
	// logged reports whether a bundle (receipt or record) is in the log,
	// and where. An answer line may be durable before its record and
	// receipt (they are written in parallel); an answer whose receipt or
	// record is not logged does not exist. The record's seq, prev and log
	// index and the receipt's log index are read from the log, not from
	// the line (the line is written before the record is sequenced).
	logged func(digest string) (tlog.Receipt, bool)
}

// keyEntry locates a key's answer line; the request hash is read from the
// line (replays are rare, memory per record is the budget).
type keyEntry struct {
	off int64
	at  int64
}

func keyID(key string) [16]byte {
	h := sha256.Sum256([]byte(key))
	return [16]byte(h[:16])
}

func recID(d [32]byte) [16]byte { return [16]byte(d[:16]) }

type jreq struct {
	line     []byte
	off      int64 // where the line was written, once err is received
	deferred bool  // index only when the caller says so (indexWritten)
	key      string
	hash     [32]byte
	rec      [32]byte
	stream   string
	at       int64
	err      chan error
}

// jline is one journal line.
type jline struct {
	Key    string        `json:"k,omitempty"`
	Hash   string        `json:"h,omitempty"`
	At     int64         `json:"t,omitempty"`
	Answer *SubmitResult `json:"r,omitempty"`
	Mark   *uint64       `json:"mark,omitempty"`
}

// ErrJournal: the journal could not be written; the daemon must restart.
var ErrJournal = errors.New("answer journal failed")

func openJournal(path string, ttl time.Duration, now func() time.Time, logged func(string) (tlog.Receipt, bool)) (*journal, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	j := &journal{f: f, ttl: ttl, now: now, keys: map[[16]byte]keyEntry{}, byRecord: map[[16]byte]int64{},
		byStream: map[string][]int64{}, wake: make(chan struct{}, 1), done: make(chan struct{}), fsyncs: func(time.Duration) {},
		logged: logged}
	if err := j.load(); err != nil {
		f.Close()
		return nil, err
	}
	go j.writer()
	return j, nil
}

// load indexes the journal; a torn last line (no newline) is cut.
func (j *journal) load() error {
	r := bufio.NewReaderSize(j.f, 1<<20)
	var off int64
	cutoff := j.now().Add(-j.ttl).UnixNano()
	for {
		line, err := r.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			if len(line) > 0 {
				if err := j.f.Truncate(off); err != nil {
					return err
				}
			}
			break
		}
		if err != nil {
			return err
		}
		if err := j.index(line, off, cutoff); err != nil {
			return fmt.Errorf("%w: line at offset %d: %v", ErrJournal, off, err)
		}
		off += int64(len(line))
	}
	j.size = off
	_, err := j.f.Seek(off, io.SeekStart)
	return err
}

func (j *journal) index(line []byte, off, cutoff int64) error {
	var l jline
	if err := json.Unmarshal(line, &l); err != nil {
		return err
	}
	if l.Mark != nil {
		j.mark = *l.Mark
		return nil
	}
	if l.Answer == nil {
		return errors.New("no answer")
	}
	d, err := parseDigest32(l.Answer.Record)
	if err != nil {
		return err
	}
	if _, ok := j.logged(l.Answer.Receipt); !ok {
		return nil // written beside a receipt append that never completed
	}
	if _, ok := j.logged(l.Answer.Record); !ok {
		return nil
	}
	if _, seen := j.byRecord[recID(d)]; !seen {
		j.byStream[l.Answer.Stream] = append(j.byStream[l.Answer.Stream], off)
	}
	j.byRecord[recID(d)] = off
	if l.Key != "" && l.At >= cutoff {
		j.keys[keyID(l.Key)] = keyEntry{off: off, at: l.At}
	}
	return nil
}

// lookupKey returns the stored answer for an idempotency key.
func (j *journal) lookupKey(key string) (hash [32]byte, ans *SubmitResult, ok bool, err error) {
	j.mu.Lock()
	e, ok := j.keys[keyID(key)]
	j.mu.Unlock()
	if !ok || e.at < j.now().Add(-j.ttl).UnixNano() {
		return hash, nil, false, nil
	}
	l, err := j.read(e.off)
	if err != nil {
		return hash, nil, false, err
	}
	if l.Key != key {
		return hash, nil, false, nil
	}
	if _, err := hex.Decode(hash[:], []byte(l.Hash)); err != nil {
		return hash, nil, false, fmt.Errorf("%w: request hash at %d", ErrJournal, e.off)
	}
	return hash, l.Answer, true, nil
}

// lookupRecord returns the stored answer (receipt) of a record.
func (j *journal) lookupRecord(d [32]byte) (*SubmitResult, bool, error) {
	j.mu.Lock()
	off, ok := j.byRecord[recID(d)]
	j.mu.Unlock()
	if !ok {
		return nil, false, nil
	}
	l, err := j.read(off)
	if err != nil {
		return nil, false, err
	}
	return l.Answer, l.Answer.Record == digestString(d), nil
}

func digestString(d [32]byte) string { return "sha256:" + hex.EncodeToString(d[:]) }

func (j *journal) read(off int64) (*jline, error) {
	buf := make([]byte, 0, 1024)
	chunk := make([]byte, 1024)
	for {
		n, err := j.f.ReadAt(chunk, off+int64(len(buf)))
		buf = append(buf, chunk[:n]...)
		if i := bytes.IndexByte(buf, '\n'); i >= 0 {
			var l jline
			if err := json.Unmarshal(buf[:i], &l); err != nil || l.Answer == nil {
				return nil, fmt.Errorf("%w: unreadable line at %d", ErrJournal, off)
			}
			rr, ok := j.logged(l.Answer.Receipt)
			if !ok {
				return nil, fmt.Errorf("%w: the receipt of the answer at %d is not logged", ErrJournal, off)
			}
			rc, ok := j.logged(l.Answer.Record)
			if !ok {
				return nil, fmt.Errorf("%w: the record of the answer at %d is not logged", ErrJournal, off)
			}
			l.Answer.ReceiptIndex = rr.Index
			l.Answer.Seq, l.Answer.Prev, l.Answer.LogIndex = rc.Seq, rc.Prev, rc.Index
			return &l, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%w: reading line at %d: %v", ErrJournal, off, err)
		}
	}
}

// put durably appends an answer (key may be empty) whose receipt is
// logged, and indexes it.
func (j *journal) put(key string, hash [32]byte, ans *SubmitResult) error {
	r, err := j.line(key, hash, ans, false)
	if err != nil {
		return err
	}
	return j.enqueue(r)
}

// write queues an answer whose receipt is being appended in parallel and
// returns at once; wait returns when the line is durable, and the caller
// indexes it (indexWritten) only once the receipt is durable too. A line
// whose receipt never made it is skipped when the journal is loaded.
func (j *journal) write(key string, hash [32]byte, ans *SubmitResult) (*jreq, error) {
	r, err := j.line(key, hash, ans, true)
	if err != nil {
		return nil, err
	}
	return r, j.submit(r)
}

func (j *journal) line(key string, hash [32]byte, ans *SubmitResult, deferred bool) (*jreq, error) {
	rec, err := parseDigest32(ans.Record)
	if err != nil {
		return nil, err
	}
	at := j.now().UnixNano()
	l := jline{Key: key, At: at, Answer: ans}
	if key != "" {
		l.Hash = hex.EncodeToString(hash[:])
	}
	b, err := json.Marshal(l)
	if err != nil {
		return nil, err
	}
	return &jreq{line: append(b, '\n'), deferred: deferred, key: key, hash: hash, rec: rec, stream: ans.Stream, at: at,
		err: make(chan error, 1)}, nil
}

// indexWritten makes a durable line from write findable.
func (j *journal) indexWritten(r *jreq) {
	j.mu.Lock()
	j.indexLine(r, r.off)
	j.mu.Unlock()
}

// putMark durably records that every receipt below size is journalled.
func (j *journal) putMark(size uint64) error {
	b, _ := json.Marshal(jline{Mark: &size})
	return j.enqueue(&jreq{line: append(b, '\n'), err: make(chan error, 1)})
}

func (j *journal) enqueue(r *jreq) error {
	if err := j.submit(r); err != nil {
		return err
	}
	return <-r.err
}

// submit queues r for the writer; r.err receives the outcome.
func (j *journal) submit(r *jreq) error {
	j.mu.Lock()
	if j.failed != nil || j.closed {
		err := j.failed
		j.mu.Unlock()
		if err == nil {
			err = fmt.Errorf("%w: closed", ErrJournal)
		}
		return err
	}
	j.queue = append(j.queue, r)
	select {
	case j.wake <- struct{}{}:
	default:
	}
	j.mu.Unlock()
	return nil
}

func (j *journal) writer() {
	defer close(j.done)
	for {
		_, open := <-j.wake
		j.mu.Lock()
		batch := j.queue
		j.queue = nil
		j.mu.Unlock()
		if len(batch) > 0 {
			j.commit(batch)
		}
		if !open {
			return
		}
	}
}

// commit writes and fsyncs a batch; a failure poisons the journal (an
// fsync is never retried and trusted).
func (j *journal) commit(batch []*jreq) {
	var buf bytes.Buffer
	for _, r := range batch {
		buf.Write(r.line)
	}
	start := time.Now()
	_, err := j.f.Write(buf.Bytes())
	if err == nil {
		err = j.f.Sync()
	}
	j.fsyncs(time.Since(start))
	j.mu.Lock()
	if err != nil {
		j.failed = fmt.Errorf("%w: %v", ErrJournal, err)
		err = j.failed
	} else {
		off := j.size
		for _, r := range batch {
			r.off = off
			if !r.deferred {
				j.indexLine(r, off)
			}
			off += int64(len(r.line))
		}
		j.size = off
	}
	j.mu.Unlock()
	for _, r := range batch {
		r.err <- err
	}
}

// indexLine indexes the line of r at off; j.mu is held.
func (j *journal) indexLine(r *jreq, off int64) {
	if r.key != "" {
		j.keys[keyID(r.key)] = keyEntry{off: off, at: r.at}
	}
	if r.rec != ([32]byte{}) {
		if _, seen := j.byRecord[recID(r.rec)]; !seen {
			j.byStream[r.stream] = append(j.byStream[r.stream], off)
		}
		j.byRecord[recID(r.rec)] = off
	}
}

// close stops the writer after the queued entries are written.
func (j *journal) close() error {
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		return nil
	}
	j.closed = true
	close(j.wake)
	j.mu.Unlock()
	<-j.done
	return j.f.Close()
}

func parseDigest32(s string) ([32]byte, error) {
	var d [32]byte
	if len(s) != 71 || s[:7] != "sha256:" {
		return d, fmt.Errorf("digest %q, want sha256:<64 hex>", s)
	}
	_, err := hex.Decode(d[:], []byte(s[7:]))
	return d, err
}

// streamAnswers returns the answers of a stream's records from position
// after (exclusive, -1 for all), at most limit.
func (j *journal) streamAnswers(stream string, after int, limit int) ([]*SubmitResult, error) {
	j.mu.Lock()
	offs := j.byStream[stream]
	j.mu.Unlock()
	var out []*SubmitResult
	for i := after + 1; i < len(offs) && len(out) < limit; i++ {
		a, err := j.read(offs[i])
		if err != nil {
			return nil, err
		}
		out = append(out, a.Answer)
	}
	return out, nil
}

// prune forgets idempotency keys older than the TTL (their lines stay in
// the file; a restart skips them).
func (j *journal) prune() int {
	cutoff := j.now().Add(-j.ttl).UnixNano()
	j.mu.Lock()
	defer j.mu.Unlock()
	n := 0
	for k, e := range j.keys {
		if e.at < cutoff {
			delete(j.keys, k)
			n++
		}
	}
	return n
}

// err returns the error that poisoned the journal, if any.
func (j *journal) err() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.failed
}
