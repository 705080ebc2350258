package witness

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/dossier-audit/dossier/internal/atomicfile"
)

// DirState keeps, per log origin, the last checkpoint the witness cosigned,
// as the file <dir>/<hex sha256(origin)> holding the log-signed note. Writes
// are atomic and durable (temporary file, fsync, rename, directory fsync).
type DirState struct{ Dir string }

// OpenDirState creates dir if needed.
func OpenDirState(dir string) (*DirState, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("%w: state directory: %v", ErrWitness, err)
	}
	return &DirState{Dir: dir}, nil
}

func (s *DirState) path(origin string) string {
	sum := sha256.Sum256([]byte(origin))
	return filepath.Join(s.Dir, hex.EncodeToString(sum[:]))
}

// Load returns the last cosigned checkpoint of origin, or nil when the
// witness never cosigned one.
func (s *DirState) Load(origin string) ([]byte, error) {
	b, err := os.ReadFile(s.path(origin))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading witness state: %w", err)
	}
	return b, nil
}

// Store replaces the last cosigned checkpoint of origin durably.
func (s *DirState) Store(origin string, checkpoint []byte) error {
	return atomicfile.WriteFile(s.path(origin), checkpoint, 0o600)
}
