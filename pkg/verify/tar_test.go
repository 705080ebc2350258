package verify

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"testing"
	"time"
)

type tarFile struct {
	hdr  *tar.Header
	data []byte
}

// tarFiles reads a tar built by the test builder.
func tarFiles(t testing.TB, b []byte) []tarFile {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(b))
	var out []tarFile
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		d, _ := io.ReadAll(tr)
		out = append(out, tarFile{h, d})
	}
}

func rewriteTar(t testing.TB, fs []tarFile) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range fs {
		if err := tw.WriteHeader(f.hdr); err != nil {
			t.Fatal(err)
		}
		tw.Write(f.data)
	}
	tw.Close()
	return buf.Bytes()
}

func TestTarHygiene(t *testing.T) {
	t.Parallel()
	valid := buildPackage(t, spec{Runs: 1, RecordsPerRun: 1})
	edit := func(f func([]tarFile) []tarFile) []byte {
		return rewriteTar(t, f(tarFiles(t, valid.Tar)))
	}
	hdr := func(h tar.Header) []tarFile {
		return []tarFile{{hdr: &h}}
	}
	base := tar.Header{Typeflag: tar.TypeReg, Mode: 0o444, ModTime: time.Unix(0, 0), Format: tar.FormatUSTAR}
	with := func(mod func(*tar.Header)) tar.Header { h := base; mod(&h); return h }
	insert := func(fs []tarFile, extra []tarFile) []tarFile { return append(extra, fs...) }
	for _, tc := range []struct {
		name string
		tar  []byte
	}{
		{"symlink", edit(func(fs []tarFile) []tarFile {
			return insert(fs, hdr(with(func(h *tar.Header) { h.Name, h.Typeflag, h.Linkname = "README.txt", tar.TypeSymlink, "/etc/passwd" })))
		})},
		{"hardlink", edit(func(fs []tarFile) []tarFile {
			return insert(fs, hdr(with(func(h *tar.Header) { h.Name, h.Typeflag, h.Linkname = "README.txt", tar.TypeLink, "index.json" })))
		})},
		{"directory", edit(func(fs []tarFile) []tarFile {
			return insert(fs, hdr(with(func(h *tar.Header) { h.Name, h.Typeflag = "blobs/", tar.TypeDir })))
		})},
		{"device", edit(func(fs []tarFile) []tarFile {
			return insert(fs, hdr(with(func(h *tar.Header) { h.Name, h.Typeflag = "README.txt", tar.TypeChar })))
		})},
		{"pax header", edit(func(fs []tarFile) []tarFile {
			fs[0].hdr.Format = tar.FormatPAX
			fs[0].hdr.PAXRecords = map[string]string{"comment": "x"}
			return fs
		})},
		{"gnu format", edit(func(fs []tarFile) []tarFile { fs[0].hdr.Format = tar.FormatGNU; return fs })},
		{"traversal", edit(func(fs []tarFile) []tarFile { fs[0].hdr.Name = "../README.txt"; return fs })},
		{"absolute", edit(func(fs []tarFile) []tarFile { fs[0].hdr.Name = "/README.txt"; return fs })},
		{"backslash", edit(func(fs []tarFile) []tarFile { fs[0].hdr.Name = "blobs\\x"; return fs })},
		{"unknown name", edit(func(fs []tarFile) []tarFile {
			return append(fs, tarFile{hdr: ptr(with(func(h *tar.Header) { h.Name = "zzz" }))})
		})},
		{"duplicate", edit(func(fs []tarFile) []tarFile { return append(fs[:1], fs...) })},
		{"unsorted", edit(func(fs []tarFile) []tarFile { fs[0], fs[1] = fs[1], fs[0]; return fs })},
		{"mode", edit(func(fs []tarFile) []tarFile { fs[0].hdr.Mode = 0o644; return fs })},
		{"uid", edit(func(fs []tarFile) []tarFile { fs[0].hdr.Uid = 1000; return fs })},
		{"uname", edit(func(fs []tarFile) []tarFile { fs[0].hdr.Uname = "root"; return fs })},
		{"mtime", edit(func(fs []tarFile) []tarFile { fs[0].hdr.ModTime = time.Unix(1700000000, 0); return fs })},
		{"trailing garbage", append(append([]byte(nil), valid.Tar...), make([]byte, 512)...)},
		{"truncated", valid.Tar[:len(valid.Tar)-1024]},
		{"odd size", valid.Tar[:len(valid.Tar)-1]},
		{"nonzero padding", func() []byte {
			b := append([]byte(nil), valid.Tar...)
			b[512+len("README\n")] = 'x' // README.txt data is 7 bytes, then padding
			return b
		}()},
		{"empty", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res := VerifyPackage(bytes.NewReader(tc.tar), int64(len(tc.tar)), PackageOptions{RootFingerprint: valid.Fingerprint})
			if res.Outcome != Rejected || len(res.Failures) == 0 || res.Failures[0].Class != FailTar || res.Failures[0].Step != "1" {
				t.Fatalf("outcome %s, failures %+v; want a tar rejection", res.Outcome, res.Failures)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestReadTarErrors(t *testing.T) {
	t.Parallel()
	valid := buildPackage(t, spec{Runs: 1, RecordsPerRun: 1})
	b := append([]byte(nil), valid.Tar...)
	b[0] = '.' // ".EADME.txt"
	_, err := readTar(bytes.NewReader(b), int64(len(b)))
	var te *TarError
	if !errors.As(err, &te) || !errors.Is(err, ErrTar) || te.Name != ".EADME.txt" {
		t.Fatalf("got %v, want a *TarError naming the entry", err)
	}
}

// failingReader fails every read: an I/O error is inconclusive.
type failingReader struct{}

func (failingReader) ReadAt([]byte, int64) (int, error) { return 0, errors.New("disk on fire") }

func TestVerifyPackageIOError(t *testing.T) {
	t.Parallel()
	res := VerifyPackage(failingReader{}, 4096, PackageOptions{RootFingerprint: "SHA256:" + string(bytes.Repeat([]byte("a"), 64))})
	if res.Outcome != Inconclusive || len(res.Failures) != 1 || res.Failures[0].Class != FailIO {
		t.Fatalf("outcome %s, failures %+v", res.Outcome, res.Failures)
	}
}
