package client

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
)

// IdempotencyKey returns the Idempotency-Key of a submission. The recipe,
// shared with clients/python/dossier_client.py and documented for anyone
// writing a client:
//
//	key = "dk1-" + hex(sha256("dossier-idempotency-v1\n" + runId + "\n" + step + "\n" +
//	                          attempt + "\n" + contentDigest))
//
// where step names the logical event within the run (default: the record
// kind; e.g. "dataset:train" or "eval:mmlu" when a run records several of a
// kind), attempt is the decimal attempt number (Slurm's restart count + 1,
// Airflow's try number) and contentDigest is "sha256:<hex>" of the exact
// request body. The body is written to the outbox before it is first sent
// and resent byte for byte, so every retry of one submission — after a
// timeout, a lost answer, a daemon restart or a process restart that flushes
// the outbox — carries the same key and body, and the daemon answers it
// with the stored result instead of appending again. A re-run that sends a
// different body (another producedAt) is a different submission: set
// producedAt yourself, or use a new attempt, when re-running a step.
func IdempotencyKey(runID, step string, attempt int, contentDigest string) string {
	h := sha256.New()
	h.Write([]byte("dossier-idempotency-v1\n" + runID + "\n" + step + "\n" + strconv.Itoa(attempt) + "\n" + contentDigest))
	return "dk1-" + hex.EncodeToString(h.Sum(nil))
}

// ContentDigest is "sha256:<hex>" of body.
func ContentDigest(body []byte) string {
	sum := sha256.Sum256(body)
	return "sha256:" + hex.EncodeToString(sum[:])
}
