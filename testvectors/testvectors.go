// Package testvectors embeds the Dossier package test vectors, so
// in-process tests can iterate them without depending on the working
// directory. The vectors are data: see README.md for their layout and
// internal/gen for the independent generator that writes them.
package testvectors

import "embed"

// V1 holds the vectors of package format v1: V1's top directory is "v1",
// with one directory per vector (package.tar, trust/, expected.json) and
// MATRIX.md.
//
//go:embed v1
var V1 embed.FS

// V2 holds the vectors of the format's additions for issues 7 and 8
// (verification policy v2; anchors), laid out as V1 under "v2".
//
//go:embed v2
var V2 embed.FS
