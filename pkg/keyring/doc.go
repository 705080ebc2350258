// Package keyring reads, writes, signs and verifies Dossier keyring
// versions (spec/package.md §1): the trust documents that list which keys
// may sign what, for whom, and since when.
//
// A keyring version is a strict-JSON Document (media type MediaType)
// signed as a DSSE envelope (payload type MediaType) by one or more root
// keys. Version 1 is signed by RootThreshold of its own root keys; version
// n+1 names the digest of version n's envelope in Previous and is signed by
// RootThreshold (of version n) distinct root keys of version n.
//
// An auditor pins the root fingerprint: "SHA256:" and the lowercase hex
// SHA-256 of the version-1 document bytes (RootFingerprint). VerifyChain
// checks a whole chain of envelopes from that pin and returns a Chain whose
// Lookup, Latest and KeyValidAt answer "which key is this, with which roles,
// and was it valid for a record at this log index".
//
// Reading a keyring needs no network and no KMS: the package uses the
// standard library, sigstore's pkg/signature, pkg/dsse and x/mod/sumdb/note
// only (not pkg/keys, which links the KMS plugin client).
//
// Next, AddKeys, RotateRoots and Revoke write version n+1 from version n
// (the 'dossier keyring add|rotate|revoke' commands); Chain.History says
// what each version changed.
//
//	env, _ := keyring.Sign(docBytes, rootSigner)          // writer
//	chain, err := keyring.VerifyChain(pin, env1, env2)      // verifier
//	k, ok := chain.Latest().Key(fingerprint)
package keyring
