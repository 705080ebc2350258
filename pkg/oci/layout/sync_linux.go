package layout

import (
	"errors"
	"io"
	"os"
	"sync"
	"syscall"
)

// syncEachBlob: blobs are synced together at Commit (syncFiles).
const syncEachBlob = false

// syncParallel is how many staged blobs are fsynced at once: concurrent
// fsyncs share the file system's journal commits.
const syncParallel = 16

// syncFiles makes the staged files durable: an fsync of each, many at
// once, so that one journal commit covers many blobs. (syncfs would be one
// call, but it writes back every dirty page of the file system, the
// log's and other programs' included, and stalls the fsyncs an
// acknowledgement waits for.)
func syncFiles(_ string, paths []string) error {
	errs := make(chan error, len(paths))
	work := make(chan string)
	var wg sync.WaitGroup
	for range min(syncParallel, len(paths)) {
		wg.Go(func() {
			for p := range work {
				errs <- fsync(p)
			}
		})
	}
	for _, p := range paths {
		work <- p
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// fsync opens path and fsyncs it: raw system calls, no *os.File (whose
// open also tries to register the descriptor with the poller).
func fsync(path string) error {
	fd, err := openRetry(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	err = retry(func() error { return syscall.Fsync(fd) })
	if cerr := syscall.Close(fd); err == nil {
		err = cerr
	}
	if err != nil {
		return &os.PathError{Op: "fsync", Path: path, Err: err}
	}
	return nil
}

// writeNew creates path read-only (O_EXCL: an existing file is an error
// wrapping os.ErrExist) and writes content, unsynced (Commit syncs); a
// file it created and could not complete is removed. Raw system calls: a
// staged blob costs open, write, close.
func writeNew(path string, content []byte) error {
	fd, err := openRetry(path, syscall.O_WRONLY|syscall.O_CREAT|syscall.O_EXCL|syscall.O_CLOEXEC, 0o444)
	if err != nil {
		return err
	}
	for len(content) > 0 && err == nil {
		var n int
		n, err = syscall.Write(fd, content)
		if errors.Is(err, syscall.EINTR) {
			err = nil
		} else if err == nil && n == 0 {
			err = io.ErrShortWrite
		}
		content = content[max(n, 0):]
	}
	if cerr := syscall.Close(fd); err == nil {
		err = cerr
	}
	if err != nil {
		syscall.Unlink(path)
		return &os.PathError{Op: "write", Path: path, Err: err}
	}
	return nil
}

func openRetry(path string, flags int, mode uint32) (int, error) {
	for {
		fd, err := syscall.Open(path, flags, mode)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			return -1, &os.PathError{Op: "open", Path: path, Err: err}
		}
		return fd, nil
	}
}

// retry calls f until it does not fail with EINTR.
func retry(f func() error) error {
	for {
		if err := f(); !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}
