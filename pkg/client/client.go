// Package client is the Go client of dossierd's HTTP API v1, built so that
// it cannot fail a training job: with an outbox directory configured, every
// submission is first written durably to the outbox and then delivered in
// order; when the daemon is down, overloaded or refuses for time (503), the
// entries stay and are retried later with backoff (Flush, FlushLoop).
//
//	c, _ := client.New("https://dossierd.dmz:8443", client.Options{Token: tok, OutboxDir: "/var/spool/dossier"})
//	c.RegisterRun(ctx, run.Registration{RunID: "llama-ft-7", ...})
//	c.Submit(ctx, "llama-ft-7", "dataset", predicate)
//	defer c.CloseRun(ctx, "llama-ft-7", "completed", "")
//
// Idempotency keys follow IdempotencyKey, so a retry never forks a run.
package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/dossier-audit/dossier/pkg/record"
	"github.com/dossier-audit/dossier/pkg/run"
)

// Options configure a Client. Zero values are defaults.
type Options struct {
	// Token is sent as "Authorization: Bearer <Token>" (a token from the
	// daemon's tokens file or a workload JWT).
	Token string
	// TLS configures HTTPS (client certificates for mTLS, a private CA).
	TLS *tls.Config
	// OutboxDir enables the durable outbox; without it a failed delivery
	// is returned as an error.
	OutboxDir string
	// HTTPClient replaces the default client (30 s timeout).
	HTTPClient *http.Client
	// Now is the clock for producedAt and backoff; default time.Now.
	Now func() time.Time
	// Producer fills the predicate's producer when absent; default the
	// workload "workload:<hostname>".
	Producer *record.Producer
	// Attempt fills the predicate's attempt when absent; default 1.
	Attempt int
}

// Client talks to one dossierd.
type Client struct {
	base    *url.URL
	opts    Options
	http    *http.Client
	outbox  *outbox
	backoff backoff
	flushMu sync.Mutex
}

// Result is the daemon's answer to a record submission. Queued is true when
// the record is durable in the outbox but not yet acknowledged by the
// daemon; the other fields are then empty.
type Result struct {
	Record          string   `json:"record"`
	Stream          string   `json:"stream,omitempty"`
	Seq             int64    `json:"seq"`
	Prev            string   `json:"prev,omitempty"`
	LogIndex        int64    `json:"logIndex"`
	Receipt         string   `json:"receipt,omitempty"`
	ReceiptLogIndex int64    `json:"receiptLogIndex,omitempty"`
	ReceivedAt      string   `json:"receivedAt,omitempty"`
	TimeVerdict     string   `json:"timeVerdict,omitempty"`
	Flags           []string `json:"flags,omitempty"`

	Queued bool   `json:"queued,omitempty"`
	Key    string `json:"idempotencyKey"`
}

// Run is the daemon's answer to a run registration. Digest and Tag are
// computed locally (the run root is deterministic) when the registration is
// still queued.
type Run struct {
	RunID  string `json:"runId"`
	Digest string `json:"digest"`
	Tag    string `json:"tag"`
	Queued bool   `json:"queued,omitempty"`
}

// ErrBadURL is returned by New for an unusable base URL.
var ErrBadURL = errors.New("invalid dossierd URL")

// New returns a client for the daemon at baseURL ("https://host:port").
func New(baseURL string, opts Options) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: %q, want http(s)://host:port", ErrBadURL, baseURL)
	}
	c := &Client{base: u, opts: opts, http: opts.HTTPClient}
	if c.opts.Now == nil {
		c.opts.Now = time.Now
	}
	if c.opts.Attempt == 0 {
		c.opts.Attempt = 1
	}
	if c.http == nil {
		c.http = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: opts.TLS, Proxy: http.ProxyFromEnvironment},
			// Never follow a redirect: the token and the body stay with the
			// configured daemon; a 3xx is a final refusal.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	c.backoff = backoff{now: c.opts.Now, min: time.Second, max: 5 * time.Minute}
	if opts.OutboxDir != "" {
		if c.outbox, err = openOutbox(opts.OutboxDir); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// RegisterRun registers a run. startedBy defaults to the client's
// producer. Leave startedAt empty to let the daemon stamp it: a repeated
// registration (a restarted job) then matches the first one; a queued
// registration without startedAt has no local digest yet.
func (c *Client) RegisterRun(ctx context.Context, reg run.Registration) (*Run, error) {
	if reg.StartedBy.ID == "" {
		p := c.producer()
		reg.StartedBy = run.Identity{ID: p.ID, Name: p.Name, Kind: p.Kind}
	}
	local := &Run{RunID: reg.RunID, Queued: true}
	var body []byte
	if reg.StartedAt != "" {
		root, err := run.New(reg)
		if err != nil {
			return nil, err
		}
		body, local.Digest, local.Tag = root.RegistrationJSON, root.Digest(), root.Tag()
	} else {
		reg.StartedAt = "2000-01-01T00:00:00Z" // validate everything else
		if _, err := run.New(reg); err != nil {
			return nil, err
		}
		reg.StartedAt = ""
		body, _ = json.Marshal(reg)
	}
	e := &Entry{Method: http.MethodPost, Path: "/v1/runs", Body: string(body), RunID: reg.RunID, Kind: "run",
		Key: IdempotencyKey(reg.RunID, "register", 0, ContentDigest(body))}
	var out Run
	queued, err := c.deliver(ctx, e, &out)
	if err != nil || queued {
		return local, err
	}
	return &out, nil
}

// SubmitOption adjusts one submission.
type SubmitOption func(*submitConfig)

type submitConfig struct{ step string }

// WithStep names the logical event within the run for the idempotency key
// (default: the record kind).
func WithStep(step string) SubmitOption { return func(s *submitConfig) { s.step = step } }

// Submit sends an unsigned predicate of kind for the daemon to sign. The
// common fields runId, attempt, producedAt and producer are filled in when
// the predicate lacks them.
func (c *Client) Submit(ctx context.Context, runID, kind string, predicate any, opts ...SubmitOption) (*Result, error) {
	if _, ok := record.LookupKind(kind); !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownKind, kind)
	}
	pred, err := c.fill(runID, predicate)
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(map[string]any{"kind": kind, "predicate": pred})
	if err != nil {
		return nil, err
	}
	return c.submit(ctx, runID, kind, c.attemptOf(pred), body, opts)
}

