package digest

import (
	"context"
	"hash"
	"io"
)

// pipelineDepth is the number of chunk buffers a pipelined read uses.
const pipelineDepth = 3

type chunk struct {
	buf *[]byte
	n   int
	err error
}

// readPipelined is readChunks with the reads done by a second goroutine,
// up to pipelineDepth-1 chunks ahead of the hashing.
func readPipelined(ctx context.Context, h hash.Hash, f io.Reader, path string, opts *Options) (int64, error) {
	full := make(chan chunk, pipelineDepth)
	free := make(chan *[]byte, pipelineDepth)
	for range pipelineDepth {
		free <- bufPool.Get().(*[]byte)
	}
	stop := make(chan struct{})
	go readAhead(f, free, full, stop)
	defer func() {
		close(stop)
		for c := range full { // wait for the reader: f is closed after return
			free <- c.buf
		}
		for range pipelineDepth {
			bufPool.Put(<-free)
		}
	}()
	var total int64
	for c := range full {
		if err := ctx.Err(); err != nil {
			free <- c.buf
			return total, context.Cause(ctx)
		}
		h.Write((*c.buf)[:c.n])
		total += int64(c.n)
		free <- c.buf
		if c.n > 0 && opts.Progress != nil {
			opts.Progress(int64(c.n))
		}
		if opts.afterChunk != nil {
			opts.afterChunk(path)
		}
		if c.err == io.EOF {
			return total, nil
		}
		if c.err != nil {
			return total, c.err
		}
	}
	return total, nil
}

// readAhead reads f into free buffers and sends them on full until an
// error, EOF or stop; it closes full when it returns.
// A buffer it holds when stopped goes back to free.
func readAhead(f io.Reader, free chan *[]byte, full chan<- chunk, stop <-chan struct{}) {
	defer close(full)
	for {
		var buf *[]byte
		select {
		case buf = <-free:
		case <-stop:
			return
		}
		n, err := f.Read(*buf)
		select {
		case full <- chunk{buf: buf, n: n, err: err}:
		case <-stop:
			free <- buf
			return
		}
		if err != nil {
			return
		}
	}
}
