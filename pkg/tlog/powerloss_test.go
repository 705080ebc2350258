package tlog

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

// volatileFile keeps writes in memory until Sync, like a page cache; a
// simulated power loss drops whatever was not synced (SQLite-style crash
// testing, no root needed).
type volatileFile struct {
	*os.File
	mu      sync.Mutex
	pending []byte
}

func (f *volatileFile) Write(b []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pending = append(f.pending, b...)
	return len(b), nil
}

func (f *volatileFile) Sync() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, err := f.File.Write(f.pending); err != nil {
		return err
	}
	f.pending = nil
	return f.File.Sync()
}

// powerLoss drops the unsynced writes, keeping a torn prefix of them on
// "disk" as a half-finished write would.
func (f *volatileFile) powerLoss() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.File.Write(f.pending[:len(f.pending)/3])
	f.pending = nil
}

func TestPowerLossKeepsEveryAcknowledgedPut(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	var files []*volatileFile
	s, err := openDirStore(dir, func(name string, flag int, perm os.FileMode) (segmentFile, error) {
		f, err := os.OpenFile(name, flag, perm)
		if err != nil {
			return nil, err
		}
		vf := &volatileFile{File: f}
		files = append(files, vf)
		return vf, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	acked := map[string][]byte{}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for g := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				b := fmt.Appendf(nil, "bundle %d %d", g, i)
				if err := s.Put(ctx, digestOf(b), b); err != nil {
					return
				}
				mu.Lock()
				acked[digestOf(b)] = b
				mu.Unlock()
			}
		}()
	}
	for countAcked(&mu, acked) < 2000 {
		runtime.Gosched()
	}
	// Power loss: freeze acknowledgements, drop unsynced bytes.
	mu.Lock()
	frozen := map[string][]byte{}
	for k, v := range acked {
		frozen[k] = v
	}
	for _, f := range files {
		f.powerLoss()
	}
	mu.Unlock()
	close(stop)
	s.Close()
	wg.Wait()

	s2 := mustStore(t, dir)
	for d, b := range frozen {
		got, err := s2.Get(ctx, d)
		if err != nil || string(got) != string(b) {
			t.Fatalf("acknowledged %s lost after power loss: %v", d, err)
		}
	}
	t.Logf("%d acknowledged puts survived", len(frozen))
	if _, err := os.Stat(filepath.Join(dir, "seg-000001")); err != nil {
		t.Fatal(err)
	}
}

func countAcked(mu *sync.Mutex, m map[string][]byte) int {
	mu.Lock()
	defer mu.Unlock()
	return len(m)
}
