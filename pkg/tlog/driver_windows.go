//go:build windows

package tlog

import (
	"context"
	"errors"
	"fmt"

	"github.com/transparency-dev/tessera"
)

// canWrite refuses, before anything is created: Tessera's POSIX storage
// (rename over directories, fcntl locks, O_DIRECTORY fsyncs) is Unix-only,
// so a log is written on Linux or macOS. Reading a log directory's
// checkpoint, tiles, proofs and bundles (ReadCheckpoint, ProveInclusion,
// FindBundle, OpenDirStore, tlogproof) works everywhere.
func canWrite(dir string) error {
	return fmt.Errorf("%w: opening log %s for appending: the transparency log writer (Tessera POSIX storage) runs on Linux and macOS only", errors.ErrUnsupported, dir)
}

// newDriver is never reached on Windows (canWrite refuses first).
func newDriver(_ context.Context, dir string) (tessera.Driver, error) {
	return nil, canWrite(dir)
}
