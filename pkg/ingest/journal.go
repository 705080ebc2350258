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
	"slices"
	"sync"
	"time"

	"github.com/dossier-audit/dossier/pkg/tlog"
	"github.com/dossier-audit/dossier/pkg/tlog/prefixindex"
)

// journal is the daemon's durable answer store: one JSON line per
// acknowledged submission (idempotency key, request hash, time, answer),
// appended with group commit (one write and one fsync per batch), and
// "mark" lines that state every receipt below a log size is journalled.
// The memory index holds offsets, not answers, in compact digest indexes
// (prefixindex: about 12 bytes an entry; candidates are checked against
// the line they point to), so a million records cost about 35 MB.
type journal struct {
	f   *os.File
	ttl time.Duration
	now func() time.Time

	mu       sync.Mutex
	size     int64
	keys     prefixindex.Index  // sha256(key) -> offsets of its lines
	byRecord prefixindex.Index  // record digest -> offset of its first answer line
	byStream map[string][]int64 // stream -> offsets of its answers, in journal order
	ages     []ageMark          // when the lines before an offset were written at the latest
	maxAt    int64              // latest line time written so far
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

// ageMark states that every line before off was written at or before at
// (UnixNano): prune drops the keys of lines older than the TTL by offset.
type ageMark struct{ off, at int64 }

// ageMarks is how many age marks a TTL spans (the precision of prune).
const ageMarks = 256

func keyID(key string) uint64 { return prefixindex.Key(sha256.Sum256([]byte(key))) }

type jreq struct {
	line     []byte
	off      int64 // where the line was written, once err is received
	deferred bool  // index only when the caller says so (indexWritten)
	known    bool  // the record's answer is indexed already (a replay under a new key)
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
	j := &journal{f: f, ttl: ttl, now: now,
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
	_, known, err := j.findRecord(d)
	if err != nil {
		return err
	}
	r := &jreq{known: known, rec: d, stream: l.Answer.Stream, at: l.At}
	if l.At >= cutoff {
		r.key = l.Key
	}
	j.indexLine(r, off)
	j.age(off+int64(len(line)), l.At)
	return nil
}

// lookupKey returns the stored answer for an idempotency key: the newest
// line of the key, unless it is older than the TTL.
func (j *journal) lookupKey(key string) (hash [32]byte, ans *SubmitResult, ok bool, err error) {
	j.mu.Lock()
	offs := j.keys.Values(keyID(key))
	j.mu.Unlock()
	slices.Sort(offs)
	for i := len(offs) - 1; i >= 0; i-- {
		l, err := j.read(int64(offs[i]))
		if err != nil {
			return hash, nil, false, err
		}
		if l.Key != key {
			continue // another key under the same index key
		}
		if l.At < j.now().Add(-j.ttl).UnixNano() {
			return hash, nil, false, nil
		}
		if _, err := hex.Decode(hash[:], []byte(l.Hash)); err != nil {
			return hash, nil, false, fmt.Errorf("%w: request hash at %d", ErrJournal, offs[i])
		}
		return hash, l.Answer, true, nil
	}
	return hash, nil, false, nil
}

// lookupRecord returns the stored answer (receipt) of a record.
func (j *journal) lookupRecord(d [32]byte) (*SubmitResult, bool, error) {
	l, ok, err := j.findRecord(d)
	if !ok || err != nil {
		return nil, false, err
	}
	return l.Answer, true, nil
}

// findRecord reads the answer line of record d among its candidates.
func (j *journal) findRecord(d [32]byte) (*jline, bool, error) {
	j.mu.Lock()
	offs := j.byRecord.Values(prefixindex.Key(d))
	j.mu.Unlock()
	want := digestString(d)
	for _, off := range offs {
		l, err := j.read(int64(off))
		if err != nil {
			return nil, false, err
		}
		if l.Answer.Record == want {
			return l, true, nil
		}
	}
	return nil, false, nil
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
// logged and whose record has no answer line yet, and indexes it.
func (j *journal) put(key string, hash [32]byte, ans *SubmitResult) error {
	r, err := j.line(key, hash, ans, false)
	if err != nil {
		return err
	}
	return j.enqueue(r)
}

// putKey durably appends the answer of a record that has an answer line
// already under a new idempotency key (a replay with another key).
func (j *journal) putKey(key string, hash [32]byte, ans *SubmitResult) error {
	r, err := j.line(key, hash, ans, false)
	if err != nil {
		return err
	}
	r.known = true
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
			j.age(off, r.at)
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
		j.keys.Add(keyID(r.key), uint64(off))
	}
	if r.rec != ([32]byte{}) && !r.known {
		j.byStream[r.stream] = append(j.byStream[r.stream], off)
		j.byRecord.Add(prefixindex.Key(r.rec), uint64(off))
	}
}

// age notes that the lines before end were written at or before the
// latest time seen (j.maxAt, at included); one mark per TTL/ageMarks of
// time, the newest one moved forward. j.mu is held (or j is loading).
func (j *journal) age(end, at int64) {
	j.maxAt = max(j.maxAt, at)
	step := max(int64(j.ttl)/ageMarks, 1)
	if n := len(j.ages); n > 0 && j.ages[n-1].at/step == j.maxAt/step {
		j.ages[n-1] = ageMark{off: end, at: j.maxAt}
		return
	}
	j.ages = append(j.ages, ageMark{off: end, at: j.maxAt})
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
// the file; a restart skips them): the keys of the lines before the
// newest age mark older than the TTL. It returns how many it forgot.
func (j *journal) prune() int {
	cutoff := j.now().Add(-j.ttl).UnixNano()
	j.mu.Lock()
	defer j.mu.Unlock()
	i := -1
	for i+1 < len(j.ages) && j.ages[i+1].at < cutoff {
		i++
	}
	if i < 0 {
		return 0
	}
	end := j.ages[i].off
	j.ages = slices.Clone(j.ages[i+1:])
	return j.keys.Retain(func(off uint64) bool { return int64(off) >= end })
}

// err returns the error that poisoned the journal, if any.
func (j *journal) err() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.failed
}
