package main

import "strings"

// ---- step 6: records ----

func recordVectors() []vector {
	eval := func(f func(b *B, r *rec)) Scenario { return Scenario{Setup: onRec("eval", f)} }
	signedEval := func(f func(b *B, r *rec)) Scenario { return Scenario{Signed: onRec("eval", f)} }
	return []vector{
		rej("record-payload-tampered", "signature", "6", "the evaluation record's payload was edited after signing (metric 0.873 -> 0.991); the edited bundle is what was logged and exported",
			signedEval(func(b *B, r *rec) {
				st := replaceOnce(payloadOf(r.Bundle), `"value":"0.873"`, `"value":"0.991"`)
				r.Bundle = editBundle(r.Bundle, func(v *bundleJSON) { v.DSSEEnvelope.Payload = b64(st) })
			})),
		rej("record-signature-from-other-record", "signature", "6", "the evaluation record carries the genuine signature of the run-closed record (same key)",
			signedEval(func(b *B, r *rec) {
				var other bundleJSON
				other = parseBundle(b.rec("closed").Bundle)
				r.Bundle = editBundle(r.Bundle, func(v *bundleJSON) { v.DSSEEnvelope.Signatures[0].Sig = other.DSSEEnvelope.Signatures[0].Sig })
			})),
		rej("record-signature-wrong-key", "signature", "6", "the evaluation record's hint names the producer key but it was signed by a key outside the keyring",
			eval(func(b *B, r *rec) { r.Spec.Signer, r.Spec.Hint = b.Keys["other"], b.Keys["producer"].Fingerprint() })),
		rej("record-ecdsa-trailing-bytes", "signature", "6", "the evaluation record's ECDSA signature is valid DER followed by one extra zero byte",
			eval(func(b *B, r *rec) { r.Spec.SigMutate = func(s []byte) []byte { return append(s, 0) } })),
		rej("record-key-not-in-keyring", "key-role", "6", "the evaluation record is validly signed by a key the keyring does not list (hint = that key)",
			eval(func(b *B, r *rec) { r.Spec.Signer = b.Keys["other"] })),
		rej("record-key-without-role", "key-role", "6", "the evaluation record is signed by the keyring's time key, whose role does not allow run records",
			eval(func(b *B, r *rec) { r.Spec.Signer = b.Keys["time"] })),
		rej("record-time-evidence-by-producer", "key-role", "6", "the time-evidence record is signed by the producer key instead of a time key",
			Scenario{Setup: onRec("te", func(b *B, r *rec) { r.Spec.Signer = b.Keys["producer"] })}),
		rej("record-wrong-payload-type", "envelope", "6", "the evaluation record's payloadType is application/json (signed as such)",
			eval(func(b *B, r *rec) { r.Spec.PayloadType = "application/json" })),
		rej("record-two-signatures", "envelope", "6", "the evaluation record's envelope carries two valid signatures by the producer key",
			eval(func(b *B, r *rec) { r.Spec.ExtraSigner = b.Keys["producer"] })),
		rej("record-keyid-mismatch", "envelope", "6", "the evaluation record's DSSE keyid names the exporter key while the hint names the producer key",
			eval(func(b *B, r *rec) { r.Spec.KeyID = b.Keys["exporter"].Fingerprint() })),
		ok("record-keyid-present", "the evaluation record's DSSE keyid is present and equal to the hint (allowed)",
			eval(func(b *B, r *rec) { r.Spec.KeyID = b.Keys["producer"].Fingerprint() })),
		rej("record-bundle-media-type", "envelope", "6", "the evaluation record's bundle says application/vnd.dev.sigstore.bundle+json;version=0.2",
			eval(func(b *B, r *rec) { r.Spec.MediaType = "application/vnd.dev.sigstore.bundle+json;version=0.2" })),
		rej("record-duplicate-key-statement", "statement", "6", "the evaluation statement has predicateType twice (first a dataset type, then the evaluation type)",
			eval(func(b *B, r *rec) {
				r.StmtMutate = func(s []byte) []byte {
					return replaceOnce(s, `"predicateType":`, `"predicateType":"https://dossier.dev/predicates/dataset/v1","predicateType":`)
				}
			})),
		rej("record-duplicate-key-predicate", "statement", "6", "the evaluation predicate has verdict twice (fail, then pass); duplicate members anywhere in the payload fail strict parsing",
			eval(func(b *B, r *rec) {
				r.StmtMutate = func(s []byte) []byte { return replaceOnce(s, `"verdict":"pass"`, `"verdict":"fail","verdict":"pass"`) }
			})),
		rej("record-unknown-predicate-type", "statement", "6", "the evaluation statement's predicateType is https://dossier.dev/predicates/evaluation/v9",
			eval(func(b *B, r *rec) {
				r.StmtMutate = func(s []byte) []byte { return replaceOnce(s, "/predicates/evaluation/v1", "/predicates/evaluation/v9") }
			})),
		rej("record-predicate-threshold", "predicate", "6", "the evaluation says verdict pass with exact_match 0.80 below its own threshold >= 0.85",
			eval(func(b *B, r *rec) { r.Pred["metrics"] = []any{obj{"name": "exact_match", "value": "0.80"}} })),
		rej("record-predicate-key-case", "predicate", "6", "the evaluation predicate spells runId as RunId (Go's encoding/json would accept it)",
			eval(func(b *B, r *rec) { r.Pred["RunId"] = r.Pred["runId"]; delete(r.Pred, "runId") })),
		rej("record-subject-digest-other-run", "subject", "6", "the evaluation statement's subject[0] is named run:<this run> but carries another run's root digest",
			eval(func(b *B, r *rec) { r.Subj0Name, r.Subj0Hex = "run:"+runAID, b.RunB.Hex() })),
		rej("record-from-other-run", "subject", "6", "a genuine, logged record of another run (same producer key) is packaged with this run's root as its OCI subject",
			Scenario{Select: func(b *B) { b.rec("b-dataset").InPackage = true }}),
		rej("record-oci-subject-other-manifest", "subject", "6", "the evaluation record manifest's OCI subject is the dataset record manifest, not the run root its statement names",
			eval(func(b *B, r *rec) {
				r.ManifestMutate = func(m *manifest) {
					d := descOf(manifestMT, b.rec("ds-train").Manifest)
					m.Subject = &d
				}
			})),
		rej("run-root-noncanonical", "run-root", "6", "the run root manifest is not the canonical one for its registration (annotation members out of order); every record names it consistently",
			Scenario{Setup: func(b *B) {
				m := string(b.RunA.Manifest)
				i := strings.Index(m, `"annotations":{"dev.dossier.run.id"`)
				ann := m[i+len(`"annotations":{`) : len(m)-2]
				parts := strings.SplitN(ann, `,"org.opencontainers.image.created"`, 2)
				b.RunA.Manifest = []byte(m[:i] + `"annotations":{"org.opencontainers.image.created"` + parts[1] + "," + parts[0] + "}}")
			}}),
		rej("record-oci-subject-missing", "subject", "6", "the evaluation record manifest (a run-scoped record) has no OCI subject",
			eval(func(b *B, r *rec) { r.NoOCISubject = true })),
	}
}

