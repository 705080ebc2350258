package tlog

import "github.com/dossier-audit/dossier/pkg/tlog/prefixindex"

// prefixIndex maps SHA-256 digests to 40-bit values (a leaf index, or a
// frame location in the bundle store) in 10 to 15 bytes an entry; see
// package prefixindex. Candidates are checked against the full digest
// kept on disk.
type prefixIndex struct{ prefixindex.Index }

const (
	indexValueBits = 40
	// maxIndexValue is the largest value a prefixIndex holds.
	maxIndexValue = prefixindex.MaxValue
)

// prefixOf returns the key of digest d: its top 24 bits.
func prefixOf(d [32]byte) uint64 { return prefixindex.Key(d) }

func (t *prefixIndex) add(key, val uint64) { t.Add(key, val) }

func (t *prefixIndex) find(key uint64, match func(val uint64) bool) bool { return t.Find(key, match) }

func (t *prefixIndex) len() int { return t.Len() }
