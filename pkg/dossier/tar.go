package dossier

import (
	"archive/tar"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"slices"
	"time"
)

// Tar limits (spec/package.md §3).
const (
	MaxEntrySize  = 1 << 30
	MaxTotalSize  = 8 << 30
	MaxEntryCount = 1_000_000
)

// tarEntry is one regular file of the package.
type tarEntry struct {
	name string
	data []byte
}

// files returns the package's entries: the human copies, every blob,
// index.json and oci-layout.
func files(bs blobs, indexJSON, readme, report []byte) []tarEntry {
	es := []tarEntry{{"README.txt", readme}, {"REPORT.html", report}, {"index.json", indexJSON}, {"oci-layout", []byte(OCILayout)}}
	for d, b := range bs {
		es = append(es, tarEntry{"blobs/sha256/" + d.Encoded(), b})
	}
	slices.SortFunc(es, func(a, b tarEntry) int { return cmp.Compare(a.name, b.name) })
	return es
}

// writeTar writes the canonical tar (spec/package.md §3) of es, which
// must be sorted, and returns the digest of the bytes written.
func writeTar(w io.Writer, es []tarEntry) (string, int64, error) {
	if len(es) > MaxEntryCount {
		return "", 0, fmt.Errorf("%w: %d entries, limit %d", ErrRequest, len(es), MaxEntryCount)
	}
	h := sha256.New()
	cw := &countWriter{w: io.MultiWriter(w, h)}
	tw := tar.NewWriter(cw)
	var total int64
	for i, e := range es {
		if i > 0 && es[i-1].name >= e.name {
			return "", 0, fmt.Errorf("%w: tar entries not sorted and unique at %q", ErrRequest, e.name)
		}
		total += int64(len(e.data))
		if len(e.data) > MaxEntrySize || total > MaxTotalSize {
			return "", 0, fmt.Errorf("%w: %s makes the package too large (%d bytes)", ErrRequest, e.name, total)
		}
		if err := tw.WriteHeader(header(e)); err != nil {
			return "", 0, err
		}
		if _, err := tw.Write(e.data); err != nil {
			return "", 0, err
		}
	}
	if err := tw.Close(); err != nil {
		return "", 0, err
	}
	return digestOf(h), cw.n, nil
}

// header is the canonical header: regular file, mode 0444, owner 0:0
// without names, mtime 0, USTAR.
func header(e tarEntry) *tar.Header {
	return &tar.Header{Typeflag: tar.TypeReg, Name: e.name, Size: int64(len(e.data)), Mode: 0o444,
		ModTime: time.Unix(0, 0), Format: tar.FormatUSTAR}
}

func digestOf(h hash.Hash) string { return "sha256:" + hex.EncodeToString(h.Sum(nil)) }

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
