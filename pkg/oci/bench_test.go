package oci_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content/memory"
	orasoci "oras.land/oras-go/v2/content/oci"
	"oras.land/oras-go/v2/errdef"
	oremote "oras.land/oras-go/v2/registry/remote"

	"github.com/dossier-audit/dossier/internal/atomicfile"
	"github.com/dossier-audit/dossier/pkg/oci"
	"github.com/dossier-audit/dossier/pkg/oci/ocitest"
	"github.com/dossier-audit/dossier/pkg/oci/remote"
	"github.com/dossier-audit/dossier/pkg/run"
)

// benchRuns x benchPerRun records: 10,000 records in 10 runs (a tag schema
// index of one run must stay under the registry's 4 MiB manifest limit).
const benchRuns, benchPerRun = 10, 1000

var (
	benchOnce    sync.Once
	benchContent []*oci.RunContent
)

// benchFixture signs 10,000 records once per process.
func benchFixture(b *testing.B) []*oci.RunContent {
	benchOnce.Do(func() {
		s := ocitest.Signer(b)
		for i := range benchRuns {
			root, err := run.New(run.Registration{RunID: ocitest.RunID, Project: "bench", Model: "acme/m",
				StartedBy: run.Identity{ID: "workload:bench", Kind: "workload"}, StartedAt: fmt.Sprintf("2026-11-27T20:%02d:00Z", i)})
			if err != nil {
				b.Fatal(err)
			}
			bs := ocitest.Records(b, s, root, benchPerRun, "dataset", "evaluation")
			rc, _, err := oci.PackRun(root, bs, nil, seqByPosition(root, bs))
			if err != nil {
				b.Fatal(err)
			}
			benchContent = append(benchContent, rc)
		}
	})
	return benchContent
}

func seqByPosition(root *run.Root, bs [][]byte) oci.Sequencer {
	seq := map[string]uint64{}
	for i, b := range bs {
		seq[digest.FromBytes(b).String()] = uint64(i)
	}
	return func(d string) (string, uint64, bool) { s, ok := seq[d]; return root.Digest(), s, ok }
}

// memoryCopy loads a run's blobs and manifests into an oras memory store
// under a synthetic index listing every record, the root oras.CopyGraph
// copies from (no packing, no referrers index, no read-back).
func memoryCopy(b *testing.B, rc *oci.RunContent) (*memory.Store, ocispec.Descriptor) {
	ctx := context.Background()
	m := memory.New()
	push := func(d ocispec.Descriptor, data []byte) {
		if err := m.Push(ctx, oci.Plain(d), bytesReader(data)); err != nil && !isExists(err) {
			b.Fatal(err)
		}
	}
	for _, bl := range rc.Artifact.Blobs {
		push(bl.Descriptor, bl.Data)
	}
	push(rc.Artifact.Descriptor, rc.Artifact.Manifest)
	idx := ocispec.Index{MediaType: ocispec.MediaTypeImageIndex}
	idx.SchemaVersion = 2
	for _, r := range rc.Records {
		for _, bl := range r.Blobs {
			push(bl.Descriptor, bl.Data)
		}
		push(r.Descriptor, r.Manifest)
		idx.Manifests = append(idx.Manifests, oci.Plain(r.Descriptor))
	}
	ib, _ := json.Marshal(idx)
	d := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageIndex, Digest: digest.FromBytes(ib), Size: int64(len(ib))}
	push(d, ib)
	return m, d
}

func reportRate(b *testing.B, records int, elapsed time.Duration, unit string) float64 {
	rate := float64(records) / elapsed.Seconds()
	b.ReportMetric(rate, unit)
	return rate
}

