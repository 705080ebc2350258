package doctor

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Target is a daemon seen from a client host (a training node): its URL,
// the credentials the pipeline uses and its outbox.
type Target struct {
	URL    string
	Token  string
	TLS    *tls.Config
	Outbox string
}

// RunClient checks what a pipeline needs: the daemon reachable (TLS
// included), ready to accept records (its time gate), the token accepted,
// and the local outbox empty of dead letters and not backed up.
func RunClient(ctx context.Context, t Target, opts Options) *Report {
	if opts.HTTP == nil {
		opts.HTTP = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: t.TLS}}
	}
	d := &doctor{opts: opts}
	base := strings.TrimSuffix(t.URL, "/")
	if d.ready(ctx, base) {
		d.token(ctx, base, t.Token)
	}
	d.outbox(t.Outbox)
	return finish(d)
}

func finish(d *doctor) *Report {
	r := &Report{Checks: d.checks, Healthy: true}
	for _, c := range d.checks {
		if c.Status == Fail {
			r.Healthy = false
		}
	}
	return r
}

func (d *doctor) get(ctx context.Context, url, token string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := d.opts.HTTP.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, b, nil
}

// ready asks /readyz; it reports whether the daemon answered at all.
func (d *doctor) ready(ctx context.Context, base string) bool {
	code, body, err := d.get(ctx, base+"/readyz", "")
	if err != nil {
		d.add("daemon", Fail, "unreachable: "+err.Error(), "check the URL, the firewall between this segment and the DMZ (the ingest port only), and the CA bundle (--ca)")
		return false
	}
	var st struct {
		Ready  bool   `json:"ready"`
		Reason string `json:"reason"`
		Time   struct {
			Verdict string `json:"verdict"`
		} `json:"time"`
	}
	_ = json.Unmarshal(body, &st)
	switch {
	case code == http.StatusOK && st.Ready:
		d.add("daemon", OK, fmt.Sprintf("ready (time verdict %s)", firstOf(st.Time.Verdict, "unknown")), "")
	case code == http.StatusServiceUnavailable:
		d.add("daemon", Warn, "not accepting records now: "+st.Reason, "records wait in the outbox until it is; the operator should run 'dossier doctor --config' on the daemon host")
	default:
		d.add("daemon", Fail, fmt.Sprintf("/readyz answered %d: is this a dossierd ingest listener?", code), "check the URL")
	}
	return true
}

// token probes GET /v1/checkpoint, open to every role on every listener:
// 200 means the credential is accepted, 401 refused, 403 without a role.
func (d *doctor) token(ctx context.Context, base, token string) {
	if token == "" {
		d.add("credentials", Warn, "no bearer token (mTLS or none)", "set DOSSIER_TOKEN or --token-file unless the daemon uses client certificates")
		return
	}
	code, _, err := d.get(ctx, base+"/v1/checkpoint", token)
	switch {
	case err != nil:
		d.add("credentials", Fail, err.Error(), "")
	case code == http.StatusUnauthorized:
		d.add("credentials", Fail, "the daemon refuses the token (401)", "ask the operator for a token listed in the daemon's tokens file, or check DOSSIER_TOKEN_FILE")
	case code == http.StatusForbidden:
		d.add("credentials", Fail, "the token is known but holds no role (403)", "ask the operator to give it the producer role")
	case code == http.StatusOK:
		d.add("credentials", OK, "token accepted", "")
	default:
		d.add("credentials", Warn, fmt.Sprintf("GET /v1/checkpoint answered %d", code), "is the URL the daemon's ingest listener?")
	}
}

func (d *doctor) outbox(dir string) {
	if dir == "" {
		d.add("outbox", Warn, "no outbox: a daemon outage makes submissions fail", "set DOSSIER_OUTBOX to a directory on local disk")
		return
	}
	pending, _ := filepath.Glob(filepath.Join(dir, "[0-9]*.json"))
	dead, _ := filepath.Glob(filepath.Join(dir, "dead", "[0-9]*[0-9].json"))
	if _, err := os.Stat(dir); os.IsNotExist(err) {
		d.add("outbox", OK, dir+" not created yet", "")
		return
	}
	switch {
	case len(dead) > 0:
		d.add("outbox", Fail, fmt.Sprintf("%d records refused for good in %s/dead (%d pending)", len(dead), dir, len(pending)),
			"read the .problem.json beside each; fix and resubmit with 'dossier submit', then remove the dead entry")
	case len(pending) > 0:
		d.add("outbox", Warn, fmt.Sprintf("%d records pending in %s", len(pending), dir), "deliver them with 'dossier submit flush'")
	default:
		d.add("outbox", OK, "empty: everything was delivered", "")
	}
}

func firstOf(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
