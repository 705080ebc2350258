package tlog

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/dossier-audit/dossier/internal/atomicfile"
	"github.com/dossier-audit/dossier/pkg/tlog/tlogproof"
)

// BundleStore keeps bundle bytes by digest ("sha256:<hex>"). Put returns
// only once the bytes are durable; Get returns exactly the bytes put.
type BundleStore interface {
	Put(ctx context.Context, digest string, b []byte) error
	Get(ctx context.Context, digest string) ([]byte, error)
}

// Bundle store limits.
const (
	MaxBundleSize  = 16 << 20
	segmentMaxSize = 512 << 20
	frameHeader    = 4 + 4 + 32 // magic, length, sha256
	frameMagic     = "DSB1"
	maxPutBatch    = 4096
)

// ErrStoreFailed: a write or fsync of the bundle store failed earlier; the
// state of the file is unknown, so the store refuses further writes until it
// is reopened (PostgreSQL's fsync lesson: never retry fsync and carry on).
var ErrStoreFailed = errors.New("bundle store failed earlier; reopen it")

var (
	errStoreClosed     = errors.New("bundle store closed")
	errSegmentTooLarge = errors.New("bundle store segment too large to index")
)

// segmentFile is the part of *os.File the store uses; tests inject faults.
type segmentFile interface {
	io.ReaderAt
	io.Writer
	Sync() error
	Close() error
	Truncate(size int64) error
}

type openFunc func(name string, flag int, perm os.FileMode) (segmentFile, error)

func osOpen(name string, flag int, perm os.FileMode) (segmentFile, error) {
	return os.OpenFile(name, flag, perm)
}

type location struct {
	seg      int
	off, len int64
}

type putReq struct {
	digest [32]byte
	b      []byte
	done   chan error
}

// DirStore is the default BundleStore: append-only segment files
// "seg-NNNNNN" in one directory, each bundle framed as
// magic "DSB1" | uint32 big-endian length | SHA-256 | bytes.
// Concurrent Puts are group-committed: one writer goroutine writes every
// pending frame with one write and one fsync, then acknowledges them all.
// Open scans the frame headers (and checks the hash of the last frame); a
// torn frame at the tail of the newest segment (a crash mid-write, never
// acknowledged) is saved aside and cut off.
type DirStore struct {
	dir  string
	open openFunc

	mu     sync.RWMutex
	index  prefixIndex // digest prefix → segment<<40 | frame offset
	segs   []segmentFile
	size   int64 // of the last segment
	failed error

	readOnly bool // OpenDirStoreReadOnly

	reqs chan putReq
	quit chan struct{}
	wg   sync.WaitGroup
}

// OpenDirStore opens (creating) a DirStore in dir for reading and
// writing. Only the process that holds the log open may do so (tlog.Open
// does, under the log's lock): it cuts a torn tail, which in a store
// another process is writing may be a frame being written.
func OpenDirStore(dir string) (*DirStore, error) { return openDirStore(dir, osOpen) }

// ErrReadOnlyStore: Put on a store opened with OpenDirStoreReadOnly.
var ErrReadOnlyStore = errors.New("bundle store opened read-only")

// OpenDirStoreReadOnly opens the DirStore in dir for reading only, safe
// while another process (a daemon) appends to it: segments are opened
// read-only, and bytes after the last whole frame (a frame being written,
// or a torn tail that the writer will cut) are left alone and not indexed.
// Bundles put after it was opened are not found.
func OpenDirStoreReadOnly(dir string) (*DirStore, error) {
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("bundle store: %w", err)
	}
	s := &DirStore{dir: dir, open: osOpen, readOnly: true, quit: make(chan struct{})}
	if err := s.load(); err != nil {
		s.closeFiles()
		return nil, err
	}
	return s, nil
}

func openDirStore(dir string, open openFunc) (*DirStore, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("bundle store: %w", err)
	}
	s := &DirStore{dir: dir, open: open,
		reqs: make(chan putReq, maxPutBatch), quit: make(chan struct{})}
	if err := s.load(); err != nil {
		s.closeFiles()
		return nil, err
	}
	s.wg.Add(1)
	go s.writer()
	return s, nil
}

