package console_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dossier-audit/dossier/pkg/console"
	"github.com/dossier-audit/dossier/pkg/console/consoletest"
	"github.com/dossier-audit/dossier/pkg/ingest/auth"
	"github.com/dossier-audit/dossier/pkg/keyring"
)

// tokens is a test Authenticator: bearer token → identity.
type tokens map[string]auth.Identity

func (t tokens) Authenticate(r *http.Request) (*auth.Identity, error) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	id, found := t[tok]
	if !ok || !found {
		return nil, fmt.Errorf("%w: unknown token", auth.ErrUnauthenticated)
	}
	return &id, nil
}

var testTokens = tokens{
	"rev-token":  {Subject: "rita", Name: "Rita Reviewer", Roles: []string{auth.RoleReviewer, auth.RoleExporter}, Method: auth.MethodToken},
	"prod-token": {Subject: "ci", Name: "pipeline", Roles: []string{auth.RoleProducer}, Method: auth.MethodToken},
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type env struct {
	srv   *httptest.Server
	b     *consoletest.Backend
	clock *clock
}

func newEnv(t *testing.T, runs, records int) *env {
	t.Helper()
	c := &clock{t: time.Date(2026, 11, 27, 4, 0, 0, 0, time.UTC)}
	b, err := consoletest.New(runs, records, c.Now)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/console/", console.New(b, console.Options{Auth: testTokens, Now: c.Now, IdleTimeout: 10 * time.Minute, PageSize: 20}))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &env{srv: srv, b: b, clock: c}
}

// client returns a browser-like client: cookies kept, redirects followed.
func (e *env) client(t *testing.T) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func get(t *testing.T, c *http.Client, u string) (int, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func post(t *testing.T, c *http.Client, u string, form url.Values) (int, string) {
	t.Helper()
	resp, err := c.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func csrfOf(t *testing.T, page string) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no csrf field in page:\n%s", page)
	}
	return m[1]
}

// signIn exchanges token for a session; it returns the status of the
// sign-in and the page shown after it.
func (e *env) signIn(t *testing.T, c *http.Client, token string) (int, string) {
	t.Helper()
	_, page := get(t, c, e.srv.URL+"/console/login")
	return post(t, c, e.srv.URL+"/console/login", url.Values{"csrf": {csrfOf(t, page)}, "token": {token}})
}

func TestSignIn(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, token string
		status      int
		want        string
	}{
		{"reviewer token opens the queue", "rev-token", http.StatusOK, "My approval queue"},
		{"producer token is refused", "prod-token", http.StatusForbidden, "no console role"},
		{"unknown token", "nope", http.StatusUnauthorized, "sign-in failed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, 2, 3)
			c := e.client(t)
			status, page := e.signIn(t, c, tc.token)
			if status != tc.status || !strings.Contains(page, tc.want) {
				t.Fatalf("sign-in: status %d, want %d; page lacks %q:\n%s", status, tc.status, tc.want, page)
			}
			if tc.status != http.StatusOK {
				if status, _ := get(t, c, e.srv.URL+"/console/queue"); status != http.StatusOK {
					t.Fatalf("queue after refused sign-in: status %d, want 200 (the sign-in page)", status)
				}
				if _, page := get(t, c, e.srv.URL+"/console/queue"); strings.Contains(page, "My approval queue") {
					t.Fatal("queue shown without a session")
				}
			}
		})
	}
}

func TestSessionCookie(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1, 3)
	c := e.client(t)
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	_, page := get(t, c, e.srv.URL+"/console/login")
	resp, err := c.PostForm(e.srv.URL+"/console/login", url.Values{"csrf": {csrfOf(t, page)}, "token": {"rev-token"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var found bool
	for _, ck := range resp.Cookies() {
		if ck.Name == "dossier_console" && ck.MaxAge >= 0 {
			found = true
			if !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/console/" {
				t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Strict, Path=/console/", ck)
			}
		}
	}
	if !found || resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: status %d, session cookie %t; want 303 and a cookie", resp.StatusCode, found)
	}
}

