package oci

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"time"
)

// ErrUnsafeTar: a tar entry is a link, a duplicate, escapes the layout or
// is not part of an OCI image layout.
var ErrUnsafeTar = errors.New("refusing tar entry")

// MaxTarEntry bounds one tar entry.
const MaxTarEntry = 1 << 36

var blobName = regexp.MustCompile(`^blobs/sha256/[a-f0-9]{64}$`)

// WriteTar writes the OCI layout in dir as a deterministic, uncompressed
// tar: oci-layout, index.json, then blobs/sha256/* sorted, regular files
// only, mode 0444, uid/gid 0, mtime 0. The ingest/ directory is left out.
func WriteTar(dir string, w io.Writer) error {
	names := []string{"oci-layout", "index.json"}
	entries, err := os.ReadDir(filepath.Join(dir, "blobs", "sha256"))
	if err != nil {
		return err
	}
	var blobs []string
	for _, e := range entries {
		if name := "blobs/sha256/" + e.Name(); blobName.MatchString(name) && e.Type().IsRegular() {
			blobs = append(blobs, name)
		}
	}
	sort.Strings(blobs)
	tw := tar.NewWriter(w)
	for _, n := range append(names, blobs...) {
		if err := addFile(tw, dir, n); err != nil {
			return err
		}
	}
	return tw.Close()
}

func addFile(tw *tar.Writer, dir, name string) error {
	f, err := os.Open(filepath.Join(dir, filepath.FromSlash(name)))
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	h := &tar.Header{Typeflag: tar.TypeReg, Name: name, Size: fi.Size(), Mode: 0o444,
		ModTime: time.Unix(0, 0), Format: tar.FormatPAX}
	if err := tw.WriteHeader(h); err != nil {
		return err
	}
	_, err = io.Copy(tw, f)
	return err
}

// ExtractTar unpacks an uncompressed tar of an OCI layout into dir (which
// must be empty or absent). It accepts only oci-layout, index.json,
// blobs/ directories and blobs/sha256/<hex> regular files whose content
// hashes to their name; it refuses links, devices, absolute or escaping
// paths and duplicate entries.
func ExtractTar(r io.Reader, dir string) error {
	if err := os.MkdirAll(filepath.Join(dir, "blobs", "sha256"), 0o755); err != nil {
		return err
	}
	tr := tar.NewReader(r)
	seen := map[string]bool{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading tar: %w", err)
		}
		name, err := checkEntry(h, seen)
		if err != nil || name == "" {
			return err
		}
		if h.Typeflag == tar.TypeDir {
			continue
		}
		if err := extractFile(tr, h, filepath.Join(dir, filepath.FromSlash(name))); err != nil {
			return err
		}
	}
}

func checkEntry(h *tar.Header, seen map[string]bool) (string, error) {
	name := h.Name
	if h.Typeflag == tar.TypeDir {
		name = path.Clean(name)
		if name != "blobs" && name != "blobs/sha256" {
			return "", fmt.Errorf("%w: directory %q", ErrUnsafeTar, h.Name)
		}
	} else if h.Typeflag != tar.TypeReg {
		return "", fmt.Errorf("%w: %q is not a regular file (type %q)", ErrUnsafeTar, h.Name, h.Typeflag)
	}
	if path.IsAbs(h.Name) || path.Clean(h.Name) != name && h.Typeflag != tar.TypeDir {
		return "", fmt.Errorf("%w: path %q", ErrUnsafeTar, h.Name)
	}
	if h.Typeflag == tar.TypeReg && name != "oci-layout" && name != "index.json" && !blobName.MatchString(name) {
		return "", fmt.Errorf("%w: %q is not part of an OCI image layout", ErrUnsafeTar, h.Name)
	}
	if seen[name] {
		return "", fmt.Errorf("%w: duplicate entry %q", ErrUnsafeTar, h.Name)
	}
	seen[name] = true
	if h.Size < 0 || h.Size > MaxTarEntry {
		return "", fmt.Errorf("%w: %q has size %d", ErrUnsafeTar, h.Name, h.Size)
	}
	return name, nil
}

func extractFile(r io.Reader, h *tar.Header, dst string) error {
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o444)
	if err != nil {
		return fmt.Errorf("extracting %s: %w", h.Name, err)
	}
	sum := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, sum), io.LimitReader(r, h.Size))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("extracting %s: %w", h.Name, err)
	}
	if n != h.Size {
		return fmt.Errorf("extracting %s: %w", h.Name, io.ErrUnexpectedEOF)
	}
	if blobName.MatchString(h.Name) && hex.EncodeToString(sum.Sum(nil)) != path.Base(h.Name) {
		return fmt.Errorf("%w: tar entry %s holds sha256:%x", ErrDigestMismatch, h.Name, sum.Sum(nil))
	}
	return nil
}
