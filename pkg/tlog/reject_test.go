package tlog

import (
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/transparency-dev/tessera/api/layout"

	"github.com/dossier-audit/dossier/pkg/tlog/tlogproof"
)

// buildLog makes a log of n records in dir and returns its receipts.
func buildLog(t *testing.T, dir string, k testKey, from, n int) []Receipt {
	t.Helper()
	l := openTestLog(t, dir, testOptions(k))
	defer closeLog(t, l)
	var rs []Receipt
	for i := from; i < from+n; i++ {
		r, err := l.Append(context.Background(), bundleN(i), runA)
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, r)
	}
	return rs
}

func TestRejections(t *testing.T) {
	ctx := context.Background()
	k := newTestKey(t, testOrigin)
	dir := t.TempDir()
	rs := buildLog(t, dir, k, 0, 20)
	proof, err := ProveInclusion(ctx, dir, rs[3].Index)
	if err != nil {
		t.Fatal(err)
	}
	other := newTestKey(t, testOrigin)
	otherOrigin := newTestKey(t, "example.test/other-log")
	oldCP, _ := ReadCheckpoint(dir)

	tests := []struct {
		name string
		run  func() error
		want error
	}{
		{"proof for another leaf", func() error {
			_, err := tlogproof.VerifyInclusion(proof, rs[4].Leaf, k.verifier)
			return err
		}, tlogproof.ErrLeafMismatch},
		{"proof for another leaf without extra", func() error {
			p, _ := tlogproof.ParseInclusionProof(proof)
			p.Leaf = nil
			_, err := tlogproof.VerifyInclusion(p.Marshal(), rs[4].Leaf, k.verifier)
			return err
		}, tlogproof.ErrInclusion},
		{"bundle not named by leaf", func() error {
			_, _, err := tlogproof.VerifyBundleInclusion(proof, bundleN(4), k.verifier)
			return err
		}, tlogproof.ErrLeafMismatch},
		{"checkpoint signed by another key", func() error {
			_, err := tlogproof.VerifyInclusion(proof, nil, other.verifier)
			return err
		}, tlogproof.ErrCheckpointSignature},
		{"checkpoint of another origin", func() error {
			_, err := tlogproof.VerifyInclusion(proof, nil, otherOrigin.verifier)
			return err
		}, tlogproof.ErrCheckpointSignature},
		{"tampered proof hash", func() error {
			p, _ := tlogproof.ParseInclusionProof(proof)
			p.Hashes[0][0] ^= 1
			_, err := tlogproof.VerifyInclusion(p.Marshal(), nil, k.verifier)
			return err
		}, tlogproof.ErrInclusion},
		{"tampered checkpoint root", func() error {
			s := strings.Replace(string(proof), "\n20\n", "\n21\n", 1)
			_, err := tlogproof.VerifyInclusion([]byte(s), nil, k.verifier)
			return err
		}, tlogproof.ErrCheckpointSignature},
		{"consistency to a smaller tree", func() error {
			small := t.TempDir()
			if err := Init(ctx, small, testOptions(k)); err != nil {
				return err
			}
			zero := checkpointOf(t, small)
			buildLog(t, small, k, 0, 5)
			p, err := ProveConsistency(ctx, small, []byte(zero))
			if err == nil {
				_, err = tlogproof.VerifyConsistency(p, oldCP, k.verifier)
			}
			return err
		}, tlogproof.ErrSmallerTree},
		{"consistency between non-extending trees", func() error {
			fork := t.TempDir()
			buildLog(t, fork, k, 100, 30) // same key, different history
			p, err := ProveConsistency(ctx, fork, []byte(checkpointOf(t, fork)))
			if err != nil {
				return err
			}
			_, err = tlogproof.VerifyConsistency(p, oldCP, k.verifier)
			return err
		}, tlogproof.ErrConsistency},
		{"producer refuses non-extending old checkpoint", func() error {
			fork := t.TempDir()
			buildLog(t, fork, k, 100, 30)
			_, err := ProveConsistency(ctx, fork, oldCP)
			return err
		}, tlogproof.ErrConsistency},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.run(); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func checkpointOf(t *testing.T, dir string) string {
	b, err := ReadCheckpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestTamperedTileIsDetected(t *testing.T) {
	ctx := context.Background()
	k := newTestKey(t, testOrigin)
	dir := t.TempDir()
	rs := buildLog(t, dir, k, 0, 20)
	tile := filepath.Join(dir, layout.TilePath(0, 0, 20))
	b, err := os.ReadFile(tile)
	if err != nil {
		t.Fatal(err)
	}
	b[5*32] ^= 0x80 // the hash of leaf 5
	if err := os.WriteFile(tile, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ProveInclusion(ctx, dir, rs[4].Index); !errors.Is(err, tlogproof.ErrInclusion) {
		t.Fatalf("producer: got %v, want ErrInclusion", err)
	}
	if root := independentRoot(t, dir, 20); root == rootOf(t, dir, k).Root {
		t.Fatal("independent root unexpectedly unchanged")
	}
}

func TestRollbackRefused(t *testing.T) {
	ctx := context.Background()
	k := newTestKey(t, testOrigin)
	dir := t.TempDir()
	buildLog(t, dir, k, 0, 10)
	backup := t.TempDir()
	copyTree(t, dir, backup, ".dossier")
	buildLog(t, dir, k, 10, 10)
	// Restore the tree from the old backup, keeping the watermark.
	for _, p := range []string{"checkpoint", "tile", ".state"} {
		os.RemoveAll(filepath.Join(dir, p))
	}
	copyTree(t, backup, dir, "")
	_, err := Open(ctx, dir, testOptions(k))
	if !errors.Is(err, ErrRollback) {
		t.Fatalf("Open of a restored backup: got %v, want ErrRollback", err)
	}
	// The guard signer refuses a smaller tree even without Open's check.
	wm, _ := loadWatermark(filepath.Join(dir, ".dossier", "signed"))
	g := &guardSigner{Signer: k.signer, wm: wm}
	if _, err := g.Sign(tlogproof.FormatCheckpointBody(testOrigin, 10, [32]byte{})); !errors.Is(err, ErrRollback) {
		t.Fatalf("guard signer: got %v, want ErrRollback", err)
	}
}

func copyTree(t *testing.T, from, to, skip string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		if skip != "" && (rel == skip || strings.HasPrefix(rel, skip+"/")) {
			return filepath.SkipDir
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestIndependentRootMatchesCheckpoint(t *testing.T) {
	k := newTestKey(t, testOrigin)
	for _, n := range []int{1, 2, 3, 255, 256, 257, 600} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			buildLog(t, dir, k, 0, n)
			cp := rootOf(t, dir, k)
			if got := independentRoot(t, dir, int(cp.Size)); cp.Size != uint64(n) || got != cp.Root {
				t.Fatalf("independent root %x, checkpoint %d %x", got, cp.Size, cp.Root)
			}
		})
	}
}

func rootOf(t *testing.T, dir string, k testKey) *tlogproof.Checkpoint {
	cp, err := tlogproof.VerifyCheckpoint([]byte(checkpointOf(t, dir)), k.verifier)
	if err != nil {
		t.Fatal(err)
	}
	return cp
}

// independentRoot recomputes the RFC 6962 root with the standard library
// only: leaf hashes from the entry bundles (uint16-length-prefixed leaves),
// cross-checked against the level-0 tiles, then MTH by the RFC's recursion.
func independentRoot(t *testing.T, dir string, n int) [32]byte {
	t.Helper()
	var leaves [][32]byte
	for b := 0; b*256 < n; b++ {
		w := min(256, n-b*256)
		raw := readTileFile(t, dir, "entries", b, w)
		for len(raw) > 0 {
			l := int(raw[0])<<8 | int(raw[1])
			leaves = append(leaves, sha256.Sum256(append([]byte{0}, raw[2:2+l]...)))
			raw = raw[2+l:]
		}
		tile := readTileFile(t, dir, "0", b, w)
		for i := 0; i < w; i++ {
			if [32]byte(tile[i*32:i*32+32]) != leaves[b*256+i] {
				return [32]byte{} // tile disagrees with the entries
			}
		}
	}
	if len(leaves) != n {
		t.Fatalf("got %d leaves, want %d", len(leaves), n)
	}
	return mth(leaves)
}

func readTileFile(t *testing.T, dir, kind string, idx, width int) []byte {
	p := filepath.Join(dir, "tile", kind, tileIndexPath(idx))
	if width < 256 {
		p += ".p/" + strconv.Itoa(width)
	}
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) && width < 256 {
		b, err = os.ReadFile(strings.TrimSuffix(p, ".p/"+strconv.Itoa(width)))
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// tileIndexPath is the tlog-tiles index encoding: 3-digit groups, "x" on
// all but the last.
func tileIndexPath(n int) string {
	s := strconv.Itoa(n % 1000)
	s = strings.Repeat("0", 3-len(s)) + s
	for n >= 1000 {
		n /= 1000
		g := strconv.Itoa(n % 1000)
		s = "x" + strings.Repeat("0", 3-len(g)) + g + "/" + s
	}
	return s
}

func mth(d [][32]byte) [32]byte {
	switch len(d) {
	case 0:
		return sha256.Sum256(nil)
	case 1:
		return d[0]
	}
	k := 1
	for k*2 < len(d) {
		k *= 2
	}
	l, r := mth(d[:k]), mth(d[k:])
	return sha256.Sum256(append(append([]byte{1}, l[:]...), r[:]...))
}

// TestCheckpointFileBehindWatermarkIsNotRollback covers a crash between
// signing a checkpoint (watermark advanced) and writing the checkpoint
// file: the tree is intact, so Open must accept it and publish again.
func TestCheckpointFileBehindWatermarkIsNotRollback(t *testing.T) {
	k := newTestKey(t, testOrigin)
	dir := t.TempDir()
	buildLog(t, dir, k, 0, 5)
	old := checkpointOf(t, dir)
	buildLog(t, dir, k, 5, 5)
	if err := os.WriteFile(filepath.Join(dir, "checkpoint"), []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	l := openTestLog(t, dir, testOptions(k))
	closeLog(t, l)
	if cp := rootOf(t, dir, k); cp.Size != 10 {
		t.Fatalf("republished checkpoint has size %d, want 10", cp.Size)
	}
}

// TestPythonIndependentCheck runs testdata/rfc6962_root.py, a standard
// library Python recomputation of the root from the entry bundles, on a log
// of 600 leaves (three entry bundles, the last partial), then on a tampered
// copy.
func TestPythonIndependentCheck(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed")
	}
	k := newTestKey(t, testOrigin)
	dir := t.TempDir()
	buildLog(t, dir, k, 0, 600)
	out, err := exec.Command(py, "testdata/rfc6962_root.py", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("independent check failed: %v\n%s", err, out)
	}
	p := filepath.Join(dir, layout.EntriesPath(2, 600-512))
	b, _ := os.ReadFile(p)
	b[len(b)-3] ^= 1 // one byte of the last leaf
	os.WriteFile(p, b, 0o644)
	if out, err := exec.Command(py, "testdata/rfc6962_root.py", dir).CombinedOutput(); err == nil {
		t.Fatalf("tampered entry bundle accepted:\n%s", out)
	}
}
