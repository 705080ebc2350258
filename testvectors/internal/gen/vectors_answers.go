package main

// ---- set v2: decisions on the Python verifier's questions (SPEC.md Appendix A, P19-P35) ----
//
// Each vector pins a decision two honest verifiers answered differently.

// laterCheckpoint is a log-signed checkpoint one leaf larger than the
// package's, consistent with it: the log simply grew.
func laterCheckpoint(b *B) []byte {
	hs := append([][]byte{}, b.Hashes[:b.Size]...)
	if len(b.Hashes) > b.Size {
		hs = append(hs, b.Hashes[b.Size])
	} else {
		hs = append(hs, leafHash([]byte("a leaf appended after the export")))
	}
	return b.Keys["log"].SignNote(logName, checkpointBody(logName, len(hs), mth(hs)))
}

// quorumNone is the trust root's tlog-policy with the witnesses listed and
// quorum none.
func quorumNone(b *B) {
	d := &b.KeyringDocs[0]
	text := witnessPolicyText(b)
	d.WitnessPolicy = text[:len(text)-len("group quorum-2 2 wa wb wc\nquorum quorum-2\n")] + "quorum none\n"
}

func answerVectors() []vector {
	tsa := theTSA()
	root := withTrustRoot(tsa, nil)
	return []vector{
		rej("anchors-checkpoint-larger-than-package", "checkpoint", "7", "anchors.json holds a log-signed checkpoint one leaf larger than the package checkpoint (consistent with it, stamped by the trust root's TSA): a malformed layer, not evidence of a fork (P20)",
			Scenario{Setup: root, Logged: func(b *B) {
				b.Anchors = cjson(obj{"anchors": []anchorEntry{anchorOf(laterCheckpoint(b), nil, anchorSpec{tsa: tsa})}})
			}}),
		rej("anchors-duplicate-entry", "checkpoint", "7", "anchors.json lists the same entry over the package checkpoint twice: sizes must increase strictly (P21)",
			Scenario{Setup: root, Logged: func(b *B) {
				e := anchorOf(b.Checkpoint, nil, anchorSpec{tsa: tsa})
				b.Anchors = cjson(obj{"anchors": []anchorEntry{e, e}})
			}}),
		rej("anchors-malformed-timestamp-entry", "checkpoint", "7", "an anchors.json timestamps entry names the trust root's TSA but has no response: the layer's shape is class checkpoint, not tsa (P19)",
			Scenario{Setup: root, Logged: func(b *B) {
				e := anchorOf(b.Checkpoint, nil, anchorSpec{})
				b.Anchors = cjson(obj{"anchors": []any{obj{"checkpoint": e.Checkpoint, "consistency": []string{},
					"timestamps": []any{obj{"tsa": tsaName}}, "cosignatures": e.Cosignatures}}})
			}}),
		ok("anchors-tsa-root-expires-within-accuracy", "the TSA's root certificate expires at 09:03:30, one second after the token's genTime 09:03:29 (accuracy 1 s): the chain is validated at genTime; only the signer certificate and the trust root's validity must cover genTime ± accuracy (P25)",
			func() Scenario {
				t := newTSARoot(tsaName, "2026-01-01T00:00:00Z", "2031-01-01T00:00:00Z", "2026-11-27T09:03:30Z")
				return Scenario{Setup: withTrustRoot(t, nil), Logged: anchored(anchorSpec{tsa: t, genTime: "2026-11-27T09:03:29Z"})}
			}()),
		rej("anchors-witness-quorum-none", "time", "9", "the trust root's witness policy says quorum none; two listed witnesses cosign; the auditor's policy requires witnesses: a none quorum bounds no time and never anchors a record (P24)",
			Scenario{Setup: then(root, quorumNone), Logged: anchored(anchorSpec{witnesses: []int{0, 1}}), TrustPolicy: requireAnchors("witness")}),
	}
}
