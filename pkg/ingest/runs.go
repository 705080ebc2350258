package ingest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/dossier-audit/dossier/internal/atomicfile"
	"github.com/dossier-audit/dossier/pkg/run"
)

// runRegistry keeps registered run roots, one run file per run in dir
// (written atomically before a registration is acknowledged).
type runRegistry struct {
	dir      string
	mu       sync.RWMutex
	byID     map[string]*run.Root
	byDigest map[string]*run.Root
}

var (
	errRunConflict = errors.New("run id registered with other fields")
)

func openRuns(dir string) (*runRegistry, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	r := &runRegistry{dir: dir, byID: map[string]*run.Root{}, byDigest: map[string]*run.Root{}}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".json") || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		root, err := run.ParseFile(b)
		if err != nil {
			return nil, fmt.Errorf("run file %s: %w", e.Name(), err)
		}
		r.add(root)
	}
	return r, nil
}

func (r *runRegistry) add(root *run.Root) {
	r.byID[root.Registration.RunID] = root
	r.byDigest[root.Digest()] = root
}

func (r *runRegistry) get(id string) (*run.Root, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	root, ok := r.byID[id]
	return root, ok
}

func (r *runRegistry) byStream(stream string) (*run.Root, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	root, ok := r.byDigest[stream]
	return root, ok
}

// register stores root unless its id is taken. A registration equal to
// the stored one returns the stored root and created=false; one that
// differs only by a start time the daemon filled in does too.
func (r *runRegistry) register(root *run.Root, defaultedStart bool) (*run.Root, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if old, ok := r.byID[root.Registration.RunID]; ok {
		same := old.Digest() == root.Digest()
		if !same && defaultedStart {
			a, b := old.Registration, root.Registration
			a.StartedAt, b.StartedAt = "", ""
			same = a == b
		}
		if !same {
			return old, false, errRunConflict
		}
		return old, false, nil
	}
	path := filepath.Join(r.dir, root.Registration.RunID+".json")
	if err := atomicfile.WriteFile(path, root.MarshalFile(), 0o640); err != nil {
		return nil, false, err
	}
	r.add(root)
	return root, true, nil
}
