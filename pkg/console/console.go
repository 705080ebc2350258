// Package console is the review console: the compliance segment's web
// interface, served by dossierd on its review listener (see MOUNT.md). It
// renders server-side HTML (html/template, no JavaScript) over a Backend:
// the approval queue, runs and releases, one run laid out for review with
// the exact document an approval signs, the log, and exports.
//
// People sign in with the identities of the API: a verified mTLS client
// certificate opens a session at once; a bearer token is exchanged for a
// session cookie on the sign-in form. Sessions are in memory, end after
// Options.IdleTimeout without a request, and every form carries the
// session's CSRF token (a post without it is refused with 403). Only the
// reviewer, exporter and operator roles open the console.
//
// The console never signs: approving stays a signature by the reviewer's
// own key ('dossier approve'); the console verifies and logs the uploaded
// bundle through the Backend.
package console

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/dossier-audit/dossier/pkg/ingest/auth"
)

// Options configure the console.
type Options struct {
	// Auth authenticates the bearer token given on the sign-in form and
	// mTLS client certificates (the review listener's Authenticator).
	Auth auth.Authenticator
	// Now is the clock of sessions (default time.Now).
	Now func() time.Time
	// IdleTimeout ends a session without requests (default 15 minutes);
	// MaxAge ends any session (default 8 hours).
	IdleTimeout, MaxAge time.Duration
	// Secure marks cookies Secure (set it whenever the listener has TLS).
	Secure bool
	// Prefix is the path the console is mounted at (default "/console").
	Prefix string
	// PageSize is the rows per page (default 50).
	PageSize int
	// MaxUpload bounds an uploaded approval bundle (default 4 MiB).
	MaxUpload int64
	// Timeout bounds the Backend calls of one request, exports included
	// (default 10 minutes).
	Timeout time.Duration
}

func (o *Options) defaults() {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 15 * time.Minute
	}
	if o.MaxAge <= 0 {
		o.MaxAge = 8 * time.Hour
	}
	if o.Prefix == "" {
		o.Prefix = "/console"
	}
	if o.PageSize <= 0 {
		o.PageSize = 50
	}
	if o.MaxUpload <= 0 {
		o.MaxUpload = 4 << 20
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Minute
	}
}

// consoleRoles may open the console; producers may not.
var consoleRoles = []string{auth.RoleReviewer, auth.RoleExporter, auth.RoleOperator}

type handler struct {
	b    Backend
	opts Options
	ses  *sessions
	mux  *http.ServeMux
}

// New returns the console's handler, to be mounted at opts.Prefix with
// its trailing slash ("/console/") on the review listener only.
func New(b Backend, opts Options) http.Handler {
	opts.defaults()
	h := &handler{b: b, opts: opts, ses: newSessions(opts.IdleTimeout, opts.MaxAge, opts.Now), mux: http.NewServeMux()}
	h.routes()
	return http.StripPrefix(opts.Prefix, h)
}

func (h *handler) routes() {
	m := h.mux
	m.HandleFunc("GET /static/console.css", h.serveCSS)
	m.HandleFunc("GET /login", h.loginForm)
	m.HandleFunc("POST /login", h.login)
	m.HandleFunc("POST /logout", h.authed(nil, h.logout))
	m.HandleFunc("GET /{$}", h.authed(nil, h.home))
	m.HandleFunc("GET /queue", h.authed(nil, h.queue))
	m.HandleFunc("GET /runs", h.authed(nil, h.runs))
	m.HandleFunc("GET /runs/{id}", h.authed(nil, h.run))
	m.HandleFunc("GET /runs/{id}/review.html", h.authed(nil, h.reviewDoc))
	m.HandleFunc("POST /runs/{id}/approvals", h.authed([]string{auth.RoleReviewer}, h.upload))
	m.HandleFunc("GET /log", h.authed(nil, h.logPage))
	m.HandleFunc("GET /exports", h.authed(nil, h.exports))
	m.HandleFunc("POST /exports", h.authed([]string{auth.RoleExporter}, h.export))
	m.HandleFunc("GET /exports/{id}/download", h.authed([]string{auth.RoleExporter, auth.RoleOperator}, h.download))
}

