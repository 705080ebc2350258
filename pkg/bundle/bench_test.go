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

// The record benchmarks report records/s and, measured in the same run,
// the bare signature rate of the same algorithm over the same PAE (the
// physical bound), and their ratio.

var algs = []keys.Algorithm{keys.ECDSAP256, keys.Ed25519}

// benchStatement is a realistic ~2 KiB statement.
var benchStatement = testStatement(2048)

func BenchmarkSignRecord(b *testing.B) {
	for _, alg := range algs {
		b.Run(string(alg), func(b *testing.B) {
			s, priv := newSigner(b, alg)
			bare := rate(bareSign(priv))
			ctx := context.Background()
			b.ResetTimer()
			for b.Loop() {
				if _, err := Sign(ctx, s, PayloadTypeInToto, benchStatement); err != nil {
					b.Fatal(err)
				}
			}
			report(b, bare, "bare-signs/s")
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
			bare := rate(bareVerify(priv, bun.Signature()))
			b.ResetTimer()
			for b.Loop() {
				if _, err := Verify(rec, v); err != nil {
					b.Fatal(err)
				}
			}
			report(b, bare, "bare-verifies/s")
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

// rate runs f for about 200ms and returns calls per second.
func rate(f func()) float64 {
	start, n := time.Now(), 0
	for time.Since(start) < 200*time.Millisecond {
		f()
		n++
	}
	return float64(n) / time.Since(start).Seconds()
}

func report(b *testing.B, bare float64, unit string) {
	got := float64(b.N) / b.Elapsed().Seconds()
	b.ReportMetric(got, "records/s")
	b.ReportMetric(bare, unit)
	b.ReportMetric(got/bare, "ratio")
}