// SubmitBundle sends a record already signed by a pipeline key the daemon's
// keyring allows; bundle is its exact bytes.
func (c *Client) SubmitBundle(ctx context.Context, runID string, bundle []byte, opts ...SubmitOption) (*Result, error) {
	body, err := json.Marshal(map[string]any{"bundle": bundle})
	if err != nil {
		return nil, err
	}
	return c.submit(ctx, runID, "bundle", c.opts.Attempt, body, append([]SubmitOption{WithStep("bundle:" + ContentDigest(bundle))}, opts...))
}

// CloseRun sends the run-closed record: status "completed", "failed" or
// "aborted" (the latter two need a reason).
func (c *Client) CloseRun(ctx context.Context, runID, status, reason string) (*Result, error) {
	p := map[string]any{"status": status}
	if reason != "" {
		p["reason"] = reason
	}
	return c.Submit(ctx, runID, "run-closed", p)
}

// ErrUnknownKind is returned for a record kind the client does not know.
var ErrUnknownKind = errors.New("unknown record kind")

func (c *Client) submit(ctx context.Context, runID, kind string, attempt int, body []byte, opts []SubmitOption) (*Result, error) {
	cfg := submitConfig{step: kind}
	for _, o := range opts {
		o(&cfg)
	}
	e := &Entry{Method: http.MethodPost, Path: "/v1/runs/" + url.PathEscape(runID) + "/records", Body: string(body),
		RunID: runID, Kind: kind, Key: IdempotencyKey(runID, cfg.step, attempt, ContentDigest(body))}
	var out Result
	queued, err := c.deliver(ctx, e, &out)
	if err != nil {
		return nil, err
	}
	if queued {
		return &Result{Queued: true, Key: e.Key}, nil
	}
	out.Key = e.Key
	return &out, nil
}

// fill decodes the predicate into a JSON object and adds the missing
// common fields.
func (c *Client) fill(runID string, predicate any) (map[string]any, error) {
	raw, ok := predicate.([]byte)
	if !ok {
		if rm, isRaw := predicate.(json.RawMessage); isRaw {
			raw = rm
		} else {
			var err error
			if raw, err = json.Marshal(predicate); err != nil {
				return nil, fmt.Errorf("predicate: %w", err)
			}
		}
	}
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(&m); err != nil || m == nil {
		return nil, fmt.Errorf("%w: predicate is not a JSON object", ErrInvalidPredicate)
	}
	setDefault(m, "runId", runID)
	setDefault(m, "attempt", c.opts.Attempt)
	setDefault(m, "producedAt", c.opts.Now().UTC().Format(time.RFC3339Nano))
	setDefault(m, "producer", c.producer())
	return m, nil
}

// ErrInvalidPredicate is returned for a predicate that is not a JSON object.
var ErrInvalidPredicate = errors.New("invalid predicate")

func setDefault(m map[string]any, k string, v any) {
	if _, ok := m[k]; !ok {
		m[k] = v
	}
}

func (c *Client) attemptOf(m map[string]any) int {
	if n, ok := m["attempt"].(json.Number); ok {
		if v, err := n.Int64(); err == nil {
			return int(v)
		}
	}
	if v, ok := m["attempt"].(int); ok {
		return v
	}
	return c.opts.Attempt
}

func (c *Client) producer() record.Producer {
	if c.opts.Producer != nil {
		return *c.opts.Producer
	}
	h, _ := os.Hostname()
	if h == "" {
		h = "unknown-host"
	}
	return record.Producer{ID: "workload:" + h, Name: h, Kind: "workload"}
}

// send performs one request and decodes a 2xx answer into out.
func (c *Client) send(ctx context.Context, e *Entry, out any) error {
	req, err := http.NewRequestWithContext(ctx, e.Method, strings.TrimSuffix(c.base.String(), "/")+e.Path, strings.NewReader(e.Body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, application/problem+json")
	req.Header.Set("Idempotency-Key", e.Key)
	if c.opts.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.opts.Token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return &NetError{Err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return &NetError{Err: err}
	}
	if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusCreated {
		if err := json.Unmarshal(b, out); err != nil {
			return &NetError{Err: fmt.Errorf("decoding the daemon's answer: %w", err)}
		}
		return nil
	}
	return newProblem(resp, b)
}
