package oci_test

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/dossier-audit/dossier/pkg/oci"
	"github.com/dossier-audit/dossier/pkg/oci/ocitest"
)

func TestTarRoundTripIsDeterministic(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rc := packed(t, ocitest.Root(t), 4)
	var tars [2]bytes.Buffer
	for i := range tars {
		dir := t.TempDir()
		s, _ := oci.OpenLayout(dir)
		if err := oci.WriteRun(ctx, s, rc); err != nil {
			t.Fatal(err)
		}
		if err := oci.WriteTar(dir, &tars[i]); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(tars[0].Bytes(), tars[1].Bytes()) {
		t.Fatal("the same run gave two different tars")
	}
	dir := filepath.Join(t.TempDir(), "x")
	if err := oci.ExtractTar(bytes.NewReader(tars[0].Bytes()), dir); err != nil {
		t.Fatal(err)
	}
	s, _ := oci.OpenLayout(dir)
	got, problems, err := oci.ReadRun(ctx, s, ocitest.RunID)
	if err != nil || len(problems) > 0 || len(got.Records) != len(rc.Records) || len(got.Attachments) != 1 {
		t.Fatalf("ReadRun after tar: %v %v", err, problems)
	}
}

type entry struct {
	h    tar.Header
	body string
}

func tarOf(t *testing.T, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := e.h
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(e.body))
		}
		h.Mode = 0o444
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(e.body))
	}
	tw.Close()
	return buf.Bytes()
}

func TestExtractTarRefuses(t *testing.T) {
	t.Parallel()
	const hello = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824" // sha256("hello")
	reg := func(name, body string) entry { return entry{tar.Header{Typeflag: tar.TypeReg, Name: name}, body} }
	tests := []struct {
		name string
		tar  []byte
		want error
	}{
		{"symlink", tarOf(t, entry{tar.Header{Typeflag: tar.TypeSymlink, Name: "index.json", Linkname: "/etc/passwd"}, ""}), oci.ErrUnsafeTar},
		{"hard link", tarOf(t, entry{tar.Header{Typeflag: tar.TypeLink, Name: "blobs/sha256/" + hello, Linkname: "oci-layout"}, ""}), oci.ErrUnsafeTar},
		{"parent path", tarOf(t, reg("blobs/../../evil", "x")), oci.ErrUnsafeTar},
		{"absolute path", tarOf(t, reg("/index.json", "{}")), oci.ErrUnsafeTar},
		{"dot path", tarOf(t, reg("./index.json", "{}")), oci.ErrUnsafeTar},
		{"duplicate", tarOf(t, reg("index.json", "{}"), reg("index.json", "{}")), oci.ErrUnsafeTar},
		{"not layout", tarOf(t, reg("ingest/x", "x")), oci.ErrUnsafeTar},
		{"other directory", tarOf(t, entry{tar.Header{Typeflag: tar.TypeDir, Name: "etc/"}, ""}), oci.ErrUnsafeTar},
		{"blob digest", tarOf(t, reg("blobs/sha256/"+hello, "hellO")), oci.ErrDigestMismatch},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := oci.ExtractTar(bytes.NewReader(tc.tar), t.TempDir())
			if !errors.Is(err, tc.want) {
				t.Fatalf("ExtractTar = %v, want %v", err, tc.want)
			}
		})
	}
	ok := tarOf(t, entry{tar.Header{Typeflag: tar.TypeDir, Name: "blobs/"}, ""}, reg("blobs/sha256/"+hello, "hello"))
	if err := oci.ExtractTar(bytes.NewReader(ok), t.TempDir()); err != nil {
		t.Fatalf("a valid tar: %v", err)
	}
}
