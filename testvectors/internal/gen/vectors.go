package main

import (
	"archive/tar"
	"crypto/sha512"
	"encoding/hex"
	"strings"
	"time"
)

func ok(name, desc string, s Scenario) vector {
	return vector{Name: name, Expected: Expected{Outcome: "verified", Description: desc}, S: s}
}

func rej(name, class, step, desc string, s Scenario) vector {
	return vector{Name: name, Expected: Expected{Outcome: "rejected", Class: class, Step: step, Description: desc}, S: s}
}

// onRec runs f on the named record (a Setup or Signed hook).
func onRec(name string, f func(b *B, r *rec)) func(*B) {
	return func(b *B) { f(b, b.rec(name)) }
}

// onFiles edits the tar entry list.
func onFiles(f func(b *B) []file) func(*B) {
	return func(b *B) { b.Files = f(b) }
}

func vectors() []vector {
	var vs []vector
	vs = append(vs, ok("valid-baseline", "one run (two datasets, training run, evaluation, run closed), time evidence, keyring v1, export record, package attestation: everything verifies", Scenario{}))
	vs = append(vs, tarVectors()...)
	vs = append(vs, layoutVectors()...)
	vs = append(vs, indexVectors()...)
	vs = append(vs, keyringVectors()...)
	vs = append(vs, packageSignatureVectors()...)
	vs = append(vs, recordVectors()...)
	vs = append(vs, approvalVectors()...)
	vs = append(vs, multiRunVectors()...)
	vs = append(vs, logVectors()...)
	vs = append(vs, timeVectors()...)
	vs = append(vs, exportPolicyVectors()...)
	vs = append(vs, consistencyVectors()...)
	return vs
}

// ---- step 1: tar ----

func tarHdr(name string, f func(*tar.Header)) Scenario {
	return Scenario{Files: onFiles(func(b *B) []file {
		b.Files[fileIndex(b.Files, name)].Hdr = f
		return b.Files
	})}
}

func addFile(f file) Scenario {
	return Scenario{Files: onFiles(func(b *B) []file {
		fs := append(b.Files, f)
		sortFiles(fs)
		return fs
	})}
}

