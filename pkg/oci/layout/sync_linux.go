package layout

import (
	"os"

	"golang.org/x/sys/unix"
)

// syncEachBlob: blobs are synced together at Commit (syncFiles).
const syncEachBlob = false

// syncFiles makes the files (all in dir) durable with one syncfs(2) of the
// file system that holds dir: one journal commit for a whole batch of
// blobs instead of one per blob. Since Linux 5.8 syncfs reports writeback
// errors of the file system.
func syncFiles(dir string, _ []string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.Syncfs(int(f.Fd()))
}
