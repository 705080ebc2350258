//go:build windows

package tlog

import (
	"context"
	"errors"
	"fmt"

	"github.com/transparency-dev/tessera"
)

// newDriver refuses: Tessera's POSIX storage (rename-over-directory, fcntl
// locks, O_DIRECTORY fsyncs) is Unix-only, so a log is written on Linux or
// macOS. Reading a log's tiles, proofs and checkpoints (pkg/tlog/tlogproof,
// pkg/verify) works everywhere.
func newDriver(_ context.Context, dir string) (tessera.Driver, error) {
	return nil, fmt.Errorf("%w: opening log %s: the transparency log writer (Tessera POSIX storage) runs on Linux and macOS only", errors.ErrUnsupported, dir)
}