func tarVectors() []vector {
	return []vector{
		rej("tar-path-traversal", "tar", "1", "an extra entry named ../escape.txt (path traversal)", addFile(file{Name: "../escape.txt", Data: []byte("x\n")})),
		rej("tar-absolute-path", "tar", "1", "an extra entry with an absolute name /tmp/escape.txt", addFile(file{Name: "/tmp/escape.txt", Data: []byte("x\n")})),
		rej("tar-symlink", "tar", "1", "README.txt is a symbolic link to its (present, identical) blob instead of a regular file",
			Scenario{Files: onFiles(func(b *B) []file {
				f := &b.Files[fileIndex(b.Files, "README.txt")]
				f.Hdr = func(h *tar.Header) { h.Typeflag, h.Linkname, h.Size = tar.TypeSymlink, blobName(b.Readme), 0 }
				return b.Files
			})}),
		rej("tar-hardlink", "tar", "1", "README.txt is a hard link to its (present, identical) blob instead of a regular file",
			Scenario{Files: onFiles(func(b *B) []file {
				f := &b.Files[fileIndex(b.Files, "README.txt")]
				f.Hdr = func(h *tar.Header) { h.Typeflag, h.Linkname, h.Size = tar.TypeLink, blobName(b.Readme), 0 }
				return b.Files
			})}),
		rej("tar-duplicate-entry", "tar", "1", "one blob entry appears twice with identical content",
			Scenario{Files: onFiles(func(b *B) []file {
				i := fileIndex(b.Files, blobName(b.RunA.Manifest))
				fs := append(append(append([]file{}, b.Files[:i+1]...), b.Files[i]), b.Files[i+1:]...)
				return fs
			})}),
		rej("tar-duplicate-index-json", "tar", "1", "index.json appears twice; the second copy omits a record (which copy a reader takes must not matter: both are rejected)",
			Scenario{Files: onFiles(func(b *B) []file {
				i := fileIndex(b.Files, "index.json")
				ij := b.IndexJSON
				ij.Manifests = ij.Manifests[:len(ij.Manifests)-1]
				fs := append(append(append([]file{}, b.Files[:i+1]...), file{Name: "index.json", Data: cjson(ij)}), b.Files[i+1:]...)
				return fs
			})}),
		rej("tar-unsorted", "tar", "1", "two blob entries are out of byte order",
			Scenario{Files: onFiles(func(b *B) []file {
				b.Files[2], b.Files[3] = b.Files[3], b.Files[2]
				return b.Files
			})}),
		rej("tar-header-mode", "tar", "1", "README.txt has mode 0644 instead of 0444", tarHdr("README.txt", func(h *tar.Header) { h.Mode = 0o644 })),
		rej("tar-header-mtime", "tar", "1", "README.txt has a non-zero modification time", tarHdr("README.txt", func(h *tar.Header) { h.ModTime = time.Unix(1795770000, 0) })),
		rej("tar-header-owner", "tar", "1", "index.json has uid/gid 1000 and uname/gname builder", tarHdr("index.json", func(h *tar.Header) {
			h.Uid, h.Gid, h.Uname, h.Gname = 1000, 1000, "builder", "builder"
		})),
		rej("tar-directory-entry", "tar", "1", "the tar holds directory entries blobs/ and blobs/sha256/",
			Scenario{Files: onFiles(func(b *B) []file {
				dir := func(n string) file {
					return file{Name: n, Hdr: func(h *tar.Header) { h.Typeflag, h.Mode, h.Size = tar.TypeDir, 0o555, 0 }}
				}
				fs := append(b.Files, dir("blobs/"), dir("blobs/sha256/"))
				sortFiles(fs)
				return fs
			})}),
		rej("tar-pax-header", "tar", "1", "README.txt is preceded by a PAX extended header (comment record)", tarHdr("README.txt", func(h *tar.Header) {
			h.Format, h.PAXRecords = tar.FormatPAX, map[string]string{"comment": "added by a repacking tool"}
		})),
		rej("tar-gnu-header", "tar", "1", "index.json has a GNU-format header instead of USTAR", tarHdr("index.json", func(h *tar.Header) { h.Format = tar.FormatGNU })),
		rej("tar-unknown-name", "tar", "1", "an extra regular file NOTES.txt, a name the package format does not allow", addFile(file{Name: "NOTES.txt", Data: []byte("unlisted\n")})),
		rej("tar-trailing-data", "tar", "1", "512 bytes of non-zero data after the end-of-archive blocks",
			Scenario{Raw: func(t []byte) []byte {
				junk := make([]byte, 512)
				for i := range junk {
					junk[i] = 'A'
				}
				return append(t, junk...)
			}}),
		rej("tar-extra-zero-blocks", "tar", "1", "the archive is padded with 8 more zero blocks (GNU tar's 10 KiB record padding); the format allows exactly two",
			Scenario{Raw: func(t []byte) []byte { return append(t, make([]byte, 8*512)...) }}),
		rej("tar-truncated", "tar", "1", "the two end-of-archive zero blocks are missing",
			Scenario{Raw: func(t []byte) []byte { return t[:len(t)-1024] }}),
	}
}

// ---- step 2: layout ----

func layoutVectors() []vector {
	return []vector{
		rej("layout-blob-digest-mismatch", "layout", "2", "the empty-config blob's bytes are [] instead of {} (same size, digest no longer matches its name and descriptors)",
			Scenario{Files: onFiles(func(b *B) []file {
				b.Files[fileIndex(b.Files, blobName([]byte("{}")))].Data = []byte("[]")
				return b.Files
			})}),
		rej("layout-blob-size-mismatch", "layout", "2", "the evaluation record manifest's layer descriptor states a size one larger than the bundle blob",
			Scenario{Setup: onRec("eval", func(b *B, r *rec) { r.ManifestMutate = func(m *manifest) { m.Layers[0].Size++ } })}),
		rej("layout-missing-blob", "layout", "2", "the evaluation record's bundle blob is missing from blobs/",
			Scenario{Files: onFiles(func(b *B) []file {
				i := fileIndex(b.Files, blobName(b.rec("eval").Bundle))
				return append(b.Files[:i:i], b.Files[i+1:]...)
			})}),
		rej("layout-unreferenced-blob", "layout", "2", "blobs/ holds a correctly named blob that no descriptor references",
			addFile(file{Name: blobName([]byte("unreferenced\n")), Data: []byte("unreferenced\n")})),
		rej("layout-wrong-media-type", "layout", "2", "the descriptors of the evaluation record manifest say image index; the blob is an image manifest",
			Scenario{Setup: onRec("eval", func(b *B, r *rec) { r.ManifestMT = indexMT })}),
		rej("layout-manifest-schema-version", "layout", "2", "the evaluation record manifest has schemaVersion 1",
			Scenario{Setup: onRec("eval", func(b *B, r *rec) { r.ManifestMutate = func(m *manifest) { m.SchemaVersion = 1 } })}),
		rej("layout-manifest-duplicate-key", "layout", "2", "the evaluation record manifest has the member schemaVersion twice (manifests are strict JSON)",
			Scenario{Setup: onRec("eval", func(b *B, r *rec) {
				r.ManifestBytes = func(m []byte) []byte {
					return replaceOnce(m, `{"schemaVersion":2,`, `{"schemaVersion":2,"schemaVersion":2,`)
				}
			})}),
		rej("layout-digest-uppercase", "layout", "2", "index.json names the evaluation record manifest with its digest in uppercase hex",
			Scenario{IndexJSON: func(b *B) { setIndexDigest(b, digestOf(b.rec("eval").Manifest), upperHex) }}),
		rej("layout-digest-sha512", "layout", "2", "index.json names the evaluation record manifest by a sha512 digest (only sha256 is allowed)",
			Scenario{IndexJSON: func(b *B) {
				setIndexDigest(b, digestOf(b.rec("eval").Manifest), func(string) string {
					h := sha512.Sum512(b.rec("eval").Manifest)
					return "sha512:" + hex.EncodeToString(h[:])
				})
			}}),
		rej("layout-oci-layout-version", "layout", "2", "oci-layout says imageLayoutVersion 2.0.0",
			Scenario{Files: onFiles(func(b *B) []file {
				b.Files[fileIndex(b.Files, "oci-layout")].Data = []byte(`{"imageLayoutVersion":"2.0.0"}`)
				return b.Files
			})}),
		rej("layout-index-json-missing", "layout", "2", "the tar has no index.json",
			Scenario{Files: onFiles(func(b *B) []file {
				i := fileIndex(b.Files, "index.json")
				return append(b.Files[:i:i], b.Files[i+1:]...)
			})}),
	}
}