// ServeHTTP sets the headers every answer carries and routes.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; frame-src 'self'; form-action 'self'; frame-ancestors 'self'; base-uri 'none'")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Frame-Options", "SAMEORIGIN")
	hd.Set("Cache-Control", "no-store")
	h.mux.ServeHTTP(w, r)
}

type authedFunc func(w http.ResponseWriter, r *http.Request, s *session)

// authed finds the request's session (or opens one for a verified client
// certificate), checks the roles (any of roles, default any console role)
// and, on a POST, the CSRF token.
func (h *handler) authed(roles []string, fn authedFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, status := h.session(w, r)
		switch {
		case status == http.StatusSeeOther && r.Method == http.MethodGet:
			http.Redirect(w, r, h.opts.Prefix+"/login", http.StatusSeeOther)
			return
		case status == http.StatusSeeOther:
			h.fail(w, r, nil, http.StatusForbidden, "your session has ended; sign in again")
			return
		case status != 0:
			h.fail(w, r, nil, status, statusText(status))
			return
		}
		if roles != nil && !slices.ContainsFunc(roles, s.id.HasRole) {
			h.fail(w, r, s, http.StatusForbidden, "your identity lacks the role this needs")
			return
		}
		if r.Method == http.MethodPost && !h.checkCSRF(w, r, s) {
			h.fail(w, r, s, http.StatusForbidden, "the form's CSRF token is missing or wrong; reload the page and try again")
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), h.opts.Timeout)
		defer cancel()
		fn(w, r.WithContext(ctx), s)
	}
}

// session returns the request's session, or a status: 303 (sign in),
// 401 (certificate refused) or 403 (no console role).
func (h *handler) session(w http.ResponseWriter, r *http.Request) (*session, int) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		if s, ok := h.ses.get(c.Value); ok {
			return s, 0
		}
	}
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 || h.opts.Auth == nil {
		return nil, http.StatusSeeOther
	}
	id, err := h.opts.Auth.Authenticate(r)
	if err != nil || id == nil {
		return nil, http.StatusUnauthorized
	}
	if !slices.ContainsFunc(consoleRoles, id.HasRole) {
		return nil, http.StatusForbidden
	}
	key, s := h.ses.create(*id)
	http.SetCookie(w, h.cookie(sessionCookie, key, 0))
	return s, 0
}

func statusText(status int) string {
	switch status {
	case http.StatusUnauthorized:
		return "your client certificate was not accepted"
	case http.StatusForbidden:
		return "your identity has no console role (reviewer, exporter or operator)"
	}
	return http.StatusText(status)
}

// checkCSRF parses the form (multipart up to MaxUpload) and compares its
// csrf field with the session's token.
func (h *handler) checkCSRF(w http.ResponseWriter, r *http.Request, s *session) bool {
	r.Body = http.MaxBytesReader(w, r.Body, h.opts.MaxUpload+64<<10)
	var err error
	if ct := r.Header.Get("Content-Type"); len(ct) >= 19 && ct[:19] == "multipart/form-data" {
		err = r.ParseMultipartForm(h.opts.MaxUpload)
	} else {
		err = r.ParseForm()
	}
	return err == nil && equalToken(r.PostFormValue("csrf"), s.csrf)
}

// pageOf reads the 1-based page number of a list.
func (h *handler) pageOf(r *http.Request) (Page, int) {
	n, err := strconv.Atoi(r.URL.Query().Get("page"))
	if err != nil || n < 1 || n > 1_000_000 {
		n = 1
	}
	return Page{Offset: (n - 1) * h.opts.PageSize, Limit: h.opts.PageSize}, n
}

// backendStatus maps a Backend error to a status.
func backendStatus(err error) int {
	switch {
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, ErrApproval), errors.Is(err, ErrExport), errors.Is(err, ErrTooLarge):
		return http.StatusUnprocessableEntity
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout
	}
	return http.StatusServiceUnavailable
}
