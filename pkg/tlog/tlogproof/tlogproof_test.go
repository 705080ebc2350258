package tlogproof

import (
	"crypto/rand"
	"errors"
	"strings"
	"testing"

	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"
)

const origin = "example.test/log"

var (
	runRoot = "sha256:" + strings.Repeat("ab", 32)
	digestB = "sha256:" + strings.Repeat("cd", 32)
)

func TestLeafRoundTrip(t *testing.T) {
	for _, l := range []Leaf{
		{Bundle: digestB, Stream: runRoot, Seq: 0},
		{Bundle: digestB, Stream: "time-evidence", Seq: 41, Prev: runRoot},
	} {
		got, err := ParseLeaf(l.Marshal())
		if err != nil || got != l {
			t.Fatalf("ParseLeaf(%q) = %+v, %v", l.Marshal(), got, err)
		}
	}
}

func TestParseLeafRejects(t *testing.T) {
	good := string(Leaf{Bundle: digestB, Stream: "export", Seq: 1, Prev: runRoot}.Marshal())
	tests := map[string]string{
		"wrong header":       strings.Replace(good, "leaf/v1", "leaf/v2", 1),
		"leading zero seq":   strings.Replace(good, "seq 1\n", "seq 01\n", 1),
		"signed seq":         strings.Replace(good, "seq 1\n", "seq +1\n", 1),
		"seq 1 without prev": strings.Replace(good, "prev "+runRoot, "prev -", 1),
		"seq 0 with prev":    strings.Replace(good, "seq 1\n", "seq 0\n", 1),
		"uppercase digest":   strings.Replace(good, digestB, strings.ToUpper(digestB), 1),
		"bad stream":         strings.Replace(good, "stream export", "stream Export", 1),
		"trailing data":      good + "x\n",
		"missing newline":    strings.TrimSuffix(good, "\n"),
		"crlf":               strings.ReplaceAll(good, "\n", "\r\n"),
		"double space":       strings.Replace(good, "seq 1", "seq  1", 1),
		"too large":          good + strings.Repeat("x", MaxLeafSize),
		"swapped lines":      strings.Replace(strings.Replace(good, "stream export\n", "", 1), "seq 1\n", "seq 1\nstream export\n", 1),
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := ParseLeaf([]byte(in)); !errors.Is(err, ErrMalformedLeaf) {
				t.Fatalf("got %v, want ErrMalformedLeaf", err)
			}
		})
	}
}

// buildTree signs a checkpoint over n leaves and returns leaves, signer,
// verifier and a function making inclusion proofs.
func buildTree(t *testing.T, n int) ([][]byte, note.Verifier, func(i uint64) []byte, []byte) {
	t.Helper()
	skey, vkey, _ := note.GenerateKey(rand.Reader, origin)
	s, _ := note.NewSigner(skey)
	v, _ := note.NewVerifier(vkey)
	var leaves [][]byte
	var hashes [][]byte
	for i := range n {
		l := Leaf{Bundle: Digest([]byte{byte(i)}), Stream: "export", Seq: uint64(i)}
		if i > 0 {
			l.Prev = Digest([]byte{byte(i - 1)})
		}
		leaves = append(leaves, l.Marshal())
		h := LeafHash(l.Marshal())
		hashes = append(hashes, h[:])
	}
	root := mth(hashes)
	cp, err := note.Sign(&note.Note{Text: string(FormatCheckpointBody(origin, uint64(n), [32]byte(root)))}, s)
	if err != nil {
		t.Fatal(err)
	}
	prove := func(i uint64) []byte {
		var ph [][32]byte
		for _, h := range path(int(i), hashes) {
			ph = append(ph, [32]byte(h))
		}
		return InclusionProof{Index: i, Leaf: leaves[i], Hashes: ph, Checkpoint: cp}.Marshal()
	}
	return leaves, v, prove, cp
}

// path is RFC 6962 §2.1.1 PATH(m, D[n]).
func path(m int, h [][]byte) [][]byte {
	if len(h) <= 1 {
		return nil
	}
	k := 1
	for k*2 < len(h) {
		k *= 2
	}
	if m < k {
		return append(path(m, h[:k]), mth(h[k:]))
	}
	return append(path(m-k, h[k:]), mth(h[:k]))
}

