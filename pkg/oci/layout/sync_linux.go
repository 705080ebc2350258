package layout

import (
	"os"
	"sync"
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

func fsync(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
