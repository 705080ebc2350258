package tlog

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/tessera/api/layout"
	"github.com/transparency-dev/tessera/client"

	"github.com/dossier-audit/dossier/internal/atomicfile"
	"github.com/dossier-audit/dossier/pkg/tlog/tlogproof"
)

// The index snapshot lets Open skip re-reading every leaf: Close writes the
// stream state of the first N leaves to DIR/.dossier/index-snapshot, and
// Open accepts it only if the leaves rebuilt from it hash to the tree's root
// at size N (checked against the tiles); otherwise it scans the whole log.
// Either way the leaves after N are read from the log itself. A wrong,
// stale or damaged snapshot therefore costs time, never correctness.
//
// Layout: "DSXI1\n" | u64 N | u32 stream count | per stream u16 length,
// name | per leaf u32 stream, u64 seq, [32]bundle, u8 hasPrev, [32]prev
// (when hasPrev) | SHA-256 of all preceding bytes.
const snapshotMagic = "DSXI1\n"

// defaultSnapshotMinTail is the smallest number of leaves beyond the last
// snapshot that is worth a new one.
const defaultSnapshotMinTail = 4096

func (l *Log) snapshotPath() string { return filepath.Join(l.dir, stateDir, "index-snapshot") }

// writeSnapshot records the leaves of the tree of the given size, read
// back from the log (memory holds no copy of them: the entries go to a
// scratch file, 78 bytes a leaf, while the stream names are collected,
// and are then copied behind the header). It writes nothing when the log
// failed or the tail since the last snapshot is short.
func (l *Log) writeSnapshot(ctx context.Context, size uint64) error {
	l.mu.Lock()
	skip := l.broken != nil || size < l.snapSize+max(l.opts.snapshotMinTail, l.snapSize/8)
	l.mu.Unlock()
	if skip {
		return nil // a short tail is cheaper to rescan than a rewrite
	}
	body, err := os.CreateTemp(filepath.Dir(l.snapshotPath()), ".index-snapshot.body-*")
	if err != nil {
		return err
	}
	defer os.Remove(body.Name())
	defer body.Close()
	names, err := l.writeSnapEntries(ctx, size, body)
	if err != nil {
		return err
	}
	if _, err := body.Seek(0, io.SeekStart); err != nil {
		return err
	}
	head := append([]byte(snapshotMagic), binary.BigEndian.AppendUint64(nil, size)...)
	head = binary.BigEndian.AppendUint32(head, uint32(len(names)))
	for _, s := range names {
		head = binary.BigEndian.AppendUint16(head, uint16(len(s)))
		head = append(head, s...)
	}
	return writeSnapFile(l.snapshotPath(), head, body)
}

// writeSnapEntries writes the entry of every leaf below size to w and
// returns the stream names in the order of their ids.
func (l *Log) writeSnapEntries(ctx context.Context, size uint64, w io.Writer) ([]string, error) {
	ids := map[string]uint32{}
	var names []string
	bw := bufio.NewWriterSize(w, 1<<20)
	var entry []byte
	err := forEachLeaf(ctx, l.reader.ReadEntryBundle, size, func(idx uint64, raw []byte) error {
		lf, err := tlogproof.ParseLeaf(raw)
		if err != nil {
			return fmt.Errorf("%w: leaf %d: %v", ErrCorruptLog, idx, err)
		}
		id, ok := ids[lf.Stream]
		if !ok {
			id = uint32(len(names))
			ids[lf.Stream] = id
			names = append(names, lf.Stream)
		}
		entry = appendSnapEntry(entry[:0], lf, id)
		_, err = bw.Write(entry)
		return err
	})
	if err == nil {
		err = bw.Flush()
	}
	return names, err
}

// writeSnapFile writes head, then body, then the SHA-256 of both to path
// atomically (temporary file, fsync, rename, directory fsync).
func writeSnapFile(path string, head []byte, body io.Reader) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".index-snapshot.tmp-*")
	if err != nil {
		return err
	}
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	h := sha256.New()
	w := bufio.NewWriterSize(io.MultiWriter(f, h), 1<<20)
	if _, err := w.Write(head); err != nil {
		return err
	}
	if _, err := io.Copy(w, body); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if _, err := f.Write(h.Sum(nil)); err != nil {
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return err
	}
	ok = true
	return atomicfile.SyncDir(filepath.Dir(path))
}

func appendSnapEntry(b []byte, lf tlogproof.Leaf, stream uint32) []byte {
	b = binary.BigEndian.AppendUint32(b, stream)
	b = binary.BigEndian.AppendUint64(b, lf.Seq)
	d, _ := parseDigest(lf.Bundle)
	b = append(b, d[:]...)
	if lf.Prev == "" {
		return append(b, 0)
	}
	p, _ := parseDigest(lf.Prev)
	return append(append(b, 1), p[:]...)
}

