// Package ingest is dossierd, the ingest daemon: it receives records from
// training pipelines over HTTP, authenticates the submitter (package
// auth), checks time, sequences, signs, appends to the log, writes a
// signed receipt for every accepted record, pushes records to an OCI
// layout and registry in the background, and serves runs, records,
// receipts, proofs, checkpoints and export packages to reviewers; it
// imports air-gap spool tars. spec/openapi.yaml is the API,
// spec/errors.md the problem codes, deploy/README.md the deployment.
//
// # Streams
//
// A record goes to its run's stream (the run root digest); its receipt
// (kind receipt, spec/predicates/receipt.md: record digest, stream,
// receipt time, latest time evidence, time verdict and flags,
// authenticated submitter; nothing that depends on the record's log
// position) to the log-scoped stream "receipts"; time evidence to
// "time-evidence"; keyring versions to "keyring"; spool transfers to
// "transfers"; exports to "export". A run's records are numbered 0..n-1
// without gaps; receipts never take a run's sequence numbers.
//
// # Durability
//
// A submission is acknowledged only when (1) the record's bundle bytes
// and its log leaf are durable and sequenced, (2) its receipt — signed by
// the ingest key, stream "receipts" — is durable the same way, and (3) the
// answer is in the journal (DataDir/journal, one fsync per group of
// answers). The receipt names the record by digest only (its seq, prev
// and log index are in the record's leaf and inclusion proof), so it is
// signed before the record is sequenced, and (1) and (2) are one
// tlog.Log.AppendMany call: both bundles stored with one group commit,
// both leaves sequenced in order and integrated together, one durable
// wait. (3) runs in parallel with it: the answer line, which names the
// record and the receipt by digest, is fsynced while they are appended,
// and becomes findable only when all three are durable; a line whose
// record or receipt is not in the log (a crash or failure in between) is
// skipped when the journal is loaded, and the answer's seq, prev, log
// index and receipt log index are read from the log. A crash before (3)
// completes loses nothing that was acknowledged, and can leave the record
// logged without its receipt (AppendMany may log some items of a failed
// call); on restart New journals every receipt logged after the
// journal's last mark, and a retried submission finds its record in the
// log (unsigned submissions are signed deterministically, so the retry
// yields the same bundle bytes) and gets the answer of the receipt
// already logged, or, if the record was logged without one, a new receipt
// flagged "late-receipt" (appended alone).
//
// # Idempotency
//
// Idempotency-Key (draft-ietf-httpapi-idempotency-key-header): the same
// key and body return the stored answer (200, Idempotent-Replayed: true);
// the same key with another body is 422 idempotency-key-reused; a key in
// progress is 409 request-outstanding. Keys are scoped to the run and kept
// for Config.IdempotencyTTL (default 24 h) across restarts. Without the
// header, the key is derived from the run and the body, so identical
// retries dedupe. Records themselves never expire: a bundle already in
// the log always returns its original position and receipt.
//
// # Time gate
//
// The daemon checks its NTP servers every Time.Interval, logs each check
// as a time-evidence record signed by the ingest key, and applies the
// policy of the verdict: "refuse" answers 503 time-untrusted, "flag"
// accepts and flags the receipt ("time-untraceable", ...). With no server
// configured every check is the honest untraceable result ("no NTP server
// configured"), logged and named by receipts like any other; "unknown" is
// left for a check whose evidence could not be logged. Install default:
// refuse on bad, flag on degraded, untraceable and unknown. The policy,
// verdict and evidence are in the startup log and on /readyz. Receipt
// times never go backwards.
//
// # Release gate and reviewer-signed records
//
// With a release policy (Config.Policy, gate.go) every export proposes it;
// POST /v1/exports with kind "release" is refused (422
// release-policy-unmet, the failed rules in the problem's "rules") unless
// the exported records satisfy it with its release rules applied; a
// "review" export is built and says what it lacks. Approvals and
// evaluation plans signed by reviewer keys (validators, possibly offline
// over a review package) enter through the review API, POST
// /v1/runs/{runId}/approvals and /plans (approvals.go): checked (approvals
// by the review console's own check), then logged through Submit with a
// receipt naming the uploader.
//
// # Anchors
//
// With Config.Anchors, a background anchorer (anchors.go) obtains an
// RFC 3161 token from each TSA and a cosignature from each witness for
// every new checkpoint, kept in DataDir/anchors (spec/anchors.md §4); a
// peer that is down delays the anchor, never ingest (backoff, backlog in
// /metrics). Exports anchor their package checkpoint and carry
// anchors.json.
package ingest
