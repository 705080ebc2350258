package main

// ---- step 12: consistency ----

const ledgerSize = 4

// ledgerHeadAt is a genuine earlier head of this log at size n with its
// consistency proof to the package checkpoint.
func ledgerHeadAt(b *B, n int) ledgerHead {
	return ledgerHead{Export: digestOf([]byte("earlier export-sealed record")), Package: digestOf([]byte("earlier package tar")),
		Size: n, RootHash: b64(mth(b.Hashes[:n])), Consistency: b64s(consistencyProof(n, b.Hashes[:b.Size]))}
}

// forked is this log's first n leaf hashes with leaf i replaced.
func forked(b *B, n, i int) [][]byte {
	hs := append([][]byte{}, b.Hashes[:n]...)
	hs[i] = leafHash([]byte("a leaf the log showed someone else\n"))
	return hs
}

func withLedger(f func(b *B, h *ledgerHead)) func(*B) {
	return func(b *B) {
		h := ledgerHeadAt(b, ledgerSize)
		if f != nil {
			f(b, &h)
		}
		b.Ledger.Heads = []ledgerHead{h}
	}
}

func consistencyVectors() []vector {
	return []vector{
		ok("consistency-trusted-head-equal", "the auditor's trusted head is the package's own checkpoint",
			Scenario{TrustedHead: func(b *B) []byte { return b.Checkpoint }}),
		rej("consistency-trusted-head-larger", "consistency", "12", "the auditor's trusted head is a genuine later checkpoint of the log (3 leaves larger than the package's)",
			Scenario{Setup: func(b *B) { b.LaterLeaves = 3 }, TrustedHead: func(b *B) []byte { return b.signedCheckpoint(b.Size + 3) }}),
		rej("consistency-trusted-head-fork", "consistency", "12", "the auditor's trusted head has the package's size but another root, signed by the log key (a split view)",
			Scenario{TrustedHead: func(b *B) []byte {
				return b.Keys["log"].SignNote(logName, checkpointBody(logName, b.Size, mth(forked(b, b.Size, b.Size-2))))
			}}),
		ok("consistency-ledger-head-valid", "the ledger holds one earlier export head (size 4) with a valid consistency proof", Scenario{Meta: withLedger(nil)}),
		ok("consistency-trusted-head-ledger", "the auditor's trusted head is the earlier export head (size 4) the ledger proves consistent",
			Scenario{Meta: withLedger(nil), TrustedHead: func(b *B) []byte { return b.signedCheckpoint(ledgerSize) }}),
		rej("consistency-trusted-head-ledger-fork", "consistency", "12", "the auditor's trusted head at size 4 has another root than the ledger head the package proves consistent (signed by the log key)",
			Scenario{Meta: withLedger(nil), TrustedHead: func(b *B) []byte {
				return b.Keys["log"].SignNote(logName, checkpointBody(logName, ledgerSize, mth(forked(b, ledgerSize, 1))))
			}}),
		rej("consistency-ledger-head-inconsistent", "consistency", "12", "the ledger head at size 4 has the root of a forked tree; its proof is the genuine one",
			Scenario{Meta: withLedger(func(b *B, h *ledgerHead) { h.RootHash = b64(mth(forked(b, ledgerSize, 1))) })}),
		rej("consistency-ledger-proof-tampered", "consistency", "12", "one bit of the ledger head's consistency proof is flipped",
			Scenario{Meta: withLedger(func(b *B, h *ledgerHead) { h.Consistency[0] = flipB64(h.Consistency[0], 3) })}),
		rej("consistency-ledger-head-larger", "consistency", "12", "the ledger head is a genuine later head of the log, 3 leaves larger than the package checkpoint (no consistency proof can exist)",
			Scenario{Setup: func(b *B) { b.LaterLeaves = 3 }, Meta: func(b *B) {
				n := b.Size + 3
				b.Ledger.Heads = []ledgerHead{{Export: digestOf([]byte("later export-sealed record")), Package: digestOf([]byte("later package tar")),
					Size: n, RootHash: b64(mth(b.Hashes[:n])), Consistency: []string{}}}
			}}),
		rej("consistency-ledger-head-other-log", "consistency", "12", "the ledger head and its consistency proof are genuine, but from another log",
			Scenario{Meta: withLedger(func(b *B, h *ledgerHead) {
				o := otherLogHashes(b.Size)
				h.RootHash, h.Consistency = b64(mth(o[:ledgerSize])), b64s(consistencyProof(ledgerSize, o))
			})}),
	}
}