// loadSnapshot returns the snapshot, or nil when there is none or it does
// not match the tree of the given size and root.
func (l *Log) loadSnapshot(ctx context.Context, size uint64, root [32]byte) *snapshot {
	b, err := os.ReadFile(l.snapshotPath())
	if err != nil {
		return nil
	}
	snap, err := parseSnapshot(b)
	if err != nil || snap.n > size {
		return nil
	}
	if err := l.matchesTree(ctx, snap, size, root); err != nil {
		return nil
	}
	l.snapSize = snap.n
	return snap
}

// matchesTree checks that the snapshot's leaves are the first snap.n
// leaves of the tree of the given size and root.
func (l *Log) matchesTree(ctx context.Context, snap *snapshot, size uint64, root [32]byte) error {
	rf := compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}
	r := rf.NewEmptyRange(0)
	err := snap.each(func(_ uint64, lf tlogproof.Leaf) error {
		h := lf.Hash()
		return r.Append(h[:], nil)
	})
	if err != nil {
		return err
	}
	got, err := r.GetRootHash(nil)
	if err != nil {
		return err
	}
	n := snap.n
	old := tlogproof.Checkpoint{Size: n, Root: [32]byte(got)}
	cur := tlogproof.Checkpoint{Size: size, Root: root}
	var hashes [][]byte
	if n < size {
		pb, err := client.NewProofBuilder(ctx, size, client.FileFetcher{Root: l.dir}.ReadTile)
		if err != nil {
			return err
		}
		if hashes, err = pb.ConsistencyProof(ctx, n, size); err != nil {
			return err
		}
	}
	return tlogproof.CheckConsistency(&old, &cur, toArrays(hashes))
}

var errSnapshot = errors.New("malformed index snapshot")

// snapshot is a parsed, checksummed index snapshot. Its leaves stay encoded
// (under 80 bytes each) and are decoded one at a time by each, so that
// Open never holds them all as Leaf values.
type snapshot struct {
	n       uint64
	streams []string
	recs    []byte
}

func parseSnapshot(b []byte) (*snapshot, error) {
	if len(b) < len(snapshotMagic)+12+32 || string(b[:len(snapshotMagic)]) != snapshotMagic {
		return nil, errSnapshot
	}
	body, sum := b[:len(b)-32], b[len(b)-32:]
	if sha256.Sum256(body) != [32]byte(sum) {
		return nil, errSnapshot
	}
	r := &snapReader{b: body[len(snapshotMagic):]}
	n := r.u64()
	streams := make([]string, r.u32())
	for i := range streams {
		streams[i] = string(r.bytes(int(r.u16())))
	}
	if r.err != nil || n > uint64(len(r.b))/45 {
		return nil, errSnapshot
	}
	snap := &snapshot{n: n, streams: streams, recs: r.b}
	if err := snap.each(func(uint64, tlogproof.Leaf) error { return nil }); err != nil {
		return nil, err
	}
	return snap, nil
}

// each decodes the leaves in order and calls fn with each.
func (s *snapshot) each(fn func(uint64, tlogproof.Leaf) error) error {
	r := &snapReader{b: s.recs}
	for i := range s.n {
		lf := r.leaf(s.streams)
		if r.err != nil {
			return r.err
		}
		if err := fn(i, lf); err != nil {
			return err
		}
	}
	if len(r.b) != 0 {
		return errSnapshot
	}
	return nil
}

type snapReader struct {
	b   []byte
	err error
}

func (r *snapReader) bytes(n int) []byte {
	if r.err != nil || len(r.b) < n {
		r.err = errSnapshot
		return make([]byte, n)
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *snapReader) u16() uint16 { return binary.BigEndian.Uint16(r.bytes(2)) }
func (r *snapReader) u32() uint32 { return binary.BigEndian.Uint32(r.bytes(4)) }
func (r *snapReader) u64() uint64 { return binary.BigEndian.Uint64(r.bytes(8)) }

func (r *snapReader) leaf(streams []string) tlogproof.Leaf {
	s := r.u32()
	if int(s) >= len(streams) {
		r.err = errSnapshot
		return tlogproof.Leaf{}
	}
	l := tlogproof.Leaf{Stream: streams[s], Seq: r.u64(), Bundle: digestString([32]byte(r.bytes(32)))}
	if r.bytes(1)[0] == 1 {
		l.Prev = digestString([32]byte(r.bytes(32)))
	}
	return l
}

// leavesFrom calls fn for the leaves of the tree of the given size from
// index start on.
func leavesFrom(ctx context.Context, read bundleReader, start, size uint64, fn func(uint64, []byte) error) error {
	for b := start / layout.EntryBundleWidth; b*layout.EntryBundleWidth < size; b++ {
		eb, err := client.GetEntryBundle(ctx, client.EntryBundleFetcherFunc(read), b, size)
		if err != nil {
			return fmt.Errorf("reading entry bundle %d: %w", b, err)
		}
		for i, raw := range eb.Entries {
			if idx := b*layout.EntryBundleWidth + uint64(i); idx >= start {
				if err := fn(idx, raw); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
