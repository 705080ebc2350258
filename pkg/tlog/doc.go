// Package tlog is Dossier's append-only log: an RFC 6962 Merkle tree stored
// in the C2SP tlog-tiles layout by Tessera's POSIX driver, with C2SP
// checkpoints signed as signed notes by an Ed25519 log key behind
// note.Signer (so a KMS-held key can serve a daemon). FORMAT.md specifies
// the leaf, proof and checkpoint formats; package tlogproof parses and
// verifies them offline and links neither Tessera nor net/http.
//
// # Ordering
//
// A leaf binds the SHA-256 of the exact bundle bytes to a stream (the run
// root digest, or a log-scoped name), the record's sequence number in that
// stream (from 0) and the previous record's digest. Append assigns seq and
// prev under one lock and hands leaves to Tessera in that order; nothing
// relies on the leaf order inside a Tessera batch, which is arbitrary.
// Appending a bundle already logged returns its receipt (Existing); AppendAt
// refuses a taken sequence number (ErrSequenceTaken).
//
// # Durability
//
// Append acknowledges a record only when (1) its bundle bytes are fsynced
// in the BundleStore (DirStore: append-only segments, one write and one
// fsync per group of concurrent Puts), which happens before the leaf is
// queued, so every leaf in the tree has durable bundle bytes; and (2)
// Tessera resolved the leaf's future: the POSIX driver has written the entry
// bundle, the tiles and its tree state with O_SYNC files, renames and
// directory fsyncs (checked in tessera v1.0.4 storage/posix/file_ops.go),
// batching many leaves per fsync round. A record is also not acknowledged
// before the stream's previous record is; any failure after a seq was
// assigned poisons the Log (ErrLogFailed) until it is reopened, and a
// failed store write or fsync poisons the store (ErrStoreFailed): an fsync
// is never retried and trusted.
//
// The log is its own index: Open rebuilds the digest index and stream heads
// from the leaves of the integrated tree, so a crash between integration and
// acknowledgement cannot lose or duplicate a record (a retry returns the
// existing receipt). To bound Open's time, Close writes an index snapshot;
// Open uses it only when the leaves rebuilt from it hash to the tree's root
// at its size (checked with a consistency proof from the tiles) and reads
// the rest from the log, so a stale or damaged snapshot costs time, never
// correctness. The DirStore cuts a torn tail frame that no Put ever
// acknowledged, after keeping its bytes in a ".tail-OFFSET" file; only the
// process holding the log open does (OpenDirStore), another process reads
// the store with OpenDirStoreReadOnly, which never writes or cuts.
//
// # Memory and batching
//
// The appender keeps no leaf in memory: an index of 8-byte slots maps the
// top 24 bits of each bundle digest to its leaf index (and the DirStore's
// index to its frame), and every candidate is checked against the full
// digest on disk (the leaf in the entry bundles, the frame header), so a
// Receipt is rebuilt from its leaf when asked for. Per stream it keeps the
// next seq and the last digest. About 30 bytes a leaf in all
// (TestHeapPerLeaf). Leaves reach Tessera through a feeder that hands them
// over one group at a time (the leaves queued while a batch integrates form
// the next batch), since Tessera integrates one batch at a time at the
// cost of about a dozen fsyncs whatever its size. AppendMany logs several
// records with one durable wait.
//
// # Rollback
//
// Checkpoints are signed through a guard that first records the checkpoint
// durably in a watermark file and refuses a smaller tree, or another root at
// the same size (ErrRollback). Open compares the directory's tree with the
// watermark and proves from the tiles that a larger tree extends it. (The
// checkpoint file itself may lag the watermark after a crash between signing
// and writing it; that is not a rollback, and it is republished.) Keep the watermark outside the log directory so a
// restored backup of the directory cannot restore it too.
package tlog
