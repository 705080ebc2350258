package ingest

import (
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/dossier-audit/dossier/pkg/ingest/auth"
)

// Listener names, as in metrics and logs.
const (
	ListenerIngest = "ingest"
	ListenerReview = "review"
)

type handlerFunc func(w http.ResponseWriter, r *http.Request, id *auth.Identity) *Problem

// Handlers returns the HTTP handlers of the ingest and the review
// listener. Without a review listener (Config.Review.Addr empty) the
// ingest handler serves every route.
func (s *Service) Handlers() (ingest, review http.Handler) {
	in := s.newMux(ListenerIngest)
	s.ingestRoutes(in, ListenerIngest, s.authIn)
	if s.cfg.Review.Addr == "" {
		s.reviewRoutes(in, ListenerIngest, s.authIn)
		s.commonRoutes(in, ListenerIngest, s.authIn)
		return in, nil
	}
	s.commonRoutes(in, ListenerIngest, s.authIn)
	rev := s.newMux(ListenerReview)
	s.reviewRoutes(rev, ListenerReview, s.authRev)
	s.mountConsole(rev)
	s.commonRoutes(rev, ListenerReview, s.authRev)
	return in, rev
}

var (
	rolesProducer = []string{auth.RoleProducer}
	rolesRead     = []string{auth.RoleReviewer, auth.RoleExporter, auth.RoleOperator}
	rolesExport   = []string{auth.RoleExporter}
	rolesReviewer = []string{auth.RoleReviewer}
	rolesOperator = []string{auth.RoleOperator}
	rolesAny      = []string{auth.RoleProducer, auth.RoleReviewer, auth.RoleExporter, auth.RoleOperator}
)

func (s *Service) ingestRoutes(mux *methodMux, l string, a auth.Authenticator) {
	handle(mux, "POST /v1/runs", s.route(l, "register", a, rolesProducer, s.handleRegister))
	handle(mux, "POST /v1/runs/{runId}/records", s.route(l, "submit", a, rolesProducer, s.handleSubmit))
	handle(mux, "POST /v1/import", s.route(l, "import", a, rolesOperator, s.handleImport))
	handle(mux, "GET /v1/records/{digest}/receipt", s.route(l, "receipt", a, append(rolesProducer, rolesRead...), s.handleReceipt))
}

func (s *Service) reviewRoutes(mux *methodMux, l string, a auth.Authenticator) {
	handle(mux, "GET /v1/runs/{runId}", s.route(l, "run", a, rolesRead, s.handleRun))
	handle(mux, "GET /v1/runs/{runId}/records", s.route(l, "records", a, rolesRead, s.handleRecords))
	handle(mux, "GET /v1/records/{digest}", s.route(l, "record", a, rolesRead, s.handleRecord))
	if l == ListenerReview {
		handle(mux, "GET /v1/records/{digest}/receipt", s.route(l, "receipt", a, rolesRead, s.handleReceipt))
	}
	handle(mux, "GET /v1/records/{digest}/proof", s.route(l, "proof", a, rolesRead, s.handleProof))
	handle(mux, "POST /v1/exports", s.route(l, "export", a, rolesExport, s.handleExport))
	handle(mux, "POST /v1/runs/{runId}/approvals", s.route(l, "approval", a, rolesReviewer, s.handleApproval))
	handle(mux, "POST /v1/runs/{runId}/plans", s.route(l, "plan", a, rolesReviewer, s.handlePlan))
	handle(mux, "GET /v1/runs/{runId}/review", s.route(l, "review", a, rolesRead, s.handleReview))
	handle(mux, "GET /v1/exports/{id}", s.route(l, "export-get", a, rolesExport, s.handleExportGet))
}

func (s *Service) commonRoutes(mux *methodMux, l string, a auth.Authenticator) {
	handle(mux, "GET /v1/checkpoint", s.route(l, "checkpoint", a, rolesAny, s.handleCheckpoint))
	handle(mux, "GET /metrics", s.route(l, "metrics", a, rolesOperator, s.handleMetrics))
	handle(mux, "GET /healthz", s.open(l, "healthz", s.handleHealth))
	handle(mux, "GET /readyz", s.open(l, "readyz", s.handleReady))
	mux.HandleFunc("/", s.open(l, "unknown", func(w http.ResponseWriter, r *http.Request) {
		p := problem(http.StatusNotFound, CodeNotFound, "no such endpoint")
		s.refused(r, l, "unknown", nil, p)
		writeProblem(w, p)
	}))
}

