package tlog

import (
	"context"
	"fmt"
	"github.com/dossier-audit/dossier/pkg/tlog/tlogproof"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
)

const testOrigin = "example.test/dossier-log"

type testKey struct {
	signer   note.Signer
	verifier note.Verifier
	skey     string
}

func newTestKey(t testing.TB, origin string) testKey {
	t.Helper()
	skey, vkey, err := GenerateKey(origin)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return testKey{signer: s, verifier: v, skey: skey}
}

func testOptions(k testKey) Options {
	return Options{Signer: k.signer, BatchMaxAge: time.Millisecond, CheckpointInterval: 100 * time.Millisecond}
}

func openTestLog(t testing.TB, dir string, opts Options) *Log {
	t.Helper()
	l, err := Open(context.Background(), dir, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return l
}

func closeLog(t testing.TB, l *Log) {
	t.Helper()
	if err := l.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func bundleN(i int) []byte {
	return fmt.Appendf(nil, `{"mediaType":"test","n":%d}`, i)
}

func digestOf(b []byte) string {
	return tlogproofDigest(b)
}

var tlogproofDigest = tlogproof.Digest
