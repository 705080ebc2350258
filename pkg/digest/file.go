package digest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"sync"
)

// chunkSize is the read size: large enough that syscalls cost little next to
// hashing, small enough that the chunk stays in the core's L2 cache between
// the copy and the hash.
const chunkSize = 256 << 10

// pipelineMin is the size from which a file may be read by a separate
// goroutine while the previous chunk is hashed: SHA-256 of one stream is
// sequential, but the copy out of the page cache can run on another core.
// That costs more CPU in all (the chunks cross cores), so it is done only
// when a worker would otherwise sit idle.
const pipelineMin = 16 * chunkSize

var bufPool = sync.Pool{New: func() any { b := make([]byte, chunkSize); return &b }}

// hashFile hashes one file and checks that it did not change meanwhile;
// spare says a core is free to read ahead.
func hashFile(ctx context.Context, e *entry, opts *Options, spare bool) (string, error) {
	f, err := openRead(e.path)
	if err != nil {
		return "", fmt.Errorf("hashing %s: %w", e.name, err)
	}
	defer f.Close()
	before, err := stableID(f, e)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	read := readChunks
	if spare && before.size >= pipelineMin {
		read = readPipelined
	}
	n, err := read(ctx, h, f, e.path, opts)
	if err != nil {
		return "", fmt.Errorf("hashing %s: %w", e.name, err)
	}
	if err := checkAfter(f, e, before, n); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// stableID returns the identity of the open file and checks it is the one
// the walk saw.
func stableID(f *os.File, e *entry) (fileID, error) {
	fi, err := f.Stat()
	if err != nil {
		return fileID{}, fmt.Errorf("hashing %s: %w", e.name, err)
	}
	if !fi.Mode().IsRegular() {
		return fileID{}, fmt.Errorf("%w: %s (%s)", ErrSpecialFile, e.path, fi.Mode().Type())
	}
	id := idOf(fi)
	if id != e.id {
		return id, changed(e, "between the walk and the read", e.id, id)
	}
	return id, nil
}

// checkAfter checks that the file read n bytes, still has the identity it
// had when opened, and is still the file at its path.
func checkAfter(f *os.File, e *entry, before fileID, n int64) error {
	if n != before.size {
		return fmt.Errorf("%w: %s: read %d bytes, want %d", ErrChangedWhileHashing, e.name, n, before.size)
	}
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("hashing %s: %w", e.name, err)
	}
	if id := idOf(fi); id != before {
		return changed(e, "while it was read", before, id)
	}
	fi, err = os.Stat(e.path)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrChangedWhileHashing, e.name, err)
	}
	if id := idOf(fi); id != before {
		return changed(e, "replaced while it was read", before, id)
	}
	return nil
}

func changed(e *entry, when string, want, got fileID) error {
	return fmt.Errorf("%w: %s: %s: %s", ErrChangedWhileHashing, e.name, when, diffID(got, want))
}

// readChunks streams f into h in chunkSize reads and returns the bytes read.
func readChunks(ctx context.Context, h hash.Hash, f io.Reader, path string, opts *Options) (int64, error) {
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	var total int64
	for {
		if err := ctx.Err(); err != nil {
			return total, context.Cause(ctx)
		}
		n, err := f.Read(buf)
		h.Write(buf[:n])
		total += int64(n)
		if n > 0 && opts.Progress != nil {
			opts.Progress(int64(n))
		}
		if opts.afterChunk != nil {
			opts.afterChunk(path)
		}
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}
