package bundle

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/dossier-audit/dossier/pkg/dsse"
	"github.com/dossier-audit/dossier/pkg/keys"
)

// The record benchmarks report records/s and the bare signature rate of
// the same algorithm over the same PAE (the physical bound), and their
// ratio. Each iteration times one record operation and one bare operation
// back to back, so both see the same machine load; ns/op covers the pair.

var algs = []keys.Algorithm{keys.ECDSAP256, keys.Ed25519}

// benchStatement is a realistic ~2 KiB statement.
var benchStatement = testStatement(2048)

func BenchmarkSignRecord(b *testing.B) {
	for _, alg := range algs {
		b.Run(string(alg), func(b *testing.B) {
			plain, priv := newSigner(b, alg)
			ctx := context.Background()
			s, err := NewKeyedSigner(ctx, plain) // as dossierd signs
			if err != nil {
				b.Fatal(err)
			}
			paired(b, func() {
				if _, err := Sign(ctx, s, PayloadTypeInToto, benchStatement); err != nil {
					b.Fatal(err)
				}
			}, bareSign(priv), "bare-signs/s")
		})
	}
}

func BenchmarkVerifyRecord(b *testing.B) {
	for _, alg := range algs {
		b.Run(string(alg), func(b *testing.B) {
			s, priv := newSigner(b, alg)
			rec := mustSign(b, s, benchStatement)
			v := newVerifier(b, priv.Public())
			bun, _ := Parse(rec)
			paired(b, func() {
				if _, err := Verify(rec, v); err != nil {
					b.Fatal(err)
				}
			}, bareVerify(priv, bun.Signature()), "bare-verifies/s")
		})
	}
}

func BenchmarkECDSASignBare(b *testing.B)     { benchBare(b, keys.ECDSAP256, true) }
func BenchmarkEd25519SignBare(b *testing.B)   { benchBare(b, keys.Ed25519, true) }
func BenchmarkECDSAVerifyBare(b *testing.B)   { benchBare(b, keys.ECDSAP256, false) }
func BenchmarkEd25519VerifyBare(b *testing.B) { benchBare(b, keys.Ed25519, false) }

func benchBare(b *testing.B, alg keys.Algorithm, sign bool) {
	s, priv := newSigner(b, alg)
	f := bareSign(priv)
	if !sign {
		bun, _ := Parse(mustSign(b, s, benchStatement))
		f = bareVerify(priv, bun.Signature())
	}
	for b.Loop() {
		f()
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

// bareSign signs the record's PAE with the standard library only.
func bareSign(priv any) func() {
	pae := dsse.PAE(PayloadTypeInToto, benchStatement)
	switch k := priv.(type) {
	case *ecdsa.PrivateKey:
		return func() {
			h := sha256.Sum256(pae)
			if _, err := ecdsa.SignASN1(rand.Reader, k, h[:]); err != nil {
				panic(err)
			}
		}
	case ed25519.PrivateKey:
		return func() { ed25519.Sign(k, pae) }
	}
	panic("unsupported key")
}

// bareVerify verifies sig over the record's PAE with the standard library.
func bareVerify(priv any, sig []byte) func() {
	pae := dsse.PAE(PayloadTypeInToto, benchStatement)
	switch k := priv.(type) {
	case *ecdsa.PrivateKey:
		return func() {
			h := sha256.Sum256(pae)
			if !ecdsa.VerifyASN1(&k.PublicKey, h[:], sig) {
				panic("bad signature")
			}
		}
	case ed25519.PrivateKey:
		pub := k.Public().(ed25519.PublicKey)
		return func() {
			if !ed25519.Verify(pub, pae, sig) {
				panic("bad signature")
			}
		}
	}
	panic("unsupported key")
}

// paired runs record and bare alternately, timing each, and reports
// records/s, the bare rate (unit) and their ratio.
func paired(b *testing.B, record, bare func(), unit string) {
	var tr, tb time.Duration
	n := 0
	for b.Loop() {
		t0 := time.Now()
		record()
		t1 := time.Now()
		bare()
		tr, tb, n = tr+t1.Sub(t0), tb+time.Since(t1), n+1
	}
	got, bound := float64(n)/tr.Seconds(), float64(n)/tb.Seconds()
	b.ReportMetric(got, "records/s")
	b.ReportMetric(bound, unit)
	b.ReportMetric(got/bound, "ratio")
}