func parseBundle(bundle []byte) (v bundleJSON) {
	editBundle(bundle, func(p *bundleJSON) { v = *p })
	return v
}

// ---- steps 7 and 8: checkpoint, inclusion, sequence ----

func entryOf(b *B, name string) *proofEntry {
	d := b.rec(name).Digest()
	for i := range b.Proofs.Entries {
		if b.Proofs.Entries[i].Digest == d {
			return &b.Proofs.Entries[i]
		}
	}
	fatalf("no proof entry for %s", name)
	return nil
}

// otherLogHashes are the leaf hashes of another log with n leaves.
func otherLogHashes(n int) [][]byte {
	var hs [][]byte
	for i := 0; i < n; i++ {
		hs = append(hs, leafHash([]byte("another log's leaf "+itoa(i)+"\n")))
	}
	return hs
}

func logVectors() []vector {
	logged := func(f func(b *B)) Scenario { return Scenario{Logged: f} }
	proofs := func(f func(b *B)) Scenario { return Scenario{Proofs: f} }
	return []vector{
		rej("checkpoint-other-key", "checkpoint", "7", "the checkpoint (right origin, size and root) is signed by another Ed25519 key under the log's name",
			logged(func(b *B) {
				b.Checkpoint = b.Keys["otherlog"].SignNote(logName, checkpointBody(logName, b.Size, mth(b.Hashes[:b.Size])))
			})),
		rej("checkpoint-other-log", "checkpoint", "7", "a genuine checkpoint of another log (its origin, key and tree) replaces this log's",
			logged(func(b *B) {
				o := "log.other.example/audit"
				b.Checkpoint = b.Keys["otherlog"].SignNote(o, checkpointBody(o, b.Size, mth(otherLogHashes(b.Size))))
			})),
		rej("checkpoint-signature-invalid", "checkpoint", "7", "one bit of the checkpoint's Ed25519 signature is flipped",
			logged(func(b *B) { b.Checkpoint = flipNoteSig(b.Checkpoint) })),
		rej("checkpoint-origin-mismatch", "checkpoint", "7", "the checkpoint's origin line differs from the log key's name (signed by the log key)",
			logged(func(b *B) {
				b.Checkpoint = b.Keys["log"].SignNote(logName, checkpointBody("log.dossier.example/staging", b.Size, mth(b.Hashes[:b.Size])))
			})),
		rej("checkpoint-extension-line", "checkpoint", "7", "the checkpoint body has an extension line after the root hash (Dossier checkpoints have none)",
			logged(func(b *B) {
				body := append(checkpointBody(logName, b.Size, mth(b.Hashes[:b.Size])), []byte("timestamp 1795770000\n")...)
				b.Checkpoint = b.Keys["log"].SignNote(logName, body)
			})),
		rej("inclusion-proof-for-other-leaf", "inclusion", "7", "the evaluation record's proof entry carries the leaf, index and path of the run-closed record (a valid proof of something else)",
			proofs(func(b *B) {
				e, o := entryOf(b, "eval"), *entryOf(b, "closed")
				e.Leaf, e.Index, e.Hashes = o.Leaf, o.Index, o.Hashes
			})),
		rej("inclusion-tampered-hash", "inclusion", "7", "one bit of the first hash of the evaluation record's inclusion path is flipped",
			proofs(func(b *B) { e := entryOf(b, "eval"); e.Hashes[0] = flipB64(e.Hashes[0], 0) })),
		rej("inclusion-wrong-index", "inclusion", "7", "the evaluation record's proof entry states the next leaf index",
			proofs(func(b *B) { entryOf(b, "eval").Index++ })),
		rej("inclusion-proof-older-tree", "inclusion", "7", "the evaluation record's path is a genuine path to the tree one leaf smaller than the checkpoint",
			proofs(func(b *B) {
				e := entryOf(b, "eval")
				e.Hashes = b64s(inclusionPath(e.Index, b.Hashes[:b.Size-1]))
			})),
		rej("inclusion-missing-entry", "inclusion", "7", "proofs.json has no entry for the evaluation record",
			proofs(func(b *B) {
				d := b.rec("eval").Digest()
				var es []proofEntry
				for _, e := range b.Proofs.Entries {
					if e.Digest != d {
						es = append(es, e)
					}
				}
				b.Proofs.Entries = es
			})),
		rej("inclusion-checkpoint-older-tree", "inclusion", "7", "the checkpoint is a genuine, older checkpoint of the same log that does not cover the export record",
			logged(func(b *B) { b.Checkpoint = b.signedCheckpoint(b.Size - 1) })),
		rej("sequence-gap", "sequence", "8", "the second dataset record (seq 1 of the run) is withheld: logged, but not in the package",
			Scenario{Select: func(b *B) { b.rec("ds-eval").InPackage = false }}),
		rej("sequence-first-withheld", "sequence", "8", "the run's first record (seq 0) is withheld",
			Scenario{Select: func(b *B) { b.rec("ds-train").InPackage = false }}),
		rej("sequence-broken-prev", "sequence", "8", "the evaluation record's leaf links prev to the seq-0 record instead of seq 2 (as logged)",
			Scenario{Leaves: onRec("eval", func(b *B, r *rec) {
				r.Prev = b.rec("ds-train").Digest()
				r.Leaf = leafText(r.Digest(), r.stream(), r.Seq, r.Prev)
			})}),
		rej("sequence-duplicate-seq", "sequence", "8", "the evaluation record's leaf repeats the training-run record's seq (as logged)",
			Scenario{Leaves: onRec("eval", func(b *B, r *rec) {
				t := b.rec("training")
				r.Seq, r.Prev = t.Seq, t.Prev
				r.Leaf = leafText(r.Digest(), r.stream(), r.Seq, r.Prev)
			})}),
		rej("inclusion-leaf-prev-on-first", "inclusion", "7", "the run's seq-0 leaf (as logged) has a prev digest instead of -, so it is not a canonical leaf",
			Scenario{Leaves: onRec("ds-train", func(b *B, r *rec) {
				r.Prev = b.rec("te").Digest()
				r.Leaf = leafText(r.Digest(), r.stream(), r.Seq, r.Prev)
			})}),
		rej("inclusion-leaf-no-final-newline", "inclusion", "7", "the evaluation record's leaf (as logged) lacks the line feed after its prev line, so it is not a canonical leaf",
			Scenario{Leaves: onRec("eval", func(b *B, r *rec) { r.Leaf = []byte(strings.TrimSuffix(string(r.Leaf), "\n")) })}),
	}
}