func TestCSRF(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, path string
		form       url.Values
	}{
		{"export without token", "/console/exports", url.Values{"run": {"run-001"}, "reason": {"audit"}, "organisation": {"EMA"}}},
		{"export with a wrong token", "/console/exports", url.Values{"csrf": {"forged"}, "run": {"run-001"}, "reason": {"audit"}, "organisation": {"EMA"}}},
		{"sign out without token", "/console/logout", url.Values{}},
		{"sign in without token", "/console/login", url.Values{"token": {"rev-token"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, 1, 3)
			c := e.client(t)
			if tc.path != "/console/login" {
				e.signIn(t, c, "rev-token")
			}
			if status, _ := post(t, c, e.srv.URL+tc.path, tc.form); status != http.StatusForbidden {
				t.Fatalf("status %d, want 403", status)
			}
			if ex, _ := e.b.Exports(t.Context(), console.Page{Limit: 10}); ex.Total != 0 {
				t.Fatalf("%d exports made by a refused post", ex.Total)
			}
		})
	}
}

func TestIdleTimeout(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1, 3)
	c := e.client(t)
	e.signIn(t, c, "rev-token")
	e.clock.Add(9 * time.Minute)
	if _, page := get(t, c, e.srv.URL+"/console/runs"); !strings.Contains(page, "Runs and releases") {
		t.Fatal("session ended before the idle timeout")
	}
	e.clock.Add(9 * time.Minute) // 9 min after the last request: still alive
	if _, page := get(t, c, e.srv.URL+"/console/runs"); !strings.Contains(page, "Runs and releases") {
		t.Fatal("a request did not extend the session")
	}
	e.clock.Add(11 * time.Minute)
	if _, page := get(t, c, e.srv.URL+"/console/runs"); !strings.Contains(page, "Sign in") || strings.Contains(page, "run-001") {
		t.Fatal("session still open after the idle timeout")
	}
}

func TestEscaping(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1, 3)
	c := e.client(t)
	e.signIn(t, c, "rev-token")
	for _, path := range []string{"/console/runs/run-001/review.html", "/console/runs/run-001"} {
		status, page := get(t, c, e.srv.URL+path)
		if status != http.StatusOK {
			t.Fatalf("%s: status %d", path, status)
		}
		if strings.Contains(page, "<script>") || strings.Contains(page, "<b>bold") {
			t.Fatalf("%s: record field rendered as HTML", path)
		}
	}
	_, page := get(t, c, e.srv.URL+"/console/runs/run-001/review.html")
	if !strings.Contains(page, "&lt;script&gt;") {
		t.Fatal("the hostile dataset name is not shown as text")
	}
}

