package progress

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newTestBar(enabled bool, total int64) (*Bar, *bytes.Buffer, *clock) {
	var buf bytes.Buffer
	b := New(&buf, enabled, total, "hashing")
	c := &clock{t: time.Unix(1000, 0)}
	b.now, b.start = c.now, c.t
	return b, &buf, c
}

func TestDisabledWritesNothing(t *testing.T) {
	t.Parallel()
	b, buf, c := newTestBar(false, 100)
	for range 10 {
		c.t = c.t.Add(time.Second)
		b.Add(10)
	}
	b.Done()
	if buf.Len() != 0 {
		t.Errorf("disabled bar wrote %q", buf.String())
	}
}

func TestRedrawRate(t *testing.T) {
	t.Parallel()
	b, buf, c := newTestBar(true, 1000)
	for range 10 { // within one interval: one draw
		c.t = c.t.Add(5 * time.Millisecond)
		b.Add(1)
	}
	if n := strings.Count(buf.String(), "\r"); n != 1 {
		t.Errorf("%d redraws within 50ms, want 1: %q", n, buf.String())
	}
	c.t = c.t.Add(interval)
	b.Add(490)
	if !strings.Contains(buf.String(), " 50%") || strings.Count(buf.String(), "\r") != 2 {
		t.Errorf("after 100ms: %q, want a second redraw at 50%%", buf.String())
	}
}

func TestDone(t *testing.T) {
	t.Parallel()
	b, buf, c := newTestBar(true, 2<<30)
	c.t = c.t.Add(2 * time.Second)
	b.done.Store(2 << 30)
	b.Done()
	b.Done()
	b.Add(1)
	want := "\rhashing [" + strings.Repeat("=", barWidth) + "] 100%  2.0 GiB / 2.0 GiB  1.0 GiB/s\x1b[K\n"
	if buf.String() != want {
		t.Errorf("Done drew %q, want %q", buf.String(), want)
	}
}

func TestUnknownTotal(t *testing.T) {
	t.Parallel()
	b, buf, _ := newTestBar(true, 0)
	b.Add(1536)
	if !strings.Contains(buf.String(), "hashing 1.5 KiB") {
		t.Errorf("got %q", buf.String())
	}
}

func TestConcurrentAdd(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	b := New(&buf, true, 1000, "x")
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				b.Add(1)
			}
		})
	}
	wg.Wait()
	b.Done()
	if !strings.Contains(buf.String(), "800 B / 1000 B") {
		t.Errorf("final line lacks the count: %q", buf.String())
	}
}

func TestBytes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		n    int64
		want string
	}{{0, "0 B"}, {1023, "1023 B"}, {1024, "1.0 KiB"}, {1536, "1.5 KiB"}, {5 << 20, "5.0 MiB"}, {3 << 40, "3.0 TiB"}} {
		if got := Bytes(tc.n); got != tc.want {
			t.Errorf("Bytes(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}