func mth(h [][]byte) []byte {
	if len(h) == 1 {
		return h[0]
	}
	k := 1
	for k*2 < len(h) {
		k *= 2
	}
	return rfc6962.DefaultHasher.HashChildren(mth(h[:k]), mth(h[k:]))
}

func TestInclusionRoundTripAndRejects(t *testing.T) {
	leaves, v, prove, _ := buildTree(t, 13)
	for i := range uint64(13) {
		if _, err := VerifyInclusion(prove(i), leaves[i], v); err != nil {
			t.Fatalf("leaf %d: %v", i, err)
		}
	}
	p := prove(5)
	tests := map[string]struct {
		proof []byte
		want  error
	}{
		"no header":         {p[3:], ErrMalformedProof},
		"no checkpoint":     {[]byte(strings.SplitN(string(p), "\n\n", 2)[0]), ErrMalformedProof},
		"bad hash":          {[]byte(strings.Replace(string(p), "index 5\n", "index 5\n!!!!\n", 1)), ErrMalformedProof},
		"index out of tree": {[]byte(strings.Replace(string(p), "index 5\n", "index 13\n", 1)), ErrInclusion},
		"wrong index":       {[]byte(strings.Replace(string(p), "index 5\n", "index 4\n", 1)), ErrInclusion},
		"leading zero":      {[]byte(strings.Replace(string(p), "index 5\n", "index 05\n", 1)), ErrMalformedProof},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := VerifyInclusion(tc.proof, nil, v); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestCheckpointRejects(t *testing.T) {
	_, v, _, cp := buildTree(t, 3)
	_, otherV, _, _ := buildTree(t, 3)
	if _, err := VerifyCheckpoint(cp, otherV); !errors.Is(err, ErrCheckpointSignature) {
		t.Fatalf("other key: got %v", err)
	}
	tampered := []byte(strings.Replace(string(cp), "\n3\n", "\n4\n", 1))
	if _, err := VerifyCheckpoint(tampered, v); !errors.Is(err, ErrCheckpointSignature) {
		t.Fatalf("tampered: got %v", err)
	}
	if _, err := VerifyCheckpoint([]byte("garbage"), v); !errors.Is(err, ErrMalformedCheckpoint) {
		t.Fatalf("garbage: got %v", err)
	}
	for name, body := range map[string]string{
		"extension line": origin + "\n3\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\next\n",
		"short root":     origin + "\n3\nAAAA\n",
		"leading zero":   origin + "\n03\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n",
		"empty origin":   "\n3\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n",
	} {
		if _, err := ParseCheckpointBody([]byte(body)); !errors.Is(err, ErrMalformedCheckpoint) {
			t.Errorf("%s: got %v", name, err)
		}
	}
}

func FuzzParseInclusionProof(f *testing.F) {
	f.Add([]byte("c2sp.org/tlog-proof@v1\nindex 0\n\nx\n0\nAAAA\n\n— x AAAA\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParseInclusionProof(b)
		if err != nil {
			return
		}
		q, err := ParseInclusionProof(p.Marshal())
		if err != nil || q.Index != p.Index || len(q.Hashes) != len(p.Hashes) {
			t.Fatalf("re-parse: %v", err)
		}
	})
}

func FuzzParseLeaf(f *testing.F) {
	f.Add(Leaf{Bundle: digestB, Stream: "export", Seq: 1, Prev: runRoot}.Marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := ParseLeaf(b)
		if err == nil && string(l.Marshal()) != string(b) {
			t.Fatalf("accepted non-canonical %q", b)
		}
	})
}

func FuzzParseConsistencyProof(f *testing.F) {
	f.Add([]byte("dossier.dev/consistency-proof/v1\nold 1\n\nx\n2\nAAAA\n\n— x AAAA\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParseConsistencyProof(b)
		if err != nil {
			return
		}
		if q, err := ParseConsistencyProof(p.Marshal()); err != nil || q.Old != p.Old {
			t.Fatalf("re-parse: %v", err)
		}
	})
}
