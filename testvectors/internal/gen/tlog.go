package main

import (
	"strconv"
	"strings"
)

// RFC 6962 / RFC 9162 Merkle tree over leaf bytes, SHA-256.

func leafHash(leaf []byte) []byte { return sum(append([]byte{0x00}, leaf...)) }

func nodeHash(l, r []byte) []byte {
	b := append([]byte{0x01}, l...)
	return sum(append(b, r...))
}

// split is the largest power of two smaller than n (n >= 2).
func split(n int) int {
	k := 1
	for k<<1 < n {
		k <<= 1
	}
	return k
}

// mth is MTH(D[n]) over leaf hashes.
func mth(h [][]byte) []byte {
	switch len(h) {
	case 0:
		return sum(nil)
	case 1:
		return h[0]
	}
	k := split(len(h))
	return nodeHash(mth(h[:k]), mth(h[k:]))
}

// inclusionPath is PATH(m, D[n]), leaf sibling first.
func inclusionPath(m int, h [][]byte) [][]byte {
	if len(h) <= 1 {
		return nil
	}
	k := split(len(h))
	if m < k {
		return append(inclusionPath(m, h[:k]), mth(h[k:]))
	}
	return append(inclusionPath(m-k, h[k:]), mth(h[:k]))
}

// consistencyProof is PROOF(m, D[n]) of RFC 6962 §2.1.2.
func consistencyProof(m int, h [][]byte) [][]byte {
	if m == 0 || m == len(h) {
		return nil
	}
	return subproof(m, h, true)
}

func subproof(m int, h [][]byte, b bool) [][]byte {
	n := len(h)
	if m == n {
		if b {
			return nil
		}
		return [][]byte{mth(h)}
	}
	k := split(n)
	if m <= k {
		return append(subproof(m, h[:k], b), mth(h[k:]))
	}
	return append(subproof(m-k, h[k:], false), mth(h[:k]))
}

// leafText is the Dossier leaf of pkg/tlog/FORMAT.md. Every line, the
// last included, ends in a line feed (see QUESTIONS.md Q1).
func leafText(bundleDigest, stream string, seq int, prev string) []byte {
	if prev == "" {
		prev = "-"
	}
	return []byte("dossier.dev/leaf/v1\n" +
		"bundle " + bundleDigest + "\n" +
		"stream " + stream + "\n" +
		"seq " + strconv.Itoa(seq) + "\n" +
		"prev " + prev + "\n")
}

// checkpointBody is the C2SP tlog-checkpoint body.
func checkpointBody(origin string, size int, root []byte) []byte {
	return []byte(origin + "\n" + strconv.Itoa(size) + "\n" + b64(root) + "\n")
}

func b64s(hs [][]byte) []string {
	out := make([]string, 0, len(hs))
	for _, h := range hs {
		out = append(out, b64(h))
	}
	return out
}

// noteName is the key name in a signed note's signature line.
func noteName(note []byte) string {
	i := strings.Index(string(note), "\u2014 ")
	rest := string(note[i+len("\u2014 "):])
	return rest[:strings.IndexByte(rest, ' ')]
}
