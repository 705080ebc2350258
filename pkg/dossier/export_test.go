package dossier

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestExportReplayIsByteIdentical(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 12)
	a, b := f.copyLog(t), f.copyLog(t)
	outA, outB := filepath.Join(t.TempDir(), "a.tar"), filepath.Join(t.TempDir(), "b.tar")
	ra, rb := f.export(t, a, outA), f.export(t, b, outB)
	ba, _ := os.ReadFile(outA)
	bb, _ := os.ReadFile(outB)
	if !bytes.Equal(ba, bb) || ra.Package != rb.Package || ra.SealedRecord != rb.SealedRecord {
		t.Fatalf("replays differ: %s vs %s (sealed %s vs %s)", ra.Package, rb.Package, ra.SealedRecord, rb.SealedRecord)
	}
	if ra.RecordCount != 13 || ra.KeyringLength != 1 || ra.LedgerHeads != 0 {
		t.Fatalf("result %+v", ra)
	}
}
