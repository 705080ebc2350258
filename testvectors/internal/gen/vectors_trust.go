package main

// ---- step 4: keyring ----

// otherOrg makes the whole package with another organisation's keys: a
// self-consistent forgery whose only flaw is its trust root.
func otherOrg(b *B) {
	k := b.Keys
	k["root"], k["log"], k["producer"] = k["otherroot"], k["otherlog"], k["other"]
	k["time"], k["exporter"] = newEd25519("other-org-time"), newECDSA("other-org-exporter")
	b.KeyringDocs = []keyringDoc{b.keyringV1()}
	b.KeyringSign = [][]*Key{{k["root"]}}
	for _, r := range b.Recs {
		r.Spec.Signer = k["producer"]
		if r.Kind == "time-evidence" {
			r.Spec.Signer = k["time"]
		}
	}
}

// baseline returns a builder with the baseline's keys, records and keyring.
func baseline(setup func(*B)) *B {
	b := &B{s: &Scenario{}, Blobs: map[string][]byte{}}
	b.initKeys()
	b.initRecords()
	if setup != nil {
		setup(b)
	}
	b.signKeyrings()
	return b
}

// addV2 appends keyring version 2 (v1's keys plus a reviewer key), signed
// by v1's root key; f changes it.
func addV2(b *B, f func(d *keyringDoc)) {
	d := b.keyringV1()
	d.Version, d.IssuedAt = 2, "2026-11-27T08:30:00Z"
	d.Keys = sortedEntries(append(d.Keys, entryFor(b.Keys["reviewer"], []string{"reviewer"}, "ml-review", "")))
	if f != nil {
		f(&d)
	}
	b.KeyringDocs = append(b.KeyringDocs, d)
	b.KeyringSign = append(b.KeyringSign, []*Key{b.Keys["root"]})
}

// addV3 appends keyring version 3, a copy of version 2 changed by f.
func addV3(b *B, f func(d *keyringDoc)) {
	d := b.KeyringDocs[1]
	d.Keys = append([]keyEntry{}, d.Keys...)
	d.Version, d.IssuedAt, d.Previous = 3, "2026-11-27T08:45:00Z", nil
	f(&d)
	b.KeyringDocs = append(b.KeyringDocs, d)
	b.KeyringSign = append(b.KeyringSign, []*Key{b.Keys["root"]})
}

func keyEntryOf(d *keyringDoc, k *Key) *keyEntry {
	for i := range d.Keys {
		if d.Keys[i].ID == k.Fingerprint() {
			return &d.Keys[i]
		}
	}
	fatalf("key %s not in keyring", k.Name)
	return nil
}

