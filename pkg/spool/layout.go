package spool

import (
	"archive/tar"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/dossier-audit/dossier/pkg/oci"
	"github.com/dossier-audit/dossier/pkg/run"
)

// tarLayout is the content of a spool tar: index.json and every blob. Pack
// writes it and Read rebuilds it from the document to compare byte for byte.
type tarLayout struct {
	index []byte
	blobs map[digest.Digest][]byte
}

// ociLayoutFile is the oci-layout file.
const ociLayoutFile = `{"imageLayoutVersion":"1.0.0"}`

// buildLayout lays out the signed document envelope, the run roots (in
// document order) and the records (in spool order).
func buildLayout(doc *Document, envelope []byte, roots []*run.Root, recs []*oci.Record) (*tarLayout, error) {
	l := &tarLayout{blobs: map[digest.Digest][]byte{}}
	spool, err := spoolManifest(doc, envelope)
	if err != nil {
		return nil, err
	}
	idx := ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageIndex}
	idx.Manifests = append(idx.Manifests, l.add(spool))
	for _, r := range roots {
		a := oci.NewRunContent(r).Artifact
		d := l.add(&a)
		d.Annotations = map[string]string{ocispec.AnnotationRefName: r.Tag()}
		idx.Manifests = append(idx.Manifests, d)
	}
	for _, r := range recs {
		idx.Manifests = append(idx.Manifests, l.add(&r.Artifact))
	}
	if l.index, err = json.Marshal(idx); err != nil {
		return nil, err
	}
	return l, nil
}

// add stores an artifact's manifest and blobs and returns its index entry.
func (l *tarLayout) add(a *oci.Artifact) ocispec.Descriptor {
	l.blobs[a.Descriptor.Digest] = a.Manifest
	for _, b := range a.Blobs {
		l.blobs[b.Descriptor.Digest] = b.Data
	}
	return a.Descriptor
}

func spoolManifest(doc *Document, envelope []byte) (*oci.Artifact, error) {
	layer := oci.Blob{Descriptor: ocispec.Descriptor{MediaType: EnvelopeMediaType, Digest: digest.FromBytes(envelope), Size: int64(len(envelope))}, Data: envelope}
	ann := map[string]string{AnnotationSpoolID: doc.SpoolID, ocispec.AnnotationCreated: doc.PackedAt, ocispec.AnnotationRefName: "spool"}
	m := ocispec.Manifest{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest,
		ArtifactType: ArtifactType, Config: oci.EmptyConfig.Descriptor, Layers: []ocispec.Descriptor{layer.Descriptor}, Annotations: ann}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	return &oci.Artifact{
		Descriptor: ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, ArtifactType: ArtifactType,
			Digest: digest.FromBytes(b), Size: int64(len(b)), Annotations: ann},
		Manifest: b,
		Blobs:    []oci.Blob{oci.EmptyConfig, layer},
	}, nil
}

// write writes the canonical tar: oci-layout, index.json, then the blobs
// sorted by name; regular files, mode 0444, uid/gid 0, mtime 0 (as
// oci.WriteTar does for packages).
func (l *tarLayout) write(w io.Writer) error {
	tw := tar.NewWriter(w)
	if err := tarFile(tw, "oci-layout", []byte(ociLayoutFile)); err != nil {
		return err
	}
	if err := tarFile(tw, "index.json", l.index); err != nil {
		return err
	}
	for _, d := range l.sorted() {
		if err := tarFile(tw, "blobs/sha256/"+d.Encoded(), l.blobs[d]); err != nil {
			return err
		}
	}
	return tw.Close()
}

func (l *tarLayout) sorted() []digest.Digest {
	ds := make([]digest.Digest, 0, len(l.blobs))
	for d := range l.blobs {
		ds = append(ds, d)
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds
}

func tarFile(tw *tar.Writer, name string, data []byte) error {
	h := &tar.Header{Typeflag: tar.TypeReg, Name: name, Size: int64(len(data)), Mode: 0o444,
		ModTime: time.Unix(0, 0), Format: tar.FormatPAX}
	if err := tw.WriteHeader(h); err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	_, err := tw.Write(data)
	return err
}
