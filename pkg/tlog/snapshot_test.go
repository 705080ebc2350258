package tlog

import (
	"context"
	"crypto/sha256"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// stateOf opens dir and returns every receipt by bundle, the next receipt
// per stream, and whether the snapshot was used.
func stateOf(t *testing.T, dir string, opts Options, bundles [][]byte) (map[string]Receipt, bool) {
	t.Helper()
	l := openTestLog(t, dir, opts)
	defer closeLog(t, l)
	used := l.snapSize > 0
	got := map[string]Receipt{}
	for _, b := range bundles {
		r, ok := l.Lookup(digestOf(b))
		if !ok {
			t.Fatalf("bundle %s missing", digestOf(b))
		}
		got[r.Bundle] = r
	}
	return got, used
}

func TestSnapshotMatchesFullScan(t *testing.T) {
	ctx := context.Background()
	k := newTestKey(t, testOrigin)
	dir := t.TempDir()
	opts := testOptions(k)
	opts.snapshotMinTail = 1
	var bundles [][]byte
	l := openTestLog(t, dir, opts)
	for i := range 700 {
		b := bundleN(i)
		bundles = append(bundles, b)
		if _, err := l.Append(ctx, b, []string{runA, "export", "keyring"}[i%3]); err != nil {
			t.Fatal(err)
		}
	}
	closeLog(t, l) // writes the snapshot
	snapFile := filepath.Join(dir, ".dossier", "index-snapshot")
	withSnap, used := stateOf(t, dir, opts, bundles)
	if !used {
		t.Fatal("snapshot not used")
	}
	good, _ := os.ReadFile(snapFile)

	// Extend the log past the snapshot with its tail scanned.
	opts.snapshotMinTail = 1 << 20 // keep the old snapshot
	l = openTestLog(t, dir, opts)
	for i := 700; i < 750; i++ {
		b := bundleN(i)
		bundles = append(bundles, b)
		if _, err := l.Append(ctx, b, "export"); err != nil {
			t.Fatal(err)
		}
	}
	closeLog(t, l)
	withTail, used := stateOf(t, dir, opts, bundles)
	if !used {
		t.Fatal("old snapshot not used for the prefix")
	}
	os.Remove(snapFile)
	scanned, used := stateOf(t, dir, opts, bundles)
	if used || !reflect.DeepEqual(withTail, scanned) {
		t.Fatalf("snapshot+tail state differs from a full scan (used=%v)", used)
	}
	for d, r := range withSnap {
		if !reflect.DeepEqual(scanned[d], r) {
			t.Fatalf("%s: %+v vs %+v", d, scanned[d], r)
		}
	}

	// A snapshot that lies (one seq changed, checksum fixed) is ignored.
	bad := append([]byte(nil), good...)
	bad[len(snapshotMagic)+8+4+2+len(runA)+2+len("export")+2+len("keyring")+4+7] ^= 1
	sum := sha256.Sum256(bad[:len(bad)-32])
	copy(bad[len(bad)-32:], sum[:])
	os.WriteFile(snapFile, bad, 0o644)
	lied, used := stateOf(t, dir, opts, bundles)
	if used || !reflect.DeepEqual(lied, scanned) {
		t.Fatalf("tampered snapshot used=%v or state differs", used)
	}
	if _, err := parseSnapshot(bad[:len(bad)-1]); err == nil {
		t.Fatal("truncated snapshot parsed")
	}
}
