package ingest

import (
	"bufio"
	"bytes"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestRefusals(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.Limits.MaxBodyBytes = 64 << 10
	d := startDaemon(t, cfg)
	registerRun(t, d, testRunID)
	good := datasetBody(t, testRunID, 0)
	records := d.url + "/v1/runs/" + testRunID + "/records"
	cases := []struct {
		name        string
		method, url string
		token       string
		body        []byte
		hdr         []string
		status      int
		code        string
	}{
		{"no credentials", "POST", records, "", good, nil, 401, CodeUnauthenticated},
		{"unknown token", "POST", records, "nope", good, nil, 401, CodeUnauthenticated},
		{"unknown run unauthenticated", "POST", d.url + "/v1/runs/no-such-run/records", "", good, nil, 401, CodeUnauthenticated},
		{"wrong role", "POST", records, tokReviewer, good, nil, 403, CodeForbidden},
		{"wrong role unknown run", "POST", d.url + "/v1/runs/no-such-run/records", tokReviewer, good, nil, 403, CodeForbidden},
		{"reader role on read", "GET", d.url + "/v1/runs/" + testRunID, tokProducer, nil, nil, 403, CodeForbidden},
		{"unknown run", "POST", d.url + "/v1/runs/no-such-run/records", tokProducer, good, nil, 404, CodeNotFound},
		{"not json", "POST", records, tokProducer, []byte(`{"kind":`), nil, 400, CodeMalformed},
		{"duplicate key", "POST", records, tokProducer, []byte(`{"kind":"dataset","kind":"dataset","predicate":{}}`), nil, 400, CodeMalformed},
		{"unknown field", "POST", records, tokProducer, []byte(`{"kind":"dataset","predicate":{},"extra":1}`), nil, 400, CodeMalformed},
		{"both modes", "POST", records, tokProducer, []byte(`{"kind":"dataset","predicate":{},"bundle":"AA=="}`), nil, 400, CodeMalformed},
		{"invalid predicate", "POST", records, tokProducer, []byte(`{"kind":"dataset","predicate":{"runId":"x"}}`), nil, 422, CodeInvalidRecord},
		{"log-scoped kind", "POST", records, tokProducer, []byte(`{"kind":"time-evidence","predicate":{}}`), nil, 422, CodeInvalidRecord},
		{"other run's predicate", "POST", records, tokProducer, datasetBody(t, "other-run", 0), nil, 422, CodeInvalidRecord},
		{"untrusted bundle key", "POST", records, tokProducer, []byte(`{"bundle":"` + b64(signedBundle(t, testRunID)) + `"}`), nil, 403, CodeKeyNotAllowed},
		{"unknown time evidence", "POST", records, tokProducer, bytes.Replace(good, []byte(`"producedAt"`), []byte(`"timeEvidence":{"digest":"sha256:`+strings.Repeat("1", 64)+`"},"producedAt"`), 1), nil, 422, CodeInvalidRecord},
		{"bundle not base64", "POST", records, tokProducer, []byte(`{"bundle":"%%%"}`), nil, 400, CodeMalformed},
		{"oversize", "POST", records, tokProducer, bytes.Repeat([]byte(" "), 65<<10), nil, 413, CodeTooLarge},
		{"content type", "POST", records, tokProducer, good, []string{"Content-Type", "text/plain"}, 415, CodeUnsupportedMedia},
		{"gzip", "POST", records, tokProducer, good, []string{"Content-Encoding", "gzip"}, 415, CodeUnsupportedMedia},
		{"bad idempotency key", "POST", records, tokProducer, good, []string{"Idempotency-Key", "has space"}, 400, CodeIdempotencyMalformed},
		{"bad digest", "GET", d.url + "/v1/records/sha256:XY", tokReviewer, nil, nil, 400, CodeMalformed},
		{"unknown record", "GET", d.url + "/v1/records/sha256:" + strings.Repeat("0", 64), tokReviewer, nil, nil, 404, CodeNotFound},
		{"wrong method", "DELETE", records, tokProducer, nil, nil, 405, CodeMethod},
		{"no such endpoint", "GET", d.url + "/v2/x", "", nil, nil, 404, CodeNotFound},
		{"metrics need operator", "GET", d.url + "/metrics", tokReviewer, nil, nil, 403, CodeForbidden},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := do(t, tc.method, tc.url, tc.token, tc.body, tc.hdr...)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
				t.Fatalf("content type %q", ct)
			}
			p := r.problem(t)
			if p.Code != tc.code || p.Type != ErrorTypeBase+tc.code || p.Status != tc.status || p.Title == "" {
				t.Fatalf("problem %+v, want code %s", p, tc.code)
			}
		})
	}
	// Nothing refused was appended: the run has no records.
	if r := do(t, "GET", records, tokReviewer, nil); !bytes.Contains(r.body, []byte(`"records":[]`)) {
		t.Fatalf("records after refusals: %s", r.body)
	}
}

