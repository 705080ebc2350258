// Package progress draws a one-line progress bar on a terminal (stderr) for
// long commands. It never writes anything when not enabled, so commands
// create a Bar unconditionally and pass env.StderrIsTTY (and not --json).
package progress

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// interval is the minimum time between two redraws.
const interval = 100 * time.Millisecond

// barWidth is the number of cells of the bar itself.
const barWidth = 30

// Bar is a progress bar. Add may be called from several goroutines.
type Bar struct {
	w       io.Writer
	enabled bool
	label   string
	now     func() time.Time
	start   time.Time

	total, done atomic.Int64
	next        atomic.Int64 // unix nanoseconds of the earliest next redraw

	mu       sync.Mutex // serializes drawing
	finished bool
}

// New returns a bar labelled label counting up to total bytes (0: unknown,
// see SetTotal). When enabled is false the bar writes nothing at all.
func New(w io.Writer, enabled bool, total int64, label string) *Bar {
	b := &Bar{w: w, enabled: enabled, label: label, now: time.Now}
	b.start = b.now()
	b.total.Store(total)
	return b
}

// SetTotal sets the number of bytes expected, once it is known.
func (b *Bar) SetTotal(total int64) { b.total.Store(total) }

// Add counts n more bytes done and redraws at most every 100ms.
func (b *Bar) Add(n int64) {
	b.done.Add(n)
	if !b.enabled {
		return
	}
	now := b.now()
	if now.UnixNano() < b.next.Load() || !b.mu.TryLock() {
		return
	}
	defer b.mu.Unlock()
	if !b.finished {
		b.next.Store(now.Add(interval).UnixNano())
		b.draw(now)
	}
}

// Done draws the final state and ends the line. Later calls do nothing.
func (b *Bar) Done() {
	if !b.enabled {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.finished {
		return
	}
	b.finished = true
	b.draw(b.now())
	fmt.Fprint(b.w, "\n")
}

func (b *Bar) draw(now time.Time) {
	done, total := b.done.Load(), b.total.Load()
	rate := ""
	if secs := now.Sub(b.start).Seconds(); secs > 0 {
		rate = "  " + Bytes(int64(float64(done)/secs)) + "/s"
	}
	if total <= 0 {
		fmt.Fprintf(b.w, "\r%s %s%s\x1b[K", b.label, Bytes(done), rate)
		return
	}
	frac := min(float64(done)/float64(total), 1)
	cells := int(frac * barWidth)
	bar := strings.Repeat("=", cells) + strings.Repeat(" ", barWidth-cells)
	fmt.Fprintf(b.w, "\r%s [%s] %3d%%  %s / %s%s\x1b[K",
		b.label, bar, int(frac*100), Bytes(done), Bytes(total), rate)
}

// Bytes formats n with binary units: "512 B", "1.5 KiB", "2.0 GiB".
func Bytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
