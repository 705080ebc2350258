package tlog

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/dossier-audit/dossier/pkg/tlog/tlogproof"
)

const runA = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

func TestAppendAssignsSequenceAndIsIdempotent(t *testing.T) {
	ctx := context.Background()
	k := newTestKey(t, testOrigin)
	dir := t.TempDir()
	l := openTestLog(t, dir, testOptions(k))
	r0, err := l.Append(ctx, bundleN(0), runA)
	if err != nil {
		t.Fatal(err)
	}
	r1, err := l.Append(ctx, bundleN(1), runA)
	if err != nil {
		t.Fatal(err)
	}
	te, err := l.Append(ctx, bundleN(2), "time-evidence")
	if err != nil {
		t.Fatal(err)
	}
	if r0.Seq != 0 || r0.Prev != "" || r1.Seq != 1 || r1.Prev != r0.Bundle || te.Seq != 0 {
		t.Fatalf("receipts: %+v %+v %+v", r0, r1, te)
	}
	again, err := l.Append(ctx, bundleN(1), runA)
	if err != nil || !again.Existing || again.Index != r1.Index || again.Seq != 1 {
		t.Fatalf("re-append: %+v, %v", again, err)
	}
	if _, err := l.AppendAt(ctx, bundleN(9), runA, 1); !errors.Is(err, ErrSequenceTaken) {
		t.Fatalf("AppendAt taken seq: got %v, want ErrSequenceTaken", err)
	}
	if _, err := l.AppendAt(ctx, bundleN(9), runA, 5); !errors.Is(err, ErrSequenceGap) {
		t.Fatalf("AppendAt gap: got %v, want ErrSequenceGap", err)
	}
	if _, err := l.Append(ctx, bundleN(1), "export"); !errors.Is(err, ErrRecordConflict) {
		t.Fatalf("other stream: got %v, want ErrRecordConflict", err)
	}
	closeLog(t, l)

	l = openTestLog(t, dir, testOptions(k))
	defer closeLog(t, l)
	again, err = l.Append(ctx, bundleN(0), runA)
	if err != nil || !again.Existing || again.Index != r0.Index {
		t.Fatalf("after reopen: %+v, %v", again, err)
	}
	r2, err := l.AppendAt(ctx, bundleN(3), runA, 2)
	if err != nil || r2.Prev != r1.Bundle {
		t.Fatalf("AppendAt next: %+v, %v", r2, err)
	}
	b, err := l.Bundle(ctx, r2.Bundle)
	if err != nil || string(b) != string(bundleN(3)) {
		t.Fatalf("Bundle: %q, %v", b, err)
	}
}

func TestProveAndVerify(t *testing.T) {
	ctx := context.Background()
	k := newTestKey(t, testOrigin)
	dir := t.TempDir()
	l := openTestLog(t, dir, testOptions(k))
	var rs []Receipt
	for i := range 300 {
		r, err := l.Append(ctx, bundleN(i), runA)
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, r)
	}
	closeLog(t, l)
	old, err := ReadCheckpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []Receipt{rs[0], rs[255], rs[299]} {
		p, err := ProveInclusion(ctx, dir, r.Index)
		if err != nil {
			t.Fatal(err)
		}
		cp, lf, err := tlogproof.VerifyBundleInclusion(p, bundleN(int(r.Seq)), k.verifier)
		if err != nil {
			t.Fatalf("VerifyBundleInclusion(%d): %v", r.Index, err)
		}
		if cp.Size != 300 || lf.Seq != r.Seq || lf.Prev != r.Prev {
			t.Fatalf("got %d %+v", cp.Size, lf)
		}
		if _, err := tlogproof.VerifyInclusion(p, r.Leaf, k.verifier); err != nil {
			t.Fatal(err)
		}
	}
	idx, lf, err := FindBundle(ctx, dir, rs[7].Bundle)
	if err != nil || idx != rs[7].Index || lf.Seq != 7 {
		t.Fatalf("FindBundle: %d %+v %v", idx, lf, err)
	}

	l = openTestLog(t, dir, testOptions(k))
	for i := 300; i < 333; i++ {
		if _, err := l.Append(ctx, bundleN(i), "export"); err != nil {
			t.Fatal(err)
		}
	}
	closeLog(t, l)
	cproof, err := ProveConsistency(ctx, dir, old)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := tlogproof.VerifyConsistency(cproof, old, k.verifier)
	if err != nil || cp.Size != 333 {
		t.Fatalf("VerifyConsistency: %v %v", cp, err)
	}
}

func TestAwaitCheckpoint(t *testing.T) {
	ctx := context.Background()
	k := newTestKey(t, testOrigin)
	dir := t.TempDir()
	opts := testOptions(k)
	opts.AwaitCheckpoint = true
	l := openTestLog(t, dir, opts)
	defer closeLog(t, l)
	for i := range 3 {
		r, err := l.Append(ctx, bundleN(i), "export")
		if err != nil {
			t.Fatal(err)
		}
		cp, err := tlogproof.VerifyCheckpoint([]byte(checkpointOf(t, dir)), k.verifier)
		if err != nil || cp.Size <= r.Index {
			t.Fatalf("after Append(%d): checkpoint %v, %v", r.Index, cp, err)
		}
		if _, err := ProveInclusion(ctx, dir, r.Index); err != nil {
			t.Fatal(err)
		}
	}
}

func TestOpenRefusesSecondWriter(t *testing.T) {
	k := newTestKey(t, testOrigin)
	dir := t.TempDir()
	l := openTestLog(t, dir, testOptions(k))
	defer closeLog(t, l)
	if _, err := Open(context.Background(), dir, testOptions(k)); !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open: got %v, want ErrLocked", err)
	}
}

func TestStreamOf(t *testing.T) {
	mk := func(pt, sub string) []byte {
		st := `{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"run:r","digest":{"sha256":"` + sub + `"}}],"predicateType":"` + pt + `"}`
		return []byte(`{"dsseEnvelope":{"payload":"` + base64.StdEncoding.EncodeToString([]byte(st)) + `"}}`)
	}
	hex64 := strings.Repeat("a", 64)
	tests := []struct {
		name, want string
		in         []byte
		err        error
	}{
		{"run record", "sha256:" + hex64, mk("https://dossier.dev/predicates/dataset/v1", hex64), nil},
		{"time evidence", "time-evidence", mk("https://dossier.dev/predicates/time-evidence/v1", ""), nil},
		{"export", "export", mk("https://dossier.dev/predicates/export/v1", ""), nil},
		{"bad subject digest", "", mk("https://dossier.dev/predicates/dataset/v1", "xyz"), ErrNoStream},
		{"not a bundle", "", []byte(`[]`), ErrNoStream},
	}
	for _, tc := range tests {
		got, err := StreamOf(tc.in)
		if got != tc.want || !errors.Is(err, tc.err) {
			t.Errorf("%s: got %q, %v; want %q, %v", tc.name, got, err, tc.want, tc.err)
		}
	}
}
