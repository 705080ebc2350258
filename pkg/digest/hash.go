package digest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
)

// Hash walks roots and hashes every file below them (see the package doc for
// names, links, excludes and hashed names). It fails on the first file it
// cannot describe; a cancelled ctx stops it.
func Hash(ctx context.Context, roots []string, opts Options) (*Manifest, error) {
	if len(roots) == 0 {
		return nil, errors.New("hashing: no roots given")
	}
	salt, err := saltFor(&opts)
	if err != nil {
		return nil, err
	}
	entries, names, err := walkRoots(roots, &opts)
	if err != nil {
		return nil, err
	}
	if opts.Planned != nil {
		opts.Planned(len(entries), totalSize(entries))
	}
	sums, err := hashAll(ctx, entries, &opts)
	if err != nil {
		return nil, err
	}
	return build(entries, sums, names, &opts, salt), nil
}

func saltFor(opts *Options) ([]byte, error) {
	if !opts.HashNames {
		return nil, nil
	}
	if opts.Salt == nil {
		return NewSalt()
	}
	if len(opts.Salt) < minSaltSize {
		return nil, fmt.Errorf("hashing names: salt of %d bytes, want at least %d", len(opts.Salt), minSaltSize)
	}
	return opts.Salt, nil
}

// walkRoots walks every root and returns the entries sorted by name, and
// the roots' base names.
func walkRoots(args []string, opts *Options) ([]entry, []string, error) {
	m, err := newMatcher(opts.Excludes)
	if err != nil {
		return nil, nil, err
	}
	w := &walker{opts: opts, match: m}
	var names []string
	for _, a := range args {
		r, err := newRoot(a, len(args) > 1)
		if err != nil {
			return nil, nil, err
		}
		if err := w.walkRoot(r); err != nil {
			return nil, nil, err
		}
		names = append(names, r.base)
	}
	slices.SortFunc(w.entries, func(a, b entry) int { return cmp.Compare(a.name, b.name) })
	for i := 1; i < len(w.entries); i++ {
		if w.entries[i].name == w.entries[i-1].name {
			return nil, nil, fmt.Errorf("%w: two roots give the name %q", ErrBadName, w.entries[i].name)
		}
	}
	return w.entries, names, nil
}

func totalSize(entries []entry) int64 {
	var n int64
	for _, e := range entries {
		n += e.id.size
	}
	return n
}

// hashAll hashes entries on opts.Workers goroutines, largest files first so
// that a big file does not start last, and returns the hex digests in entry
// order.
func hashAll(ctx context.Context, entries []entry, opts *Options) ([]string, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	order := make([]int, len(entries))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(entries[b].id.size, entries[a].id.size) })
	jobs := make(chan int)
	sums := make([]string, len(entries))
	n := workers(opts.Workers, len(entries))
	var wg sync.WaitGroup
	var left atomic.Int64 // files not yet done: fewer than n leaves a core spare
	left.Store(int64(len(entries)))
	for range n {
		wg.Go(func() {
			for i := range jobs {
				if ctx.Err() != nil {
					continue
				}
				sum, err := hashFile(ctx, &entries[i], opts, left.Load() < int64(n) || n < runtime.NumCPU())
				left.Add(-1)
				if err != nil {
					cancel(err)
					continue
				}
				sums[i] = sum
			}
		})
	}
	feed(ctx, jobs, order)
	wg.Wait()
	if ctx.Err() != nil {
		return nil, context.Cause(ctx)
	}
	return sums, nil
}

func feed(ctx context.Context, jobs chan<- int, order []int) {
	defer close(jobs)
	for _, i := range order {
		select {
		case jobs <- i:
		case <-ctx.Done():
			return
		}
	}
}

func workers(n, files int) int {
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	return max(1, min(n, files))
}

// build assembles the manifest from the hashed entries.
func build(entries []entry, sums, roots []string, opts *Options, salt []byte) *Manifest {
	m := &Manifest{
		MediaType:          MediaType,
		Roots:              roots,
		Excludes:           append([]string{}, opts.Excludes...),
		AllowExternalLinks: opts.AllowExternalLinks,
		Files:              make([]ResourceDescriptor, len(entries)),
	}
	for i, e := range entries {
		m.Files[i] = ResourceDescriptor{
			Name:        e.name,
			Digest:      DigestSet{SHA256: sums[i]},
			Annotations: Annotations{Size: e.id.size, LinkTarget: e.link},
		}
		m.TotalBytes += e.id.size
	}
	m.FileCount = len(m.Files)
	m.TreeDigest = TreeDigest(m.Files)
	if salt != nil {
		hideNames(m, salt)
	}
	return m
}
