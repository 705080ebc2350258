package verify

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Tar limits of spec/package.md §3.
const (
	MaxEntrySize   = 1 << 30
	MaxPackageSize = 8 << 30
	MaxEntries     = 1_000_000
)

const blockSize = 512

// ErrTar is wrapped by every tar hygiene rejection (class tar).
var ErrTar = errors.New("non-canonical package tar")

// TarError is a tar hygiene rejection: the entry (or offset) and what is
// wrong with it.
type TarError struct {
	Offset int64
	Name   string
	Reason string
}

func (e *TarError) Error() string {
	if e.Name == "" {
		return fmt.Sprintf("%v: at offset %d: %s", ErrTar, e.Offset, e.Reason)
	}
	return fmt.Sprintf("%v: entry %q at offset %d: %s", ErrTar, e.Name, e.Offset, e.Reason)
}

// Unwrap returns ErrTar.
func (e *TarError) Unwrap() error { return ErrTar }

// ioError marks a read failure of the package file: the result is
// inconclusive, not a rejection.
type ioError struct{ err error }

func (e *ioError) Error() string { return "reading package: " + e.err.Error() }
func (e *ioError) Unwrap() error { return e.err }

// entry is one file of the package tar: where its data is.
type entry struct {
	Name   string
	Offset int64
	Size   int64
	// Digest is "sha256:<hex>" of the data, computed while reading.
	Digest string
}

// tarIndex is the table of contents of a canonical package tar.
type tarIndex struct {
	entries []entry
	byName  map[string]int
}

// readTar implements spec/package.md §4 step 1:
//
//	> `tar` — canonical tar (§3); read, never extract.
//
// and §3: "only regular files (typeflag `0`), no directory entries, no
// links, no PAX or GNU extension headers; entries sorted by name in
// ascending byte order, each name at most once; every header: mode `0444`,
// uid 0, gid 0, uname and gname empty, mtime 0, devmajor/devminor 0, empty
// linkname; names: `README.txt`, `REPORT.html`, `blobs/sha256/<64 lowercase
// hex>`, `index.json`, `oci-layout` — nothing else; the file ends with the
// two zero blocks `archive/tar` writes, nothing after; limits: 1 GiB per
// entry, 8 GiB total, 10^6 entries."
//
// Each header block must equal, byte for byte, the header archive/tar
// writes in USTAR format for that name and size; that one comparison
// rejects every other format, type, mode, owner, time and encoding. Data
// is hashed while read and never held. It returns a *TarError or an
// *ioError.
func readTar(r io.ReaderAt, size int64) (*tarIndex, error) {
	if size > MaxPackageSize {
		return nil, &TarError{Reason: fmt.Sprintf("package is %d bytes, limit %d", size, int64(MaxPackageSize))}
	}
	if size%blockSize != 0 {
		return nil, &TarError{Offset: size, Reason: fmt.Sprintf("size %d is not a multiple of %d", size, blockSize)}
	}
	r = &window{r: r, buf: make([]byte, 1<<20)}
	idx := &tarIndex{byName: map[string]int{}}
	hdr := make([]byte, blockSize)
	buf := make([]byte, 256<<10)
	var off int64
	for {
		if err := readFull(r, hdr, off, size); err != nil {
			return nil, err
		}
		if isZero(hdr) {
			return idx, checkEnd(r, off, size)
		}
		e, err := parseHeader(hdr, off)
		if err != nil {
			return nil, err
		}
		if err := idx.add(e); err != nil {
			return nil, err
		}
		e.Offset = off + blockSize
		if e.Digest, err = hashData(r, e, size, buf); err != nil {
			return nil, err
		}
		idx.entries[len(idx.entries)-1] = *e
		off = e.Offset + padded(e.Size)
	}
}

// add appends e after checking order, uniqueness and the entry limit.
func (t *tarIndex) add(e *entry) error {
	if len(t.entries) >= MaxEntries {
		return &TarError{Name: e.Name, Reason: fmt.Sprintf("more than %d entries", MaxEntries)}
	}
	if _, dup := t.byName[e.Name]; dup {
		return &TarError{Name: e.Name, Reason: "duplicate entry"}
	}
	if n := len(t.entries); n > 0 && t.entries[n-1].Name >= e.Name {
		return &TarError{Name: e.Name, Reason: fmt.Sprintf("entries not sorted: %q follows %q", e.Name, t.entries[n-1].Name)}
	}
	t.byName[e.Name] = len(t.entries)
	t.entries = append(t.entries, *e)
	return nil
}

