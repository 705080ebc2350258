package ingest

import (
	"fmt"
	"io"
	"math"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// metrics are the daemon's Prometheus metrics, written in the text
// exposition format by hand (no dependency).
type metrics struct {
	mu       sync.Mutex
	requests map[[3]string]uint64 // listener, route, status
	latency  map[string]*histogram

	records       atomic.Uint64
	timeRefusals  atomic.Uint64
	refusals      atomic.Uint64
	fsync         *histogram
	appendLatency *histogram
	signLatency   *histogram

	timeMu   sync.Mutex
	verdict  string
	maxError time.Duration
}

var latencyBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

func newMetrics() *metrics {
	return &metrics{requests: map[[3]string]uint64{}, latency: map[string]*histogram{},
		fsync: newHistogram(), appendLatency: newHistogram(), signLatency: newHistogram(), verdict: VerdictUnknown}
}

type histogram struct {
	mu     sync.Mutex
	counts []uint64
	sum    float64
	n      uint64
}

func newHistogram() *histogram { return &histogram{counts: make([]uint64, len(latencyBuckets))} }

func (h *histogram) observe(d time.Duration) {
	v := d.Seconds()
	h.mu.Lock()
	defer h.mu.Unlock()
	for i, b := range latencyBuckets {
		if v <= b {
			h.counts[i]++
		}
	}
	h.sum += v
	h.n++
}

func (h *histogram) write(w io.Writer, name, labels string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	sep := ""
	if labels != "" {
		sep = ","
	}
	for i, b := range latencyBuckets {
		fmt.Fprintf(w, "%s_bucket{%s%sle=\"%g\"} %d\n", name, labels, sep, b, h.counts[i])
	}
	fmt.Fprintf(w, "%s_bucket{%s%sle=\"+Inf\"} %d\n", name, labels, sep, h.n)
	l := ""
	if labels != "" {
		l = "{" + labels + "}"
	}
	fmt.Fprintf(w, "%s_sum%s %g\n%s_count%s %d\n", name, l, h.sum, name, l, h.n)
}

func (m *metrics) request(listener, route string, status int, d time.Duration) {
	m.mu.Lock()
	m.requests[[3]string{listener, route, fmt.Sprint(status)}]++
	h := m.latency[route]
	if h == nil {
		h = newHistogram()
		m.latency[route] = h
	}
	m.mu.Unlock()
	h.observe(d)
}

func (m *metrics) setTime(verdict string, maxError time.Duration) {
	m.timeMu.Lock()
	m.verdict, m.maxError = verdict, maxError
	m.timeMu.Unlock()
}

// gauges are values read at scrape time.
type gauges struct {
	inFlight, pushBacklog, checkpointSize int64
	checkpointAge, pushAge                float64
}

func (m *metrics) write(w io.Writer, g gauges) {
	m.mu.Lock()
	keys := make([][3]string, 0, len(m.requests))
	for k := range m.requests {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return fmt.Sprint(keys[i]) < fmt.Sprint(keys[j]) })
	fmt.Fprintln(w, "# HELP dossierd_requests_total HTTP requests by listener, route and status.\n# TYPE dossierd_requests_total counter")
	for _, k := range keys {
		fmt.Fprintf(w, "dossierd_requests_total{listener=%q,route=%q,code=%q} %d\n", k[0], k[1], k[2], m.requests[k])
	}
	routes := make([]string, 0, len(m.latency))
	for r := range m.latency {
		routes = append(routes, r)
	}
	sort.Strings(routes)
	fmt.Fprintln(w, "# HELP dossierd_request_duration_seconds Request latency by route.\n# TYPE dossierd_request_duration_seconds histogram")
	for _, r := range routes {
		m.latency[r].write(w, "dossierd_request_duration_seconds", fmt.Sprintf("route=%q", r))
	}
	m.mu.Unlock()
	counter(w, "dossierd_records_acknowledged_total", "Records acknowledged durable and sequenced.", float64(m.records.Load()))
	counter(w, "dossierd_time_refusals_total", "Submissions refused by the time gate.", float64(m.timeRefusals.Load()))
	counter(w, "dossierd_auth_refusals_total", "Requests refused for authentication or role.", float64(m.refusals.Load()))
	fmt.Fprintln(w, "# HELP dossierd_journal_fsync_seconds Answer journal group commit (write+fsync).\n# TYPE dossierd_journal_fsync_seconds histogram")
	m.fsync.write(w, "dossierd_journal_fsync_seconds", "")
	fmt.Fprintln(w, "# HELP dossierd_log_append_seconds Durable log append of a record (bundle fsync + Tessera integration).\n# TYPE dossierd_log_append_seconds histogram")
	m.appendLatency.write(w, "dossierd_log_append_seconds", "")
	fmt.Fprintln(w, "# HELP dossierd_sign_seconds Signing with the ingest key.\n# TYPE dossierd_sign_seconds histogram")
	m.signLatency.write(w, "dossierd_sign_seconds", "")
	gauge(w, "dossierd_queue_depth", "Submissions outstanding.", float64(g.inFlight))
	gauge(w, "dossierd_push_backlog", "Log leaves not yet pushed to the registry/layout.", float64(g.pushBacklog))
	gauge(w, "dossierd_push_backlog_age_seconds", "Age of the oldest unpushed leaf (0 when none).", g.pushAge)
	gauge(w, "dossierd_checkpoint_size", "Tree size of the published checkpoint.", float64(g.checkpointSize))
	gauge(w, "dossierd_checkpoint_age_seconds", "Age of the published checkpoint.", g.checkpointAge)
	m.timeMu.Lock()
	defer m.timeMu.Unlock()
	gauge(w, "dossierd_clock_error_bound_seconds", "Proved bound on the clock error at the last check.", m.maxError.Seconds())
	fmt.Fprintln(w, "# HELP dossierd_time_verdict Current time verdict (1 for the current one).\n# TYPE dossierd_time_verdict gauge")
	for _, v := range []string{"good", "degraded", "untraceable", "bad", VerdictUnknown} {
		x := 0
		if v == m.verdict {
			x = 1
		}
		fmt.Fprintf(w, "dossierd_time_verdict{verdict=%q} %d\n", v, x)
	}
}

func counter(w io.Writer, name, help string, v float64) {
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s counter\n%s %s\n", name, help, name, name, num(v))
}

func gauge(w io.Writer, name, help string, v float64) {
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s gauge\n%s %s\n", name, help, name, name, num(v))
}

func num(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return fmt.Sprintf("%d", int64(v))
	}
	return fmt.Sprintf("%g", v)
}
