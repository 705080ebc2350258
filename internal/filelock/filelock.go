// Package filelock takes whole-file, exclusive locks on open files, the
// same way on every platform Dossier builds for: flock(2) on Unix (advisory),
// LockFileEx on Windows. A lock is released by Unlock or when the file is
// closed (or the process exits). Lock a dedicated lock file, never a file
// holding data: on Windows the lock is mandatory, so other handles could not
// read or write the locked bytes.
package filelock

import (
	"errors"
	"os"
)

// ErrLocked reports that another process (or another open file of this
// process) holds the lock and the caller asked not to wait.
var ErrLocked = errors.New("file is locked by another holder")

// Lock takes an exclusive lock on f. With wait it blocks until the lock is
// free; without, it returns an error wrapping ErrLocked at once.
func Lock(f *os.File, wait bool) error { return lock(f, wait) }

// Unlock releases the lock Lock took on f.
func Unlock(f *os.File) error { return unlock(f) }

// Open opens (creating it if needed) the lock file at path and locks it.
// The returned function unlocks and closes it.
func Open(path string, wait bool) (func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := Lock(f, wait); err != nil {
		f.Close()
		return nil, err
	}
	return func() { _ = Unlock(f); f.Close() }, nil
}