// parseHeader checks one header block and returns its entry.
func parseHeader(hdr []byte, off int64) (*entry, error) {
	name := cstring(hdr[0:100])
	if err := checkTypeflag(hdr[156], name, off); err != nil {
		return nil, err
	}
	if err := checkName(name); err != nil {
		return nil, &TarError{Offset: off, Name: name, Reason: err.Error()}
	}
	size, err := strconv.ParseInt(strings.TrimRight(string(hdr[124:136]), "\x00 "), 8, 64)
	if err != nil || size < 0 {
		return nil, &TarError{Offset: off, Name: name, Reason: fmt.Sprintf("size field %q is not canonical octal", hdr[124:136])}
	}
	if size > MaxEntrySize {
		return nil, &TarError{Offset: off, Name: name, Reason: fmt.Sprintf("entry is %d bytes, limit %d", size, MaxEntrySize)}
	}
	want, err := canonicalHeader(name, size)
	if err != nil {
		return nil, &TarError{Offset: off, Name: name, Reason: err.Error()}
	}
	if i := firstDiff(hdr, want); i >= 0 {
		return nil, &TarError{Offset: off, Name: name, Reason: fmt.Sprintf("header differs from the canonical USTAR header at byte %d (%s)", i, headerField(i))}
	}
	return &entry{Name: name, Size: size}, nil
}

// checkTypeflag names the forbidden entry types in the error.
func checkTypeflag(t byte, name string, off int64) error {
	var what string
	switch t {
	case tar.TypeReg:
		return nil
	case tar.TypeLink, tar.TypeSymlink:
		what = "link"
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		what = "device or fifo"
	case tar.TypeDir:
		what = "directory entry"
	case tar.TypeXHeader, tar.TypeXGlobalHeader:
		what = "PAX extension header"
	case tar.TypeGNULongName, tar.TypeGNULongLink, tar.TypeGNUSparse:
		what = "GNU extension header"
	default:
		what = fmt.Sprintf("typeflag %q", t)
	}
	return &TarError{Offset: off, Name: name, Reason: what + " (only regular files are allowed)"}
}

// checkName accepts exactly the names of §3 and explains the others.
func checkName(n string) error {
	switch {
	case strings.ContainsAny(n, "\\\x00"):
		return errors.New("backslash or NUL in name")
	case strings.HasPrefix(n, "/"):
		return errors.New("absolute name")
	case n == ".." || strings.HasPrefix(n, "../") || strings.Contains(n, "/../") || strings.HasSuffix(n, "/.."):
		return errors.New("path traversal")
	case n == "README.txt", n == "REPORT.html", n == "index.json", n == "oci-layout":
		return nil
	case strings.HasPrefix(n, "blobs/sha256/") && isHex64(n[len("blobs/sha256/"):]):
		return nil
	}
	return errors.New("name not allowed in a package")
}

func isHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// canonicalHeader is the header block archive/tar writes for name and size.
func canonicalHeader(name string, size int64) ([]byte, error) {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	err := tw.WriteHeader(canonicalTarHeader(name, size))
	if err != nil || b.Len() != blockSize {
		return nil, fmt.Errorf("no canonical USTAR header for this name and size: %v", err)
	}
	return b.Bytes(), nil
}

// canonicalTarHeader is the header of spec/package.md §3 for name and size.
func canonicalTarHeader(name string, size int64) *tar.Header {
	return &tar.Header{Typeflag: tar.TypeReg, Name: name, Size: size, Mode: 0o444, ModTime: time.Unix(0, 0), Format: tar.FormatUSTAR}
}

// headerField names the USTAR field at byte i of a header block.
func headerField(i int) string {
	fields := []struct {
		end  int
		name string
	}{{100, "name"}, {108, "mode"}, {116, "uid"}, {124, "gid"}, {136, "size"}, {148, "mtime"}, {156, "checksum"},
		{157, "typeflag"}, {257, "linkname"}, {263, "magic"}, {265, "version"}, {297, "uname"}, {329, "gname"},
		{337, "devmajor"}, {345, "devminor"}, {500, "prefix"}}
	for _, f := range fields {
		if i < f.end {
			return f.name
		}
	}
	return "padding"
}