func keyringVectors() []vector {
	genuine := func(*B) string { return baseline(nil).RootFP }
	return []vector{
		rej("keyring-wrong-fingerprint", "keyring", "4", "the pinned fingerprint is another organisation's keyring v1; the package is genuine",
			Scenario{PinnedFP: func(*B) string { return baseline(otherOrg).RootFP }}),
		rej("keyring-other-org-forgery", "keyring", "4", "a self-consistent package made entirely with another organisation's keys (keyring, log, records, attestation); the pinned fingerprint is the genuine one",
			Scenario{Setup: otherOrg, PinnedFP: genuine}),
		rej("keyring-fingerprint-of-envelope", "keyring", "4", "the pinned value is SHA-256 of keyring v1's envelope, not of its document (the payload)",
			Scenario{PinnedFP: func(b *B) string { return "SHA256:" + hexOf(b.Keyrings[0].Bundle) }}),
		rej("keyring-v1-signature-other-key", "keyring", "4", "keyring v1 is signed by a root key it does not list",
			Scenario{Setup: func(b *B) { b.KeyringSign[0] = []*Key{b.Keys["otherroot"]} }}),
		rej("keyring-v1-threshold-unmet", "keyring", "4", "keyring v1 lists two root keys with rootThreshold 2 and carries one signature",
			Scenario{Setup: func(b *B) {
				d := &b.KeyringDocs[0]
				d.RootThreshold = 2
				d.Keys = sortedEntries(append(d.Keys, entryFor(b.Keys["root2"], []string{"root"}, "security", "")))
			}}),
		rej("keyring-duplicate-member", "keyring", "4", "keyring v1's document (the pinned one) has the member version twice (strict JSON)",
			Scenario{Setup: func(b *B) {
				b.KeyringMutate = func(i int, doc []byte) []byte { return replaceOnce(doc, `"version":1,`, `"version":1,"version":1,`) }
			}}),
		rej("keyring-log-vkey-mismatch", "keyring", "4", "the log key's noteVerifierKey carries another public key than its publicKey",
			Scenario{Setup: func(b *B) {
				keyEntryOf(&b.KeyringDocs[0], b.Keys["log"]).NoteVerifierKey = b.Keys["otherlog"].NoteVerifierKey(logName)
			}}),
		ok("keyring-v2-valid", "keyring version 2 (adds a reviewer key) signed by v1's root key, logged right after v1", Scenario{Setup: func(b *B) { addV2(b, nil) }}),
		rej("keyring-v2-previous-is-document-digest", "keyring", "4", "keyring v2's previous is the digest of v1's document instead of v1's envelope",
			Scenario{Setup: func(b *B) {
				p := digestOf(cjson(b.KeyringDocs[0]))
				addV2(b, func(d *keyringDoc) { d.Previous = &p })
			}}),
		rej("keyring-v2-signed-by-new-root", "keyring", "4", "keyring v2 replaces the root key and is signed only by the new root, not by a root key of v1",
			Scenario{Setup: func(b *B) {
				addV2(b, func(d *keyringDoc) {
					*keyEntryOf(d, b.Keys["root"]) = entryFor(b.Keys["root2"], []string{"root"}, "security", "")
					d.Keys = sortedEntries(d.Keys)
				})
				b.KeyringSign[1] = []*Key{b.Keys["root2"]}
			}}),
		rej("keyring-v2-threshold-unmet", "keyring", "4", "keyring v1 has rootThreshold 2 (two roots, both sign v1); v2 carries one root signature",
			Scenario{Setup: func(b *B) {
				d := &b.KeyringDocs[0]
				d.RootThreshold = 2
				d.Keys = sortedEntries(append(d.Keys, entryFor(b.Keys["root2"], []string{"root"}, "security", "")))
				b.KeyringSign[0] = []*Key{b.Keys["root"], b.Keys["root2"]}
				addV2(b, func(d2 *keyringDoc) {
					d2.RootThreshold = 2
					d2.Keys = sortedEntries(append(d2.Keys, entryFor(b.Keys["root2"], []string{"root"}, "security", "")))
				})
			}}),
		rej("keyring-v1-threshold-same-key-twice", "keyring", "4", "keyring v1 has rootThreshold 2 (two root keys) and two signatures, both by the same root key",
			Scenario{Setup: func(b *B) {
				d := &b.KeyringDocs[0]
				d.RootThreshold = 2
				d.Keys = sortedEntries(append(d.Keys, entryFor(b.Keys["root2"], []string{"root"}, "security", "")))
				b.KeyringSign[0] = []*Key{b.Keys["root"], b.Keys["root"]}
			}}),
		rej("keyring-v2-signed-by-revoked-root", "keyring", "4", "keyring v2 is signed by a root key of v1 that v1 marks as retired (threshold 1, the other root key did not sign)",
			Scenario{Setup: func(b *B) {
				d := &b.KeyringDocs[0]
				e := entryFor(b.Keys["root2"], []string{"root"}, "security", "")
				e.Revocation = obj{"at": "2026-11-27T07:00:00Z", "reason": "retired"}
				d.Keys = sortedEntries(append(d.Keys, e))
				addV2(b, nil)
				b.KeyringSign[1] = []*Key{b.Keys["root2"]}
			}}),
		rej("keyring-version-gap", "keyring", "4", "the chain goes from version 1 to version 3 (previous = v1's envelope)",
			Scenario{Setup: func(b *B) { addV2(b, func(d *keyringDoc) { d.Version = 3 }) }}),
	}
}

// ---- step 5: package signature ----

func packageSignatureVectors() []vector {
	return []vector{
		rej("package-signature-producer-key", "package-signature", "5", "the package attestation is signed by the producer key (in the keyring, but not an exporter)",
			Scenario{AttestSpec: func(b *B) { b.Attest.Spec.Signer = b.Keys["producer"] }}),
		rej("package-signature-invalid", "package-signature", "5", "the package attestation's signature does not verify (one bit of s flipped)",
			Scenario{AttestSpec: func(b *B) {
				b.Attest.Spec.SigMutate = func(s []byte) []byte { s[len(s)-1] ^= 1; return s }
			}}),
		rej("package-signature-subject-other", "package-signature", "5", "the signed attestation statement names the metadata manifest digest instead of the package index",
			Scenario{AttestSpec: func(b *B) { b.Attest.Subj0Hex = b.MetaD.Digest[len("sha256:"):] }}),
		rej("package-attestation-from-other-package", "package-signature", "5", "a genuine package attestation, signed by the real exporter key, taken from another package of the same log (other package id)",
			Scenario{AttestSpec: func(b *B) {
				ob, _ := buildB(&Scenario{OCI: func(o *B) { o.PkgIndex.Annotations["dev.dossier.package.id"] = "pkg-2026-11-20-0007" }})
				b.Attest.Bundle = ob.Attest.Bundle
			}}),
	}
}