// BenchmarkPushLayout stores 10,000 records in a fresh layout, beside
// oras-go copying the same bytes into its content-addressed layout storage.
func BenchmarkPushLayout(b *testing.B) {
	ctx := context.Background()
	runs := benchFixture(b)
	var ours, bound time.Duration
	for range b.N {
		dir := b.TempDir()
		s, _ := oci.OpenLayout(dir)
		start := time.Now()
		for _, rc := range runs {
			if err := oci.WriteRun(ctx, s, rc); err != nil {
				b.Fatal(err)
			}
		}
		ours += time.Since(start)
		st, err := orasoci.NewStorage(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		bound += copyAll(b, runs, func(m *memory.Store, root ocispec.Descriptor) error {
			return oras.CopyGraph(ctx, m, st, root, oras.CopyGraphOptions{Concurrency: oci.Concurrency})
		})
	}
	n := benchRuns * benchPerRun * b.N
	r := reportRate(b, n, ours, "records/s")
	rb := reportRate(b, n, bound, "oras-copy-records/s")
	b.ReportMetric(r/rb, "ratio")
}

// copyAll times fn over every run's memory copy (setup excluded).
func copyAll(b *testing.B, runs []*oci.RunContent, fn func(*memory.Store, ocispec.Descriptor) error) time.Duration {
	var total time.Duration
	for _, rc := range runs {
		m, root := memoryCopy(b, rc)
		start := time.Now()
		if err := fn(m, root); err != nil {
			b.Fatal(err)
		}
		total += time.Since(start)
	}
	return total
}

// BenchmarkPushRegistry pushes 10,000 records to a loopback CNCF
// distribution v3 registry (tag schema fallback, read-back included),
// beside oras-go copying the same bytes to another repository.
func BenchmarkPushRegistry(b *testing.B) {
	ctx := context.Background()
	runs := benchFixture(b)
	srv := ocitest.Registry(b, ocitest.RegistryOptions{})
	host := ocitest.Host(srv)
	var ours, bound time.Duration
	for i := range b.N {
		repo, err := remote.Open(host+"/bench/ours"+strconv.Itoa(i), remote.Options{PlainHTTP: true})
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		for _, rc := range runs {
			if err := oci.WriteRun(ctx, repo, rc); err != nil {
				b.Fatal(err)
			}
		}
		ours += time.Since(start)
		dst, err := oremote.NewRepository(host + "/bench/oras" + strconv.Itoa(i))
		if err != nil {
			b.Fatal(err)
		}
		dst.PlainHTTP = true
		_ = dst.SetReferrersCapability(true) // plain copy: no client-side referrers indexing
		bound += copyAll(b, runs, func(m *memory.Store, root ocispec.Descriptor) error {
			return oras.CopyGraph(ctx, m, dst, root, oras.CopyGraphOptions{Concurrency: oci.Concurrency})
		})
	}
	n := benchRuns * benchPerRun * b.N
	r := reportRate(b, n, ours, "records/s")
	rb := reportRate(b, n, bound, "oras-copy-records/s")
	b.ReportMetric(r/rb, "ratio")
}

// BenchmarkLayoutAppend measures appending one record (blobs, manifest,
// commit of index.json) to a run that already holds 10^4 or 10^5 records:
// the cost must not grow with the number stored.
func BenchmarkLayoutAppend(b *testing.B) {
	for _, stored := range []int{10_000, 100_000} {
		b.Run(strconv.Itoa(stored), func(b *testing.B) {
			benchAppend(b, stored)
		})
	}
}

func benchAppend(b *testing.B, stored int) {
	ctx := context.Background()
	rc := benchFixture(b)[0]
	s, _ := oci.OpenLayout(b.TempDir())
	fillSynthetic(b, s, rc, stored)
	// b.N distinct records: the fixture's bundles with sequence numbers
	// after the stored ones (another seq packs to another manifest).
	recs := make([]*oci.Record, b.N)
	for i := range recs {
		r, err := oci.PackRecord(rc.Root.Descriptor, rc.Records[i%len(rc.Records)].Bundle.Raw, uint64(stored+i))
		if err != nil {
			b.Fatal(err)
		}
		recs[i] = r
	}
	b.ResetTimer()
	for _, r := range recs {
		for _, bl := range r.Blobs {
			if err := s.PushBlob(ctx, bl.Descriptor, bl.Data); err != nil {
				b.Fatal(err)
			}
		}
		if err := s.PushManifest(ctx, r.Descriptor, r.Manifest); err != nil {
			b.Fatal(err)
		}
		if err := s.Commit(ctx); err != nil {
			b.Fatal(err)
		}
	}
	ours := b.Elapsed()
	b.StopTimer()
	bound := bareAppends(b, s.Layout.Dir(), recs)
	b.ReportMetric(float64(ours.Microseconds())/float64(b.N), "µs/append")
	b.ReportMetric(float64(bound.Microseconds())/float64(b.N), "fs-µs/append")
	b.ReportMetric(float64(ours)/float64(bound), "ratio")
}

// bareAppends is the physical bound of a crash-safe append in the same
// directory: the record's bundle and manifest and a top index of the same
// size written with fsync and rename, the blobs directory fsynced, and
// index.json replaced atomically; no tree, no parsing, no lock.
func bareAppends(b *testing.B, dir string, recs []*oci.Record) time.Duration {
	blobs := filepath.Join(dir, "blobs", "sha256")
	index, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		b.Fatal(err)
	}
	top := make([]byte, 12<<10)
	start := time.Now()
	for i, r := range recs {
		for j, data := range [][]byte{r.Blobs[1].Data, r.Manifest, top} {
			name := filepath.Join(blobs, fmt.Sprintf("bare-%d-%d", i, j))
			if err := atomicWrite(name, data); err != nil {
				b.Fatal(err)
			}
		}
		if err := atomicfile.SyncDir(blobs); err != nil {
			b.Fatal(err)
		}
		if err := atomicfile.WriteFile(filepath.Join(dir, "bare-index.json"), index, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	return time.Since(start)
}

func atomicWrite(name string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(name), ".tmp-*")
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	f.Close()
	return os.Rename(f.Name(), name)
}

// fillSynthetic stores n small referrers of the run root, committed in
// batches of 10,000 (setup, not measured).
func fillSynthetic(b *testing.B, s *oci.LayoutStore, rc *oci.RunContent, n int) {
	ctx := context.Background()
	for _, bl := range rc.Artifact.Blobs {
		s.PushBlob(ctx, bl.Descriptor, bl.Data)
	}
	s.PushManifest(ctx, rc.Artifact.Descriptor, rc.Artifact.Manifest)
	subject := oci.Plain(rc.Root.Descriptor)
	for i := range n {
		m := ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest, ArtifactType: oci.RecordArtifactType,
			Config: oci.EmptyConfig.Descriptor, Layers: []ocispec.Descriptor{oci.EmptyConfig.Descriptor}, Subject: &subject,
			Annotations: map[string]string{oci.AnnotationSeq: strconv.Itoa(i)}}
		m.SchemaVersion = 2
		mb, _ := json.Marshal(m)
		d := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromBytes(mb), Size: int64(len(mb))}
		// Setup only: the blob is written without fsync, then staged (the
		// layout sees it exists and checks the tree for it at commit).
		if err := os.WriteFile(filepath.Join(s.Layout.Dir(), "blobs", "sha256", d.Digest.Encoded()), mb, 0o444); err != nil {
			b.Fatal(err)
		}
		if err := s.PushManifest(ctx, d, mb); err != nil {
			b.Fatal(err)
		}
		if i%10_000 == 9_999 {
			if err := s.Commit(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := s.Commit(ctx); err != nil {
		b.Fatal(err)
	}
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }

func isExists(err error) bool { return errors.Is(err, errdef.ErrAlreadyExists) }
