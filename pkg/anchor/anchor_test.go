package anchor_test

import (
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/dossier-audit/dossier/pkg/anchor"
	"github.com/dossier-audit/dossier/pkg/tlog/tlogproof"
	"github.com/dossier-audit/dossier/pkg/tsa/tsatest"
	"github.com/dossier-audit/dossier/pkg/tsa/tsaverify"
	"github.com/dossier-audit/dossier/pkg/witness"
	"github.com/dossier-audit/dossier/pkg/witness/witnesstest"
	"github.com/dossier-audit/dossier/pkg/witness/witnessverify"
)

type fixture struct {
	log, fork *witnesstest.Log
	w1, w2    *witnesstest.WitnessKey
	leaf      *tsatest.Leaf
	root      anchor.TrustRoot
	pkg       *tlogproof.Checkpoint
	genTime   time.Time
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	now := time.Now().Truncate(time.Second)
	f := &fixture{log: witnesstest.NewLog(t, "audit.example.internal/log", "leaf", 20), genTime: now.Add(-time.Hour),
		w1: witnesstest.NewWitnessKey(t, "secops.example.internal/w"), w2: witnesstest.NewWitnessKey(t, "auditor.example.org/w")}
	f.fork = witnesstest.NewLog(t, f.log.Origin, "other", 20)
	f.fork.Signer, f.fork.Verifier, f.fork.VKey = f.log.Signer, f.log.Verifier, f.log.VKey
	ca := tsatest.NewCA(t, "TSA Root", now.Add(-24*time.Hour))
	f.leaf = ca.Issue(t, "TSA", now.Add(-2*time.Hour), now.Add(time.Hour))
	policy, err := witnessverify.ParsePolicy([]byte(fmt.Sprintf("log %s\nwitness a %s\nwitness b %s\ngroup both all a b\nquorum both\n",
		f.log.VKey, f.w1.VKey, f.w2.VKey)))
	if err != nil {
		t.Fatal(err)
	}
	f.root = anchor.TrustRoot{Log: f.log.Verifier, LogVKey: f.log.VKey, Witnesses: policy,
		TSAs: []anchor.TSA{{Name: "tsa.internal", Options: tsaverify.Options{Roots: []*x509.Certificate{ca.Cert}}}}}
	if f.pkg, err = tlogproof.VerifyCheckpoint(f.log.Checkpoint(t, 20), f.log.Verifier); err != nil {
		t.Fatal(err)
	}
	return f
}

// entry anchors the log's checkpoint of size with a token and the given
// witnesses' cosignatures.
func (f *fixture) entry(t *testing.T, l *witnesstest.Log, size uint64, fault tsatest.Fault, ws ...*witnesstest.WitnessKey) anchor.Entry {
	cp := l.Checkpoint(t, size)
	e := anchor.Entry{Checkpoint: cp}
	for _, h := range l.Proof(t, size, 20) {
		e.Consistency = append(e.Consistency, h[:])
	}
	if fault != -1 {
		e.Timestamps = []anchor.Timestamp{{TSA: "tsa.internal", Response: tsatest.Token(t, f.leaf, cp, big.NewInt(1), f.genTime, fault)}}
	}
	cosigned := cp
	for _, w := range ws {
		cosigned = w.Cosign(t, cosigned)
	}
	lines, err := witness.SignatureLines(cosigned)
	if err != nil {
		t.Fatal(err)
	}
	logSigs, err := witness.SignatureLines(cp)
	if err != nil {
		t.Fatal(err)
	}
	e.Cosignatures = string(lines[len(logSigs):])
	return e
}

// forgeLine flips one bit of the signature in a one-line cosignature,
// keeping the line well-formed.
func forgeLine(t *testing.T, line string) string {
	t.Helper()
	i := strings.LastIndexByte(line, ' ')
	sig, err := base64.StdEncoding.DecodeString(strings.TrimSuffix(line[i+1:], "\n"))
	if err != nil {
		t.Fatal(err)
	}
	sig[len(sig)-1] ^= 1
	return line[:i+1] + base64.StdEncoding.EncodeToString(sig) + "\n"
}

const noToken = tsatest.Fault(-1)