// hashData hashes e's data and checks its zero padding.
func hashData(r io.ReaderAt, e *entry, size int64, buf []byte) (string, error) {
	end := e.Offset + padded(e.Size)
	if end > size || end < e.Offset {
		return "", &TarError{Offset: e.Offset, Name: e.Name, Reason: "truncated entry data"}
	}
	h := sha256.New()
	if _, err := io.CopyBuffer(h, io.NewSectionReader(r, e.Offset, e.Size), buf); err != nil {
		return "", &ioError{err}
	}
	pad := make([]byte, padded(e.Size)-e.Size)
	if err := readFull(r, pad, e.Offset+e.Size, size); err != nil {
		return "", err
	}
	if !isZero(pad) {
		return "", &TarError{Offset: e.Offset + e.Size, Name: e.Name, Reason: "non-zero padding after entry data"}
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// checkEnd requires exactly two zero blocks at off and nothing after.
func checkEnd(r io.ReaderAt, off, size int64) error {
	if off+2*blockSize != size {
		return &TarError{Offset: off, Reason: fmt.Sprintf("archive must end with exactly two zero blocks at offset %d, file is %d bytes", off, size)}
	}
	b := make([]byte, blockSize)
	if err := readFull(r, b, off+blockSize, size); err != nil {
		return err
	}
	if !isZero(b) {
		return &TarError{Offset: off + blockSize, Reason: "second end-of-archive block is not zero"}
	}
	return nil
}

// readFull reads len(b) bytes at off; past size it is a truncated tar.
func readFull(r io.ReaderAt, b []byte, off, size int64) error {
	if off+int64(len(b)) > size {
		return &TarError{Offset: off, Reason: "truncated archive (missing end-of-archive blocks)"}
	}
	n, err := r.ReadAt(b, off)
	if n == len(b) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		return &TarError{Offset: off, Reason: "truncated archive"}
	}
	return &ioError{err}
}

func padded(n int64) int64 { return (n + blockSize - 1) / blockSize * blockSize }

func isZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func cstring(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return string(b[:i])
	}
	return string(b)
}

func firstDiff(a, b []byte) int {
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return -1
}

// readEntry returns the data of a small entry, re-read from r and
// re-hashed, so content cannot change between the hygiene pass and use.
func (t *tarIndex) readEntry(r io.ReaderAt, name string, limit int64) ([]byte, error) {
	i, ok := t.byName[name]
	if !ok {
		return nil, fmt.Errorf("no entry %q", name)
	}
	e := t.entries[i]
	if e.Size > limit {
		return nil, fmt.Errorf("entry %q is %d bytes, limit %d", name, e.Size, limit)
	}
	b := make([]byte, e.Size)
	if n, err := r.ReadAt(b, e.Offset); n != len(b) {
		return nil, &ioError{fmt.Errorf("entry %q: %w", name, err)}
	}
	if d := sha256.Sum256(b); "sha256:"+hex.EncodeToString(d[:]) != e.Digest {
		return nil, &ioError{fmt.Errorf("entry %q changed while being verified", name)}
	}
	return b, nil
}

// window serves the tar pass's small sequential reads (headers, blobs,
// padding) from one 1 MiB read of r, so a package of 10^5 entries costs a
// few hundred reads, not three per entry.
type window struct {
	r     io.ReaderAt
	buf   []byte
	start int64
	n     int
}

// ReadAt implements io.ReaderAt.
func (w *window) ReadAt(p []byte, off int64) (int, error) {
	if off >= w.start && off+int64(len(p)) <= w.start+int64(w.n) {
		return copy(p, w.buf[off-w.start:]), nil
	}
	if len(p) >= len(w.buf) {
		return w.r.ReadAt(p, off)
	}
	n, err := w.r.ReadAt(w.buf, off)
	w.start, w.n = off, n
	if n >= len(p) {
		return copy(p, w.buf[:n]), nil
	}
	copy(p, w.buf[:n])
	if err == nil {
		err = io.EOF
	}
	return n, err
}
