// Package dossier writes compliance packages ("dossiers", spec/package.md
// §3): a deterministic, uncompressed tar of an OCI image layout holding the
// selected runs' roots and records, the time evidence they reference, the
// whole keyring chain, one checkpoint with an inclusion proof per record,
// the ledger of earlier exports with consistency proofs, the proposed
// verification policy, human copies (README.txt, REPORT.html) and a
// package attestation signed by the exporter key.
//
// Export follows the order the spec requires: the export record is signed
// and appended to the log (stream "export") before anything is sealed; the
// package's checkpoint covers it; the tar is written atomically; then an
// export-sealed record naming the package digest is appended, and later
// packages list it in their ledgers.
//
// Determinism: the same log state and the same ExportRequest (including
// its time) give byte-identical packages, provided the exporter signer is
// deterministic (Ed25519, or ECDSA through DeterministicSigner, which signs
// per RFC 6979). Nothing reads the wall clock.
package dossier
