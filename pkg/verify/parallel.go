package verify

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
)

// parallel runs f(i) for i in [0,n) on workers goroutines. A panic in f
// is re-raised in the caller once every worker stopped, so the caller's
// recover turns it into an inconclusive result instead of a crash.
func parallel(n, workers int, f func(i int)) {
	workers = max(min(workers, n), 1)
	next := make(chan int, 256)
	var wg sync.WaitGroup
	var panicked atomic.Value
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if p := recover(); p != nil {
					panicked.CompareAndSwap(nil, fmt.Sprint(p))
					for range next { // drain so the feeder never blocks
					}
				}
			}()
			for i := range next {
				f(i)
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	if p := panicked.Load(); p != nil {
		panic(p)
	}
}

// preload parses the manifests ds name on all cores, so the sequential
// walk of step 2 finds them parsed. Anything that fails here is left out
// and the walk reports it.
func (s *pkgState) preload(ds []descriptor) {
	got := make([]*manifest, len(ds))
	parallel(len(ds), s.opts.Workers, func(i int) {
		d := ds[i]
		hexd, ok := strings.CutPrefix(d.Digest, "sha256:")
		j, present := s.tar.byName["blobs/sha256/"+hexd]
		if !ok || !isHex64(hexd) || !present || s.tar.entries[j].Size != d.Size || d.Data != nil ||
			(d.MediaType != mediaTypeManifest && d.MediaType != mediaTypeIndex) {
			return
		}
		if m, err := s.loadManifest(d); err == nil {
			got[i] = m
		}
	})
	s.preloaded = make(map[string]*manifest, len(ds))
	for i, m := range got {
		if m != nil {
			s.preloaded[ds[i].Digest] = m
		}
	}
}
