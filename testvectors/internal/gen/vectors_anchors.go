package main

// ---- set v2, issue 7: independent anchors (spec/anchors.md §4, §5) ----
//
// The trust root (keyring v1) names one TSA and a witness policy (2 of 3
// witnesses); the package's anchors.json carries RFC 3161 tokens and
// tlog-cosignatures over its checkpoint. Failure classes tsa, witness and
// fork are reported at step 7 (the checkpoint); a record that the auditor's
// policy wants anchored and is not is class time (step 9).

import "strings"

const (
	tsaName      = "tsa.internal"
	tokenGenTime = "2026-11-27T09:03:30Z"
)

var witnessNames = []string{"witness.example/a", "witness.example/b", "witness.example/c"}

func witnessKey(i int) *Key { return newEd25519("witness-" + string(rune('a'+i))) }

// theTSA is the trust root's TSA; its leaf is valid 2026–2031.
func theTSA() *tsaPKI { return newTSA(tsaName, "2026-01-01T00:00:00Z", "2031-01-01T00:00:00Z") }

// witnessPolicyText is the tlog-policy: the log, three witnesses, 2 of 3.
func witnessPolicyText(b *B) string {
	var s strings.Builder
	s.WriteString("log " + b.Keys["log"].NoteVerifierKey(logName) + "\n")
	for i, n := range witnessNames {
		s.WriteString("witness w" + string(rune('a'+i)) + " " + witnessKey(i).CosignatureVKey(n) + "\n")
	}
	s.WriteString("group quorum-2 2 wa wb wc\nquorum quorum-2\n")
	return s.String()
}

// withTrustRoot adds the anchor trust root to keyring v1; f changes the
// TSA entry.
func withTrustRoot(tsa *tsaPKI, f func(e *tsaEntry)) func(*B) {
	return func(b *B) {
		e := tsaEntry{Name: tsaName, ChainPEM: tsa.ChainPEM(), ValidFrom: "2026-01-01T00:00:00Z", ValidUntil: "2031-01-01T00:00:00Z",
			Policy: tsaPolicyOID.String()}
		if f != nil {
			f(&e)
		}
		d := &b.KeyringDocs[0]
		d.TimestampAuthorities = []tsaEntry{e}
		d.WitnessPolicy = witnessPolicyText(b)
	}
}

type anchorTS struct {
	TSA      string `json:"tsa"`
	Response string `json:"response"`
}

type anchorEntry struct {
	Checkpoint   string     `json:"checkpoint"`
	Consistency  []string   `json:"consistency"`
	Timestamps   []anchorTS `json:"timestamps"`
	Cosignatures string     `json:"cosignatures"`
}

// anchorSpec says what anchors the package checkpoint.
type anchorSpec struct {
	tsa       *tsaPKI // nil: no token
	tokenData func(cp []byte) []byte
	forge     bool
	witnesses []int  // indexes of witnesses that cosign
	unknown   bool   // a cosignature by a witness the policy does not name
	forgeCos  bool   // the first cosignature's signature is altered
	genTime   string // the token's genTime; "": tokenGenTime
}

func cosignTime(i int) int64 { return utc(tokenGenTime).Unix() - 10 + int64(i) }

// anchorOf is the anchors.json entry for the signed checkpoint cp.
func anchorOf(cp []byte, consistency [][]byte, s anchorSpec) anchorEntry {
	e := anchorEntry{Checkpoint: b64(cp), Consistency: b64s(consistency), Timestamps: []anchorTS{}}
	if s.tsa != nil {
		data := cp
		if s.tokenData != nil {
			data = s.tokenData(cp)
		}
		ts := tokenSpec{GenTime: utc(tokenGenTime), Serial: 1001, Nonce: 77}
		if s.genTime != "" {
			ts.GenTime = utc(s.genTime)
		}
		if s.forge {
			ts.SigMutate = flipLast
		}
		e.Timestamps = append(e.Timestamps, anchorTS{TSA: tsaName, Response: b64(s.tsa.Token(data, ts))})
	}
	for n, i := range s.witnesses {
		var mut func([]byte) []byte
		if s.forgeCos && n == 0 {
			mut = flipLast
		}
		e.Cosignatures += witnessKey(i).Cosign(witnessNames[i], cp, cosignTime(i), mut)
	}
	if s.unknown {
		e.Cosignatures += newEd25519("witness-unknown").Cosign("witness.example/unknown", cp, cosignTime(3), nil)
	}
	return e
}

func flipLast(b []byte) []byte {
	c := append([]byte{}, b...)
	c[len(c)-1] ^= 1
	return c
}

// anchored sets anchors.json to one entry over the package checkpoint.
func anchored(s anchorSpec) func(*B) {
	return func(b *B) { b.Anchors = cjson(obj{"anchors": []anchorEntry{anchorOf(b.Checkpoint, nil, s)}}) }
}

// forkedCheckpoint is a log-signed checkpoint of size n over a tree whose
// leaf 1 differs from the log's.
func forkedCheckpoint(b *B, n int) []byte {
	hs := append([][]byte{}, b.Hashes[:n]...)
	hs[1] = leafHash([]byte("a leaf the log never published"))
	return b.Keys["log"].SignNote(logName, checkpointBody(logName, n, mth(hs)))
}

