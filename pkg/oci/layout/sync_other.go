//go:build !linux

package layout

import "os"

// syncEachBlob: here every blob is fsynced as it is written
// (writeBlob), before Commit renames it into place.
const syncEachBlob = true

func syncFiles(string, []string) error { return nil }

// writeNew creates path read-only (O_EXCL: an existing file is an error
// wrapping os.ErrExist) and writes and fsyncs content; a file it created
// and could not complete is removed.
func writeNew(path string, content []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o444)
	if err != nil {
		return err
	}
	_, err = f.Write(content)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
	}
	return err
}
