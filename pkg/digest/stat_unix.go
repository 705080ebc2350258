//go:build unix

package digest

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// fileID is what must not change while a file is hashed.
type fileID struct {
	size         int64
	mtime, ctime int64 // nanoseconds since the epoch
	dev, ino     uint64
}

func idOf(fi fs.FileInfo) fileID {
	id := fileID{size: fi.Size(), mtime: fi.ModTime().UnixNano()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		id.dev, id.ino = uint64(st.Dev), uint64(st.Ino)
		id.ctime = ctimeOf(st)
	}
	return id
}

func isLoop(err error) bool { return errors.Is(err, syscall.ELOOP) }

// openRead opens a file without blocking on a FIFO swapped in after the walk.
func openRead(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
}

// diffID names the first field in which got differs from want.
func diffID(got, want fileID) string {
	switch {
	case got.size != want.size:
		return fmt.Sprintf("size %d, want %d", got.size, want.size)
	case got.mtime != want.mtime:
		return fmt.Sprintf("mtime %d, want %d", got.mtime, want.mtime)
	case got.dev != want.dev || got.ino != want.ino:
		return fmt.Sprintf("inode %d:%d, want %d:%d", got.dev, got.ino, want.dev, want.ino)
	}
	return fmt.Sprintf("ctime %d, want %d", got.ctime, want.ctime)
}