// requireAnchors is the auditor's policy v2 requiring anchoring by kind.
func requireAnchors(kind string) func(*B) obj {
	return func(*B) obj {
		p := defaultPolicy()
		p["mediaType"], p["anchors"] = policyV2MediaType, obj{"require": kind}
		return p
	}
}

func anchorVectors() []vector {
	tsa, witnessesAB := theTSA(), []int{0, 1}
	root := withTrustRoot(tsa, nil)
	return []vector{
		ok("anchors-tsa", "an RFC 3161 token by the trust root's TSA over the package checkpoint: every record is anchored (notAfter genTime + 1 s)",
			Scenario{Setup: root, Logged: anchored(anchorSpec{tsa: tsa})}),
		ok("anchors-tsa-and-witness-quorum", "a token and cosignatures by two of the three policy witnesses (quorum 2 of 3) over the package checkpoint; the auditor's policy requires both",
			Scenario{Setup: root, Logged: anchored(anchorSpec{tsa: tsa, witnesses: witnessesAB}), TrustPolicy: requireAnchors("both")}),
		ok("anchors-absent-asserted", "the trust root names a TSA and witnesses but the package has no anchors.json: every time is asserted by the operator, accepted under require none",
			Scenario{Setup: root}),
		rej("anchors-absent-required", "time", "9", "no anchors.json, and the auditor's policy requires anchoring by a TSA: every record's time is only asserted",
			Scenario{Setup: root, TrustPolicy: requireAnchors("tsa")}),
		rej("anchors-tsa-forged-token", "tsa", "7", "the token's CMS signature has one bit flipped (a forged token)",
			Scenario{Setup: root, Logged: anchored(anchorSpec{tsa: tsa, forge: true})}),
		rej("anchors-tsa-token-other-bytes", "tsa", "7", "a genuine token over the checkpoint with one byte changed (its size line): the imprint does not match",
			Scenario{Setup: root, Logged: anchored(anchorSpec{tsa: tsa, tokenData: func(cp []byte) []byte {
				c := append([]byte{}, cp...)
				c[strings.IndexByte(string(c), '\n')+1] ^= 1
				return c
			}})}),
		rej("anchors-tsa-certificate-expired", "tsa", "7", "the TSA's signing certificate expired on 2026-06-01, before the token's genTime 2026-11-27",
			func() Scenario {
				old := newTSA(tsaName, "2026-01-01T00:00:00Z", "2026-06-01T00:00:00Z")
				return Scenario{Setup: withTrustRoot(old, nil), Logged: anchored(anchorSpec{tsa: old})}
			}()),
		rej("anchors-tsa-outside-trust-root-validity", "tsa", "7", "the trust root accepts the TSA only until 2026-11-01; the token's genTime is 2026-11-27",
			Scenario{Setup: withTrustRoot(tsa, func(e *tsaEntry) { e.ValidUntil = "2026-11-01T00:00:00Z" }), Logged: anchored(anchorSpec{tsa: tsa})}),
		rej("anchors-witness-forged-cosignature", "witness", "7", "two policy witnesses cosign; the first cosignature's signature has one bit flipped (a forged cosignature rejects the checkpoint, it is not ignored)",
			Scenario{Setup: root, Logged: anchored(anchorSpec{witnesses: witnessesAB, forgeCos: true})}),
		rej("anchors-witness-unknown-witness", "witness", "7", "one policy witness and one witness the policy does not name cosign (the unknown one is ignored): the quorum of 2 is not met and the auditor's policy requires witnesses",
			Scenario{Setup: root, Logged: anchored(anchorSpec{witnesses: []int{0}, unknown: true}), TrustPolicy: requireAnchors("witness")}),
		rej("anchors-witness-quorum-not-met", "witness", "7", "one of the two cosignatures the quorum needs; the auditor's policy requires witnesses",
			Scenario{Setup: root, Logged: anchored(anchorSpec{witnesses: []int{2}}), TrustPolicy: requireAnchors("witness")}),
		rej("anchors-fork-same-size", "fork", "7", "anchors.json holds a second log-signed checkpoint of the package's size with another root (a split view: same size, two roots)",
			Scenario{Setup: root, Logged: func(b *B) {
				b.Anchors = cjson(obj{"anchors": []anchorEntry{anchorOf(forkedCheckpoint(b, b.Size), nil, anchorSpec{tsa: tsa})}})
			}}),
		rej("anchors-fork-consistency-fails", "fork", "7", "an anchored log-signed checkpoint of size n-2 whose tree differs from the package's at leaf 1; the consistency proof to the package checkpoint fails",
			Scenario{Setup: root, Logged: func(b *B) {
				n := b.Size - 2
				b.Anchors = cjson(obj{"anchors": []anchorEntry{anchorOf(forkedCheckpoint(b, n), consistencyProof(n, b.Hashes[:b.Size]), anchorSpec{tsa: tsa})}})
			}}),
	}
}
