package layout

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// BenchmarkPutStaged stages 1,000 small blobs (a push's per-blob cost
// before Commit's sync, no fsync: CPU in the kernel and Go) beside its
// bound measured in the same run: os.WriteFile of the same bytes to 1,000
// new files in one directory.
func BenchmarkPutStaged(b *testing.B) {
	const n = 1000
	blobs := make([][]byte, n)
	descs := make([]ocispec.Descriptor, n)
	for i := range blobs {
		blobs[i] = fmt.Appendf(nil, `{"blob":%d,"pad":"%0600d"}`, i, i)
		descs[i] = ocispec.Descriptor{MediaType: "application/json", Digest: digest.FromBytes(blobs[i]), Size: int64(len(blobs[i]))}
	}
	var ours, bound time.Duration
	for range b.N {
		l, err := Open(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		for i, c := range blobs {
			if err := l.Put(descs[i], c); err != nil {
				b.Fatal(err)
			}
		}
		ours += time.Since(start)
		dir := b.TempDir()
		start = time.Now()
		for i, c := range blobs {
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprint(i)), c, 0o444); err != nil {
				b.Fatal(err)
			}
		}
		bound += time.Since(start)
	}
	rate, bnd := float64(b.N*n)/ours.Seconds(), float64(b.N*n)/bound.Seconds()
	b.ReportMetric(rate, "blobs/s")
	b.ReportMetric(bnd, "writefile-blobs/s")
	b.ReportMetric(rate/bnd, "ratio")
}
