//go:build windows

package atomicfile

import (
	"fmt"
	"os"
)

// syncDir cannot flush a directory on Windows: FlushFileBuffers refuses
// directory handles (access denied). The files themselves were fsynced and
// NTFS journals the rename, so it only checks that dir is a directory.
func syncDir(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("syncing directory %s: %w", dir, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("syncing directory %s: not a directory", dir)
	}
	return nil
}