// ---- step 3: index and human copies ----

func dropDesc(ds []desc, digest string) []desc {
	var out []desc
	for _, d := range ds {
		if d.Digest != digest {
			out = append(out, d)
		}
	}
	if len(out) == len(ds) {
		fatalf("descriptor %s not found", digest)
	}
	return out
}

func indexVectors() []vector {
	return []vector{
		rej("index-missing-record", "index", "3", "index.json does not list the evaluation record manifest; the package index does (the blob is present)",
			Scenario{IndexJSON: func(b *B) { b.IndexJSON.Manifests = dropDesc(b.IndexJSON.Manifests, digestOf(b.rec("eval").Manifest)) }}),
		rej("index-extra-record", "index", "3", "index.json lists the evaluation record manifest; the signed package index does not",
			Scenario{OCI: func(b *B) { b.PkgIndex.Manifests = dropDesc(b.PkgIndex.Manifests, digestOf(b.rec("eval").Manifest)) }}),
		rej("index-attestation-oci-subject", "index", "3", "the package attestation manifest's OCI subject is the metadata manifest, not the package index (its statement still names the package index)",
			Scenario{AttestSpec: func(b *B) { d := b.MetaD; b.Attest.OCISubject = &d }}),
		rej("index-no-package-ref", "index", "3", "index.json has no entry with ref name dossier-package",
			Scenario{IndexJSON: func(b *B) { b.IndexJSON.Manifests[0].Annotations = nil }}),
		rej("human-copy-readme-edited", "human-copy", "3", "the top-level README.txt differs from the README.txt blob the package attestation covers (one line edited)",
			Scenario{Files: onFiles(func(b *B) []file {
				f := &b.Files[fileIndex(b.Files, "README.txt")]
				f.Data = replaceOnce(f.Data, "must come from the data owner out of band", "is printed in REPORT.html; use that one    ")
				return b.Files
			})}),
		rej("human-copy-report-edited", "human-copy", "3", "the top-level REPORT.html differs from its blob (a status cell edited)",
			Scenario{Files: onFiles(func(b *B) []file {
				f := &b.Files[fileIndex(b.Files, "REPORT.html")]
				f.Data = replaceOnce(f.Data, "verdict is the verifier's", "verdict is: all approved")
				return b.Files
			})}),
	}
}

func upperHex(d string) string { return "sha256:" + strings.ToUpper(d[len("sha256:"):]) }

// setIndexDigest rewrites one descriptor's digest in index.json.
func setIndexDigest(b *B, digest string, f func(string) string) {
	for i := range b.IndexJSON.Manifests {
		if b.IndexJSON.Manifests[i].Digest == digest {
			b.IndexJSON.Manifests[i].Digest = f(digest)
			return
		}
	}
	fatalf("no index.json descriptor %s", digest)
}