func upload(t *testing.T, c *http.Client, u, csrf string, bundle []byte) (int, string) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if csrf != "" {
		_ = mw.WriteField("csrf", csrf)
	}
	fw, _ := mw.CreateFormFile("bundle", "approval.json")
	fw.Write(bundle)
	mw.Close()
	resp, err := c.Post(u, mw.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestUploadApproval(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 2, 5)
	c := e.client(t)
	e.signIn(t, c, "rev-token")
	run1, _ := e.b.Run(t.Context(), "run-001")
	run2, _ := e.b.Run(t.Context(), "run-002")
	good, err := e.b.Approve(run1, e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	other, _ := e.b.Approve(run2, e.clock.Now())
	_, page := get(t, c, e.srv.URL+"/console/runs/run-001")
	if !strings.Contains(page, run1.ViewDigest) || !strings.Contains(page, "dossier approve --review review-run-001.html") {
		t.Fatal("run page lacks the view digest or the approve command")
	}
	csrf := csrfOf(t, page)
	u := e.srv.URL + "/console/runs/run-001/approvals"
	tests := []struct {
		name   string
		csrf   string
		bundle []byte
		status int
		want   string
	}{
		{"without csrf", "", good, http.StatusForbidden, "CSRF"},
		{"approval of another run", csrf, other, http.StatusUnprocessableEntity, "approval of another run"},
		{"not a bundle", csrf, []byte(`{"x":1}`), http.StatusUnprocessableEntity, "not a record bundle"},
		{"good", csrf, good, http.StatusOK, "logged at index"},
	}
	for _, tc := range tests { // in order: the good one last
		status, page := upload(t, c, u, tc.csrf, tc.bundle)
		if status != tc.status || !strings.Contains(page, tc.want) {
			t.Fatalf("%s: status %d, want %d; page lacks %q:\n%s", tc.name, status, tc.status, tc.want, page)
		}
	}
	if _, page := get(t, c, e.srv.URL+"/console/queue"); strings.Contains(page, `href="/console/runs/run-001"`) {
		t.Fatal("an approved run is still in the queue")
	}
}

func TestApprovalErrors(t *testing.T) {
	t.Parallel()
	b, err := consoletest.New(1, 3, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := b.Run(t.Context(), "run-001")
	good, _ := b.Approve(d, time.Now())
	moved := *d
	moved.ViewDigest = "sha256:" + strings.Repeat("0", 64)
	var ae *console.ApprovalError
	_, _, err = console.VerifyApproval(good, &moved, func(fp string) (*keyring.Key, bool) { return b.Reviewer.Entry, fp == b.Reviewer.Entry.ID })
	if !errors.As(err, &ae) || !errors.Is(err, console.ErrApproval) || ae.Want != moved.ViewDigest {
		t.Fatalf("err %v, want an ApprovalError naming the view digest", err)
	}
	_, _, err = console.VerifyApproval(good, d, func(string) (*keyring.Key, bool) { return nil, false })
	if !errors.As(err, &ae) || !strings.Contains(ae.Reason, "does not list") {
		t.Fatalf("err %v, want: key not in the keyring", err)
	}
}

func TestExportAndDownload(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 2, 3)
	c := e.client(t)
	e.signIn(t, c, "rev-token")
	_, page := get(t, c, e.srv.URL+"/console/exports")
	status, page := post(t, c, e.srv.URL+"/console/exports", url.Values{"csrf": {csrfOf(t, page)}, "run": {"run-002"},
		"reason": {"<i>inspection</i>"}, "organisation": {"EMA"}})
	if status != http.StatusOK || !strings.Contains(page, "built and logged") || strings.Contains(page, "<i>inspection") {
		t.Fatalf("export: status %d:\n%s", status, page)
	}
	ex, _ := e.b.Exports(t.Context(), console.Page{Limit: 1})
	resp, err := c.Get(e.srv.URL + "/console/exports/" + ex.Exports[0].ID + "/download")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/x-tar" || int64(len(b)) != ex.Exports[0].Size {
		t.Fatalf("download: status %d, type %q, %d bytes", resp.StatusCode, resp.Header.Get("Content-Type"), len(b))
	}
}

func TestPagination(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 45, 3)
	c := e.client(t)
	e.signIn(t, c, "rev-token")
	_, page := get(t, c, e.srv.URL+"/console/runs?page=3")
	if !strings.Contains(page, "page 3 of 3") || !strings.Contains(page, "run-045") || strings.Contains(page, "run-001<") {
		t.Fatalf("page 3 of the runs:\n%s", page)
	}
}

func TestLargeRunLinksTheReview(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1, 2500)
	c := e.client(t)
	e.signIn(t, c, "rev-token")
	_, page := get(t, c, e.srv.URL+"/console/runs/run-001")
	if strings.Contains(page, "<iframe") || !strings.Contains(page, "open it on its own page") || !strings.Contains(page, "page 1 of 125") {
		t.Fatal("a run of 2500 records frames its review document or is not paginated")
	}
}