func TestSlowClientsAreCut(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.Limits.ReadHeaderTimeout = Duration(200 * time.Millisecond)
	cfg.Limits.ReadTimeout = Duration(400 * time.Millisecond)
	d := startDaemon(t, cfg)
	addr := strings.TrimPrefix(d.url, "http://")
	for _, tc := range []struct{ name, send string }{
		{"slowloris headers", "POST /v1/runs HTTP/1.1\r\nHost: x\r\n"},
		{"stalled body", "POST /v1/runs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + tokProducer +
			"\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.Dial("tcp", addr)
			must(t, err)
			defer c.Close()
			_, err = c.Write([]byte(tc.send))
			must(t, err)
			must(t, c.SetReadDeadline(time.Now().Add(5*time.Second)))
			start := time.Now()
			res, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err == nil {
				res.Body.Close()
				if res.StatusCode < 400 {
					t.Fatalf("slow client got %d", res.StatusCode)
				}
			}
			if time.Since(start) > 3*time.Second {
				t.Fatalf("connection held %v", time.Since(start))
			}
		})
	}
	// The daemon still serves others.
	registerRun(t, d, testRunID)
}

func TestConcurrentDuplicatesOneRecord(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, testConfig(t))
	registerRun(t, d, testRunID)
	body := datasetBody(t, testRunID, 7)
	const n = 32
	var wg sync.WaitGroup
	statuses := make([]int, n)
	answers := make([]SubmitResult, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := submit(t, d, testRunID, body, "same-key")
			statuses[i] = r.status
			if r.status < 300 {
				answers[i] = decodeResult(t, r)
			}
		}()
	}
	wg.Wait()
	created, receipt := 0, ""
	for i, s := range statuses {
		switch s {
		case 201:
			created++
			receipt = answers[i].Receipt
		case 200, 409:
		default:
			t.Fatalf("status %d", s)
		}
	}
	if created != 1 {
		t.Fatalf("%d created, want 1 (statuses %v)", created, statuses)
	}
	for i, s := range statuses {
		if s == 200 && answers[i].Receipt != receipt {
			t.Fatalf("replay answer %+v differs", answers[i])
		}
	}
	r := do(t, "GET", d.url+"/v1/runs/"+testRunID+"/records", tokReviewer, nil)
	var rl RecordList
	must(t, jsonUnmarshal(r.body, &rl))
	if len(rl.Records) != 1 {
		t.Fatalf("%d records, want 1", len(rl.Records))
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestEveryRefusalIsLogged(t *testing.T) {
	t.Parallel()
	var buf syncBuffer
	d := startDaemonLogging(t, testConfig(t), slog.New(slog.NewJSONHandler(&buf, nil)))
	records := d.url + "/v1/runs/" + testRunID + "/records"
	statuses := []int{
		do(t, "POST", records, "", []byte(`{}`)).status,
		do(t, "POST", records, tokReviewer, []byte(`{}`)).status,
		do(t, "POST", records, tokProducer, []byte(`{}`)).status,
		do(t, "DELETE", records, tokProducer, nil).status,
		do(t, "GET", d.url+"/nope", "", nil).status,
	}
	logs := buf.String()
	if n := strings.Count(logs, `"msg":"request refused"`); n != len(statuses) {
		t.Fatalf("%d refusals logged for statuses %v:\n%s", n, statuses, logs)
	}
	for _, want := range []string{`"code":"unauthenticated"`, `"code":"forbidden"`, `"subject":"erika"`, `"code":"not-found"`, `"code":"method-not-allowed"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %s", want)
		}
	}
}
