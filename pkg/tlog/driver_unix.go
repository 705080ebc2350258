//go:build unix

package tlog

import (
	"context"

	"github.com/transparency-dev/tessera"
	"github.com/transparency-dev/tessera/storage/posix"
)

// canWrite reports whether a log can be opened for appending here: always
// on Unix.
func canWrite(string) error { return nil }

// newDriver returns Tessera's POSIX storage driver for the log directory.
func newDriver(ctx context.Context, dir string) (tessera.Driver, error) {
	return posix.New(ctx, posix.Config{Path: dir})
}
