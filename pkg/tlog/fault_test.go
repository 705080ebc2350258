package tlog

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/transparency-dev/tessera"
)

// faultFile fails its writes or syncs once armed.
type faultFile struct {
	*os.File
	mode *atomic.Int32 // 0 ok, 1 write error, 2 short write, 3 sync error
}

var errInjected = errors.New("injected I/O error")

func (f faultFile) Write(b []byte) (int, error) {
	switch f.mode.Load() {
	case 1:
		return 0, errInjected
	case 2:
		n, _ := f.File.Write(b[:len(b)/2])
		return n, nil // a short write that does not even report an error
	}
	return f.File.Write(b)
}

func (f faultFile) Sync() error {
	if f.mode.Load() == 3 {
		return errInjected
	}
	return f.File.Sync()
}

func TestFaultInjectionNeverAcknowledges(t *testing.T) {
	ctx := context.Background()
	k := newTestKey(t, testOrigin)
	for _, tc := range []struct {
		name string
		mode int32
	}{{"write error", 1}, {"short write", 2}, {"fsync error", 3}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			mode := &atomic.Int32{}
			store, err := openDirStore(filepath.Join(dir, "bundles"), func(name string, flag int, perm os.FileMode) (segmentFile, error) {
				f, err := os.OpenFile(name, flag, perm)
				if err != nil {
					return nil, err
				}
				return faultFile{File: f, mode: mode}, nil
			})
			if err != nil {
				t.Fatal(err)
			}
			opts := testOptions(k)
			opts.BundleStore = store
			l := openTestLog(t, dir, opts)
			good, err := l.Append(ctx, bundleN(1), runA)
			if err != nil {
				t.Fatal(err)
			}
			mode.Store(tc.mode)
			if r, err := l.Append(ctx, bundleN(2), runA); err == nil {
				t.Fatalf("append acknowledged despite %s: %+v", tc.name, r)
			}
			mode.Store(0)
			if _, err := l.Append(ctx, bundleN(3), runA); !errors.Is(err, ErrStoreFailed) {
				t.Fatalf("after a failed write: got %v, want ErrStoreFailed until reopen", err)
			}
			closeLog(t, l)
			store.Close()

			l = openTestLog(t, dir, Options{Signer: k.signer, BundleStore: mustStore(t, filepath.Join(dir, "bundles"))})
			defer closeLog(t, l)
			if r, ok := l.Lookup(good.Bundle); !ok || r.Index != good.Index {
				t.Fatalf("acknowledged record lost: %+v %v", r, ok)
			}
			r, err := l.Append(ctx, bundleN(2), runA)
			if err != nil || r.Existing || r.Seq != 1 {
				t.Fatalf("retry after reopen: %+v %v", r, err)
			}
			if b, err := l.Bundle(ctx, r.Bundle); err != nil || string(b) != string(bundleN(2)) {
				t.Fatalf("bundle after retry: %q %v", b, err)
			}
		})
	}
}

func mustStore(t *testing.T, dir string) *DirStore {
	s, err := OpenDirStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestIntegrationFailureBreaksLog(t *testing.T) {
	ctx := context.Background()
	k := newTestKey(t, testOrigin)
	dir := t.TempDir()
	l := openTestLog(t, dir, testOptions(k))
	defer closeLog(t, l)
	if _, err := l.Append(ctx, bundleN(1), runA); err != nil {
		t.Fatal(err)
	}
	realAdd := l.add
	l.add = func(context.Context, *tessera.Entry) tessera.IndexFuture {
		return func() (tessera.Index, error) { return tessera.Index{}, errInjected }
	}
	if _, err := l.Append(ctx, bundleN(2), runA); !errors.Is(err, ErrLogFailed) {
		t.Fatalf("got %v, want ErrLogFailed", err)
	}
	l.add = realAdd
	if _, err := l.Append(ctx, bundleN(3), runA); !errors.Is(err, ErrLogFailed) {
		t.Fatalf("after failure: got %v, want ErrLogFailed until reopen", err)
	}
}

func TestTornTailIsKeptAndCut(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := mustStoreNoCleanup(t, dir)
	a, b := bundleN(1), bundleN(2)
	if err := s.Put(ctx, digestOf(a), a); err != nil {
		t.Fatal(err)
	}
	s.Close()
	seg := filepath.Join(dir, "seg-000001")
	f, _ := os.OpenFile(seg, os.O_WRONLY|os.O_APPEND, 0)
	f.Write([]byte("DSB1\x00\x00\x10\x00garbage")) // a frame torn by a crash
	f.Close()
	s = mustStore(t, dir)
	if got, err := s.Get(ctx, digestOf(a)); err != nil || string(got) != string(a) {
		t.Fatalf("acknowledged bundle: %q %v", got, err)
	}
	if err := s.Put(ctx, digestOf(b), b); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get(ctx, digestOf(b)); err != nil || string(got) != string(b) {
		t.Fatalf("bundle after the cut: %q %v", got, err)
	}
	tails, _ := filepath.Glob(seg + ".tail-*")
	if len(tails) != 1 {
		t.Fatalf("torn tail not kept: %v", tails)
	}
}

func mustStoreNoCleanup(t *testing.T, dir string) *DirStore {
	s, err := OpenDirStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
