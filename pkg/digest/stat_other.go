//go:build !unix

package digest

import (
	"fmt"
	"io/fs"
	"os"
)

// fileID is what must not change while a file is hashed.
type fileID struct {
	size  int64
	mtime int64 // nanoseconds since the epoch
}

func idOf(fi fs.FileInfo) fileID {
	return fileID{size: fi.Size(), mtime: fi.ModTime().UnixNano()}
}

func isLoop(error) bool { return false }

func openRead(path string) (*os.File, error) { return os.Open(path) }

// diffID names the first field in which got differs from want.
func diffID(got, want fileID) string {
	if got.size != want.size {
		return fmt.Sprintf("size %d, want %d", got.size, want.size)
	}
	return fmt.Sprintf("mtime %d, want %d", got.mtime, want.mtime)
}