// methodMux is a ServeMux that answers a known path with another method
// with a 405 problem document (the plain ServeMux writes text).
type methodMux struct {
	*http.ServeMux
	paths   map[string][]string
	refused func(*http.Request, *Problem)
}

func (s *Service) newMux(listener string) *methodMux {
	return &methodMux{ServeMux: http.NewServeMux(), paths: map[string][]string{},
		refused: func(r *http.Request, p *Problem) { s.refused(r, listener, "method", nil, p) }}
}

// handle registers "METHOD /path" and, once per path, the 405 fallback.
func handle(mux *methodMux, pattern string, h http.Handler) {
	method, path, _ := strings.Cut(pattern, " ")
	mux.Handle(pattern, h)
	if _, seen := mux.paths[path]; !seen {
		mux.Handle(path, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", strings.Join(mux.paths[path], ", "))
			p := problem(http.StatusMethodNotAllowed, CodeMethod, r.Method+" is not allowed here")
			if mux.refused != nil {
				mux.refused(r, p)
			}
			writeProblem(w, p)
		}))
	}
	mux.paths[path] = append(mux.paths[path], method)
}

// statusWriter records the status code for metrics and logs.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// open wraps an unauthenticated route with metrics.
func (s *Service) open(listener, name string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		h(sw, r)
		s.metrics.request(listener, name, sw.status, time.Since(start))
	}
}

// route authenticates, checks the role, runs h and writes its problem.
// Authentication and role refusals are decided before anything about the
// request's target is looked at, so they never tell whether a run exists.
func (s *Service) route(listener, name string, a auth.Authenticator, roles []string, h handlerFunc) http.Handler {
	return s.open(listener, name, func(w http.ResponseWriter, r *http.Request) {
		id, p := s.authenticate(a, r, roles)
		if p == nil {
			p = h(w, r, id)
		}
		if p != nil {
			s.refused(r, listener, name, id, p)
			writeProblem(w, p)
		}
	})
}

func (s *Service) authenticate(a auth.Authenticator, r *http.Request, roles []string) (*auth.Identity, *Problem) {
	if a == nil {
		return nil, problem(http.StatusUnauthorized, CodeUnauthenticated, "no authentication configured")
	}
	id, err := a.Authenticate(r)
	if err != nil || id == nil {
		s.metrics.refusals.Add(1)
		s.logger.Warn("authentication failed", "remote", r.RemoteAddr, "path", r.URL.Path, "err", err)
		return nil, problem(http.StatusUnauthorized, CodeUnauthenticated, "valid credentials required")
	}
	if !slices.ContainsFunc(roles, id.HasRole) {
		s.metrics.refusals.Add(1)
		return id, problem(http.StatusForbidden, CodeForbidden, "your identity lacks the role this endpoint needs")
	}
	return id, nil
}

// refused logs every refusal with who asked and why.
func (s *Service) refused(r *http.Request, listener, route string, id *auth.Identity, p *Problem) {
	attrs := []any{"listener", listener, "route", route, "status", p.Status, "code", p.Code, "detail", p.Detail,
		"remote", r.RemoteAddr}
	if id != nil {
		attrs = append(attrs, "subject", id.Subject, "method", id.Method)
	}
	level := slog.LevelInfo
	if p.Status >= 500 {
		level = slog.LevelError
	}
	s.logger.Log(r.Context(), level, "request refused", attrs...)
}

// readBody reads a JSON body up to limit bytes: 415 for another media
// type, 413 beyond the limit, 400 for a truncated body.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, *Problem) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return nil, problem(http.StatusUnsupportedMediaType, CodeUnsupportedMedia, "send Content-Type: application/json")
	}
	if r.Header.Get("Content-Encoding") != "" {
		return nil, problem(http.StatusUnsupportedMediaType, CodeUnsupportedMedia, "content encodings are not accepted")
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return nil, problem(http.StatusRequestEntityTooLarge, CodeTooLarge, "body larger than the limit")
	case err != nil:
		return nil, problem(http.StatusBadRequest, CodeMalformed, "reading the body: "+err.Error())
	}
	return b, nil
}