func TestVerifyAndFor(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	file := &anchor.File{Anchors: []anchor.Entry{
		f.entry(t, f.log, 5, tsatest.OK, f.w1, f.w2),
		f.entry(t, f.log, 12, noToken, f.w1, f.w2),
		f.entry(t, f.log, 16, noToken, f.w1), // quorum not met: not anchored
	}}
	b, err := file.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := anchor.Parse(b)
	if err != nil {
		t.Fatalf("Parse(Marshal): %v", err)
	}
	res, err := anchor.Verify(parsed, f.pkg, f.root)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	tests := []struct {
		index    uint64
		anchored bool
		size     uint64
		by       string
	}{
		{0, true, 5, "tsa:tsa.internal"},
		{4, true, 5, "tsa:tsa.internal"},
		{5, true, 12, "witness-quorum"},
		{11, true, 12, "witness-quorum"},
		{12, false, 0, ""},
		{19, false, 0, ""},
	}
	for _, tt := range tests {
		a := res.For(tt.index)
		if a.Anchored != tt.anchored || a.Size != tt.size || (tt.anchored && a.By[0] != tt.by) {
			t.Errorf("For(%d) = %+v, want anchored %v by %s at size %d", tt.index, a, tt.anchored, tt.by, tt.size)
		}
	}
	if a := res.For(0); !a.NotAfter.Equal(f.genTime.Add(time.Second)) {
		t.Errorf("For(0).NotAfter = %v, want genTime + accuracy %v", a.NotAfter, f.genTime.Add(time.Second))
	}
}

func TestVerifyRejects(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	otherBytes := f.entry(t, f.log, 5, tsatest.OK)
	otherBytes.Timestamps = f.entry(t, f.log, 6, tsatest.OK).Timestamps
	forgedCosig := f.entry(t, f.log, 5, noToken, f.w1)
	forgedCosig.Cosignatures = forgeLine(t, forgedCosig.Cosignatures)
	unknownTSA := f.entry(t, f.log, 5, tsatest.OK)
	unknownTSA.Timestamps[0].TSA = "elsewhere"
	tests := []struct {
		name    string
		entries []anchor.Entry
		want    error
		fork    bool
	}{
		{"forged token", []anchor.Entry{f.entry(t, f.log, 5, tsatest.Forged)}, anchor.ErrTSA, false},
		{"token over other bytes", []anchor.Entry{otherBytes}, tsaverify.ErrImprint, false},
		{"forged cosignature", []anchor.Entry{forgedCosig}, witnessverify.ErrCosignature, false},
		{"fork", []anchor.Entry{f.entry(t, f.fork, 20, tsatest.OK)}, anchor.ErrFork, true},
		{"checkpoint of another key", []anchor.Entry{f.entry(t, witnesstest.NewLog(t, f.log.Origin, "leaf", 20), 5, noToken)}, anchor.ErrCheckpoint, false},
		{"sizes not increasing", []anchor.Entry{f.entry(t, f.log, 6, noToken), f.entry(t, f.log, 5, noToken)}, anchor.ErrMalformed, false},
		{"unknown TSA is ignored", []anchor.Entry{unknownTSA}, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, err := anchor.Verify(&anchor.File{Anchors: tt.entries}, f.pkg, f.root)
			if !errors.Is(err, tt.want) || (tt.want != nil) == (err == nil) {
				t.Fatalf("Verify: got %v, want %v", err, tt.want)
			}
			if tt.fork != (res.Fork != nil) {
				t.Fatalf("fork evidence %v, want %v", res.Fork, tt.fork)
			}
			if tt.want == nil && (res.Entries[0].IgnoredTimestamps != 1 || res.For(0).Anchored) {
				t.Fatalf("unknown TSA: %+v", res.Entries[0])
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, json string }{
		{"not json", "anchors"},
		{"unknown field", `{"anchors":[],"extra":1}`},
		{"missing anchors", `{}`},
		{"short hash", `{"anchors":[{"checkpoint":"AA==","consistency":["AA=="],"timestamps":[],"cosignatures":""}]}`},
		{"timestamp without tsa", `{"anchors":[{"checkpoint":"AA==","consistency":[],"timestamps":[{"tsa":"","response":"AA=="}],"cosignatures":""}]}`},
		{"partial cosignature line", `{"anchors":[{"checkpoint":"AA==","consistency":[],"timestamps":[],"cosignatures":"— w abc"}]}`},
		{"null", `{"anchors":null}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := anchor.Parse([]byte(tt.json)); !errors.Is(err, anchor.ErrMalformed) {
				t.Fatalf("Parse: got %v, want ErrMalformed", err)
			}
		})
	}
}
