package spool

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/dossier-audit/dossier/pkg/record"
)

var carrier = ImportOptions{CarriedBy: record.Party{ID: "person:m41877", Name: "Max Mustermann"},
	Importer: record.Producer{ID: "person:e30211", Name: "Erika Musterfrau", Kind: "person"}, Now: now}

func readVerify(t *testing.T, f *fixture, b []byte) *Verified {
	t.Helper()
	tr, err := Read(bytes.NewReader(b), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	v, err := Verify(tr, f.keys(t))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestPackReadVerify(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	v := readVerify(t, f, f.tar)
	if v.Digest != f.packed.Digest || v.Size != int64(len(f.tar)) {
		t.Fatalf("digest %s size %d, pack said %s %d", v.Digest, v.Size, f.packed.Digest, f.packed.Size)
	}
	if len(v.Records) != 4 || v.Document.RecordCount != 4 || len(v.Document.Runs) != 2 {
		t.Fatalf("document %+v", v.Document)
	}
	for i, r := range v.Records {
		if r.Digest != digestOf(f.bundles[i]) {
			t.Fatalf("record %d is %s, want spool order", i, r.Digest)
		}
	}
}

func TestPackIsDeterministic(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	// Rebuild the same spool in another directory: same bytes.
	d, err := Create(t.TempDir(), "spool-node17-1", "gpu-node-17.train.corp", now)
	if err != nil {
		t.Fatal(err)
	}
	roots := []int{0, 1, 0, 0}
	for i, b := range f.bundles {
		if _, err := d.Add(context.Background(), f.roots[roots[i]], b); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if _, err := d.Pack(context.Background(), &buf, PackOptions{PackedBy: f.packed.Document.PackedBy, Signer: f.producer.d, Now: now}); err != nil {
		t.Fatal(err)
	}
	// ECDSA signatures are randomised: compare everything but the envelope.
	tr, err := Read(bytes.NewReader(buf.Bytes()), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if tr.Document.RecordListDigest != f.packed.Document.RecordListDigest || len(buf.Bytes()) != len(f.tar) {
		t.Fatalf("repack differs: %d bytes vs %d", len(buf.Bytes()), len(f.tar))
	}
}

func TestAddRefusals(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	d, err := Create(t.TempDir(), "s", "o", now)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := d.Add(ctx, f.roots[0], f.bundles[0]); err != nil {
		t.Fatal(err)
	}
	cases := map[string]func() error{
		"twice":     func() error { _, err := d.Add(ctx, f.roots[0], f.bundles[0]); return err },
		"other run": func() error { _, err := d.Add(ctx, f.roots[0], f.bundles[1]); return err },
	}
	for name, fn := range cases {
		if err := fn(); !errors.Is(err, ErrRecord) {
			t.Errorf("%s: got %v, want ErrRecord", name, err)
		}
	}
	if _, err := Create(d.Path(), "s", "o", now); !errors.Is(err, ErrSpool) {
		t.Errorf("create over a spool: got %v, want ErrSpool", err)
	}
	if _, err := d.Pack(ctx, &bytes.Buffer{}, PackOptions{}); !errors.Is(err, ErrSpool) {
		t.Errorf("pack without signer: got %v, want ErrSpool", err)
	}
}

func TestImportTwiceChangesNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	sink, _ := localLog(t)
	v := readVerify(t, f, f.tar)
	ctx := context.Background()
	rep, err := Import(ctx, v, sink, carrier)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Imported != 4 || rep.AlreadyPresent != 0 || rep.TransferExisting || rep.Transfer == "" {
		t.Fatalf("first import: %+v", rep)
	}
	// Per-run order is the spool order.
	wantSeq := []uint64{0, 0, 1, 2}
	for i, a := range rep.Appended {
		if a.Seq != wantSeq[i] || a.Record != digestOf(f.bundles[i]) {
			t.Fatalf("appended %d: %+v, want seq %d", i, a, wantSeq[i])
		}
	}
	size, _ := sink.Log.Size(ctx)
	rep2, err := Import(ctx, v, sink, carrier)
	if err != nil {
		t.Fatal(err)
	}
	size2, _ := sink.Log.Size(ctx)
	if rep2.Imported != 0 || rep2.AlreadyPresent != 4 || !rep2.TransferExisting || rep2.Transfer != rep.Transfer || size2 != size {
		t.Fatalf("second import: %+v, log %d -> %d", rep2, size, size2)
	}
	tb, err := sink.Log.Bundle(ctx, rep.Transfer)
	if err != nil {
		t.Fatal(err)
	}
	st, err := record.ParseStatement(mustPayload(t, tb))
	if err != nil {
		t.Fatal(err)
	}
	tp := st.Parsed().(*record.Transfer)
	if tp.Spool != v.Digest || tp.CarriedBy.Name != "Max Mustermann" || tp.Imported != 4 || tp.RecordCount != 4 || len(tp.Runs) != 2 {
		t.Fatalf("transfer predicate %+v", tp)
	}
}

func TestImportResumesAfterCrash(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	sink, _ := localLog(t)
	v := readVerify(t, f, f.tar)
	ctx := context.Background()
	// A crash after two records were appended and the transfer was signed
	// but not appended.
	for i := 0; i < 2; i++ {
		if _, err := sink.Append(ctx, v.Items[i].Root, v.Records[i], v.Items[i].Bundle); err != nil {
			t.Fatal(err)
		}
	}
	tb, err := SignTransfer(ctx, sink.Signer, TransferPredicate(v, 2, carrier))
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(sink.StateDir, 0o700)
	marker := filepath.Join(sink.StateDir, v.Digest[len("sha256:"):]+".transfer.json")
	if err := os.WriteFile(marker, tb, 0o600); err != nil {
		t.Fatal(err)
	}
	rep, err := Import(ctx, v, sink, carrier)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Imported != 2 || rep.AlreadyPresent != 2 || rep.TransferExisting || rep.Transfer != digestOf(tb) {
		t.Fatalf("resumed import: %+v", rep)
	}
}

func mustPayload(t *testing.T, b []byte) []byte {
	t.Helper()
	bun, err := bundle_Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	return bun
}

func TestImportTarAppendsNothingUnlessVerified(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	sink, _ := localLog(t)
	ctx := context.Background()
	stranger, err := NewKeySet(newKey(t).pub)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ImportTar(ctx, bytes.NewReader(f.tar), Limits{}, stranger, sink, carrier); !errors.Is(err, ErrUntrusted) {
		t.Fatalf("untrusted: %v, want ErrUntrusted", err)
	}
	if n, _ := sink.Log.Size(ctx); n != 0 {
		t.Fatalf("log holds %d leaves after a refused import, want 0", n)
	}
	rep, err := ImportTar(ctx, bytes.NewReader(f.tar), Limits{}, f.keys(t), sink, carrier)
	if err != nil || rep.Imported != 4 {
		t.Fatalf("import: %+v, %v", rep, err)
	}
}