func (s *DirStore) segName(i int) string {
	return filepath.Join(s.dir, fmt.Sprintf("seg-%06d", i+1))
}

// load opens every segment in order and indexes its frames.
func (s *DirStore) load() error {
	all, err := filepath.Glob(filepath.Join(s.dir, "seg-*"))
	if err != nil {
		return err
	}
	var names []string
	for _, n := range all {
		if !strings.Contains(filepath.Base(n), ".") { // skip saved tails
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for i, n := range names {
		if i >= maxSegments {
			return fmt.Errorf("bundle store: %s has more than %d segments", s.dir, maxSegments)
		}
		if n != s.segName(i) {
			return fmt.Errorf("bundle store: unexpected segment %s, want %s", n, s.segName(i))
		}
		if err := s.loadSegment(i, i == len(names)-1); err != nil {
			return err
		}
	}
	if len(s.segs) == 0 && !s.readOnly {
		return s.addSegment()
	}
	return nil
}

func (s *DirStore) loadSegment(i int, last bool) error {
	flag := os.O_RDWR | os.O_APPEND
	if s.readOnly {
		flag = os.O_RDONLY
	}
	f, err := s.open(s.segName(i), flag, 0o644)
	if err != nil {
		return fmt.Errorf("bundle store: %w", err)
	}
	s.segs = append(s.segs, f)
	end, err := s.scan(i, f)
	if err != nil && (!last || errors.Is(err, errSegmentTooLarge)) {
		return err
	}
	if err != nil && !s.readOnly {
		if err := s.cutTail(i, f, end); err != nil {
			return err
		}
	}
	s.size = end
	return nil
}

// cutTail removes the bytes after the last whole frame of the newest
// segment: a write torn by a crash, never acknowledged. The bytes are first
// kept in "seg-NNNNNN.tail-OFFSET" (never destroy what might be evidence, e.g.
// when the cause was damage rather than a crash), then the segment is
// truncated so appends continue after the last whole frame.
func (s *DirStore) cutTail(i int, f segmentFile, end int64) error {
	size := s.fileEnd(f, end)
	if size > end {
		tail := make([]byte, size-end)
		if _, err := f.ReadAt(tail, end); err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("bundle store: reading torn tail: %w", err)
		}
		name := fmt.Sprintf("%s.tail-%d", s.segName(i), end)
		if err := atomicfile.WriteFile(name, tail, 0o644); err != nil {
			return fmt.Errorf("bundle store: saving torn tail: %w", err)
		}
	}
	if err := f.Truncate(end); err != nil {
		return fmt.Errorf("bundle store: truncating torn tail: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("bundle store: %w", err)
	}
	return nil
}

// scan indexes the frames of segment i and returns the end of the last
// whole frame; an error means the bytes after that end are not a frame.
func (s *DirStore) scan(i int, f segmentFile) (int64, error) {
	var off int64
	size := s.fileEnd(f, -1) // -1: size unknown, check every frame
	hdr := make([]byte, frameHeader)
	for {
		n, err := f.ReadAt(hdr, off)
		if n == 0 && errors.Is(err, io.EOF) {
			return off, nil
		}
		if n < frameHeader || string(hdr[:4]) != frameMagic {
			return off, fmt.Errorf("bundle store: %s: bad frame at offset %d", s.segName(i), off)
		}
		l := int64(binary.BigEndian.Uint32(hdr[4:8]))
		end := off + frameHeader + l
		key := [32]byte(hdr[8:])
		if size >= 0 && end > size {
			return off, fmt.Errorf("bundle store: %s: truncated frame at offset %d", s.segName(i), off)
		}
		if (size < 0 || end == size) && !s.frameOK(f, key, off+frameHeader, l) {
			return off, fmt.Errorf("bundle store: %s: frame at offset %d fails its checksum", s.segName(i), off)
		}
		if off >= 1<<segmentBits {
			return off, fmt.Errorf("%w: %s has a frame at offset %d", errSegmentTooLarge, s.segName(i), off)
		}
		s.index.add(prefixOf(key), packLocation(i, off))
		off = end
	}
}

// fileEnd returns the size of f, or def when it cannot tell. scan needs it
// to find the last frame, whose checksum it verifies: a crash can leave only
// that one torn.
func (s *DirStore) fileEnd(f segmentFile, def int64) int64 {
	if st, ok := f.(interface{ Stat() (os.FileInfo, error) }); ok {
		if fi, err := st.Stat(); err == nil {
			return fi.Size()
		}
	}
	return def
}

func (s *DirStore) frameOK(f segmentFile, key [32]byte, off, l int64) bool {
	b := make([]byte, l)
	if _, err := f.ReadAt(b, off); err != nil {
		return false
	}
	return sha256.Sum256(b) == key
}

func (s *DirStore) addSegment() error {
	i := len(s.segs)
	if i >= maxSegments {
		return fmt.Errorf("bundle store: %s is full (%d segments)", s.dir, maxSegments)
	}
	f, err := s.open(s.segName(i), os.O_RDWR|os.O_APPEND|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("bundle store: %w", err)
	}
	if err := atomicfile.SyncDir(s.dir); err != nil {
		f.Close()
		return err
	}
	s.segs = append(s.segs, f)
	s.size = 0
	return nil
}

// Put stores b under digest and returns once it is durable.
func (s *DirStore) Put(ctx context.Context, digest string, b []byte) error {
	if s.readOnly {
		return ErrReadOnlyStore
	}
	key, err := parseDigest(digest)
	if err != nil {
		return err
	}
	if len(b) > MaxBundleSize {
		return fmt.Errorf("bundle is %d bytes, limit %d", len(b), MaxBundleSize)
	}
	if sha256.Sum256(b) != key {
		return fmt.Errorf("bundle bytes do not match digest %s", digest)
	}
	s.mu.RLock()
	_, have, _ := s.locate(key) // a read error: store it again
	failed := s.failed
	s.mu.RUnlock()
	if failed != nil {
		return failed
	}
	if have {
		return nil
	}
	req := putReq{digest: key, b: b, done: make(chan error, 1)}
	select {
	case s.reqs <- req:
	case <-s.quit:
		return errStoreClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-req.done:
		return err
	case <-s.quit: // closed before the writer took it: not acknowledged
		return errStoreClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}

// writer is the group-commit loop.
func (s *DirStore) writer() {
	defer s.wg.Done()
	for {
		var batch []putReq
		select {
		case r := <-s.reqs:
			batch = append(batch, r)
		case <-s.quit:
			return
		}
		batch = s.drain(batch)
		err := s.commit(batch)
		for _, r := range batch {
			r.done <- err
		}
	}
}

// drain adds the queued requests to batch. While requests keep arriving it
// yields the processor and drains again, so that writers woken together
// (by the previous commit) share one fsync instead of trickling into many.
func (s *DirStore) drain(batch []putReq) []putReq {
	n := 0
	for _, r := range batch {
		n += len(r.b)
	}
	for yields := 0; len(batch) < maxPutBatch && n < maxBatchBytes; {
		select {
		case r := <-s.reqs:
			batch = append(batch, r)
			n += len(r.b)
			continue
		default:
		}
		if yields++; yields > 3 {
			return batch
		}
		runtime.Gosched()
	}
	return batch
}

// commit writes the frames of batch with one write and one fsync.
func (s *DirStore) commit(batch []putReq) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failed != nil {
		return s.failed
	}
	if s.size > segmentMaxSize {
		if err := s.addSegment(); err != nil {
			return s.fail(err)
		}
	}
	buf, locs := s.frames(batch)
	seg := len(s.segs) - 1
	n, err := s.segs[seg].Write(buf)
	if err == nil && n != len(buf) {
		err = fmt.Errorf("short write: %d of %d bytes", n, len(buf))
	}
	if err == nil {
		err = s.segs[seg].Sync()
	}
	if err != nil {
		return s.fail(fmt.Errorf("bundle store: writing %s: %w", s.segName(seg), err))
	}
	for k, l := range locs {
		s.index.add(prefixOf(k), packLocation(seg, l.off-frameHeader))
	}
	s.size += int64(len(buf))
	return nil
}

func (s *DirStore) fail(err error) error {
	s.failed = fmt.Errorf("%w: %v", ErrStoreFailed, err)
	return err
}

// frames encodes the batch, skipping digests already stored or repeated.
func (s *DirStore) frames(batch []putReq) ([]byte, map[[32]byte]location) {
	var buf []byte
	locs := map[[32]byte]location{}
	for _, r := range batch {
		if _, ok, _ := s.locate(r.digest); ok {
			continue
		}
		if _, ok := locs[r.digest]; ok {
			continue
		}
		buf = append(buf, frameMagic...)
		buf = binary.BigEndian.AppendUint32(buf, uint32(len(r.b)))
		buf = append(buf, r.digest[:]...)
		locs[r.digest] = location{off: s.size + int64(len(buf)), len: int64(len(r.b))}
		buf = append(buf, r.b...)
	}
	return buf, locs
}

// Get returns the bundle stored under digest, checking its hash.
func (s *DirStore) Get(_ context.Context, digest string) ([]byte, error) {
	key, err := parseDigest(digest)
	if err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.segs == nil {
		return nil, fmt.Errorf("bundle %s: %w", digest, errStoreClosed)
	}
	loc, ok, err := s.locate(key)
	if err != nil {
		return nil, fmt.Errorf("bundle %s: %w", digest, err)
	}
	if !ok {
		return nil, fmt.Errorf("bundle %s: %w", digest, os.ErrNotExist)
	}
	b := make([]byte, loc.len)
	if _, err := s.segs[loc.seg].ReadAt(b, loc.off); err != nil {
		return nil, fmt.Errorf("bundle %s: %w", digest, err)
	}
	if sha256.Sum256(b) != key {
		return nil, fmt.Errorf("bundle %s: stored bytes do not match the digest", digest)
	}
	return b, nil
}

// A packed location (the value in the index) is segment<<30 | frame
// offset: a frame starts before segmentMaxSize plus one batch
// (maxBatchBytes plus one bundle), below 1 GiB, and the index holds 40-bit
// values, so a store has at most 1024 segments (512 GiB).
const (
	segmentBits   = 30
	maxSegments   = 1 << (indexValueBits - segmentBits)
	maxBatchBytes = 64 << 20
)

func packLocation(seg int, frameOff int64) uint64 {
	return uint64(seg)<<segmentBits | uint64(frameOff)
}

// locate finds the frame of key: the index yields the frames whose digest
// shares its first 8 bytes, and the frame header on disk holds the full
// digest. The caller holds s.mu.
func (s *DirStore) locate(key [32]byte) (location, bool, error) {
	var loc location
	var err error
	hdr := make([]byte, frameHeader)
	found := s.index.find(prefixOf(key), func(v uint64) bool {
		seg, off := int(v>>segmentBits), int64(v&(1<<segmentBits-1))
		if _, err = s.segs[seg].ReadAt(hdr, off); err != nil {
			return true
		}
		if [32]byte(hdr[8:]) != key {
			return false
		}
		loc = location{seg: seg, off: off + frameHeader, len: int64(binary.BigEndian.Uint32(hdr[4:8]))}
		return true
	})
	return loc, found && err == nil, err
}

// Close stops the writer and closes the segment files.
func (s *DirStore) Close() error {
	close(s.quit)
	s.wg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closeFiles()
}

func (s *DirStore) closeFiles() error {
	var errs []error
	for _, f := range s.segs {
		errs = append(errs, f.Close())
	}
	s.segs = nil
	return errors.Join(errs...)
}

func parseDigest(d string) ([32]byte, error) {
	if err := tlogproof.ValidateDigest(d); err != nil {
		return [32]byte{}, err
	}
	var k [32]byte
	_, err := hex.Decode(k[:], []byte(strings.TrimPrefix(d, "sha256:")))
	return k, err
}
