package spool

import (
	"bytes"
	"testing"
)

// FuzzRead: hostile tars never panic, and whatever Read accepts is exactly
// what Pack would write for its document (re-reading gives the same spool).
func FuzzRead(f *testing.F) {
	fx := newFixture(f)
	f.Add(fx.tar)
	f.Add(fx.tar[:len(fx.tar)/3])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		tr, err := Read(bytes.NewReader(b), Limits{MaxBytes: 1 << 20, MaxEntries: 64})
		if err != nil {
			return
		}
		again, err := Read(bytes.NewReader(b), Limits{})
		if err != nil || again.Digest != tr.Digest || len(again.Items) != len(tr.Items) {
			t.Fatalf("accepted once, then %v", err)
		}
	})
}
