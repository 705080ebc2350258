package console

import (
	"bytes"
	"embed"
	"errors"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/dossier-audit/dossier/pkg/ingest/auth"
	"github.com/dossier-audit/dossier/pkg/review"
)

//go:embed templates/*.html static/console.css
var files embed.FS

var css, _ = files.ReadFile("static/console.css")

var funcs = template.FuncMap{
	"join":  strings.Join,
	"short": short,
	"time":  func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"shell": shellQuote,
	"has":   func(id auth.Identity, role string) bool { return id.HasRole(role) },
}

// pages holds one template per page, each with the layout.
var pages = func() map[string]*template.Template {
	base := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(files, "templates/layout.html"))
	out := map[string]*template.Template{}
	for _, p := range []string{"login", "error", "queue", "runs", "run", "toolarge", "log", "exports"} {
		out[p] = template.Must(template.Must(base.Clone()).ParseFS(files, "templates/"+p+".html"))
	}
	return out
}()

// view is what every page template gets.
type view struct {
	Title, Prefix, CSRF, Flash, Error string
	Me                                *auth.Identity
	Data                              any
	Pager                             *pager
}

type pager struct {
	Page, Pages int
	Base        string // path with query, without page
}

func (p *pager) Prev() int     { return p.Page - 1 }
func (p *pager) Next() int     { return p.Page + 1 }
func (p *pager) HasNext() bool { return p.Page < p.Pages }

func (h *handler) newPager(path string, page, total int) *pager {
	pages := max(1, (total+h.opts.PageSize-1)/h.opts.PageSize)
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	return &pager{Page: page, Pages: pages, Base: h.opts.Prefix + path + sep}
}

// render executes a page into a buffer first, so a template error never
// leaves half a page.
func (h *handler) render(w http.ResponseWriter, status int, name string, s *session, v view) {
	v.Prefix = h.opts.Prefix
	if s != nil {
		v.Me, v.CSRF = &s.id, s.csrf
		if v.Flash == "" {
			v.Flash = h.ses.takeFlash(s)
		}
	}
	var buf bytes.Buffer
	if err := pages[name].ExecuteTemplate(&buf, "layout.html", v); err != nil {
		slog.Error("console: rendering a page", "page", name, "err", err)
		http.Error(w, "rendering the page failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func (h *handler) fail(w http.ResponseWriter, r *http.Request, s *session, status int, msg string) {
	h.render(w, status, "error", s, view{Title: http.StatusText(status), Error: msg})
}

func (h *handler) serveCSS(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "max-age=3600")
	_, _ = w.Write(css)
}

func (h *handler) home(w http.ResponseWriter, r *http.Request, s *session) {
	http.Redirect(w, r, h.opts.Prefix+"/queue", http.StatusSeeOther)
}

func (h *handler) queue(w http.ResponseWriter, r *http.Request, s *session) {
	p, n := h.pageOf(r)
	runs, err := h.b.Runs(r.Context(), Filter{Page: p, WaitingFor: s.id.Subject})
	if err != nil {
		h.fail(w, r, s, backendStatus(err), err.Error())
		return
	}
	h.render(w, http.StatusOK, "queue", s, view{Title: "My approval queue", Data: runs, Pager: h.newPager("/queue", n, runs.Total)})
}

func (h *handler) runs(w http.ResponseWriter, r *http.Request, s *session) {
	p, n := h.pageOf(r)
	runs, err := h.b.Runs(r.Context(), Filter{Page: p})
	if err != nil {
		h.fail(w, r, s, backendStatus(err), err.Error())
		return
	}
	h.render(w, http.StatusOK, "runs", s, view{Title: "Runs and releases", Data: runs, Pager: h.newPager("/runs", n, runs.Total)})
}

// runView is the run page's model: the detail and one page of records.
type runView struct {
	*RunDetail
	Rows    []RecordRow
	Command string
}

func (h *handler) run(w http.ResponseWriter, r *http.Request, s *session) {
	d, err := h.b.Run(r.Context(), r.PathValue("id"))
	if err != nil {
		h.failRun(w, r, s, err)
		return
	}
	h.renderRun(w, r, s, d, http.StatusOK, "")
}

func (h *handler) renderRun(w http.ResponseWriter, r *http.Request, s *session, d *RunDetail, status int, msg string) {
	p, n := h.pageOf(r)
	rows := d.Records[min(p.Offset, len(d.Records)):min(p.Offset+p.Limit, len(d.Records))]
	v := runView{RunDetail: d, Rows: rows, Command: approveCommand(d, s.id)}
	h.render(w, status, "run", s, view{Title: "Run " + d.Summary.RunID, Data: v, Error: msg,
		Pager: h.newPager("/runs/"+pathEscape(d.Summary.RunID), n, len(d.Records))})
}

// failRun shows why a run's page, review or upload failed: for a run too
// large to load, its summary and what to do (toolarge.html).
func (h *handler) failRun(w http.ResponseWriter, r *http.Request, s *session, err error) {
	var tl *TooLargeError
	if errors.As(err, &tl) {
		h.render(w, backendStatus(err), "toolarge", s, view{Title: "Run " + tl.RunID + " is too large to review here", Data: tl})
		return
	}
	h.fail(w, r, s, backendStatus(err), err.Error())
}

// approveCommand is the command line that signs this review with the
// reviewer's own key.
func approveCommand(d *RunDetail, id auth.Identity) string {
	name := id.Name
	if name == "" {
		name = id.Subject
	}
	file := "review-" + safeFile(d.Summary.RunID) + ".html"
	return "dossier approve --review " + shellQuote(file) + " --key YOUR-KEY --name " + shellQuote(name) +
		" --signer-id " + shellQuote(id.Subject) + " --meaning approval --decision approve -o " +
		shellQuote("approval-"+safeFile(d.Summary.RunID)+".json") +
		"\n# the review file must hash to " + d.ViewDigest
}

func (h *handler) reviewDoc(w http.ResponseWriter, r *http.Request, s *session) {
	d, err := h.b.Run(r.Context(), r.PathValue("id"))
	if err != nil {
		h.failRun(w, r, s, err)
		return
	}
	hd := w.Header()
	hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'self'; form-action 'none'; base-uri 'none'")
	hd.Set("Content-Type", review.MediaType)
	disp := "inline"
	if r.URL.Query().Has("download") {
		disp = "attachment"
	}
	hd.Set("Content-Disposition", disp+`; filename="review-`+safeFile(d.Summary.RunID)+`.html"`)
	hd.Set("Digest", "sha-256=:"+strings.TrimPrefix(d.ViewDigest, "sha256:")+":")
	_, _ = w.Write(d.Review)
}

func (h *handler) upload(w http.ResponseWriter, r *http.Request, s *session) {
	runID := r.PathValue("id")
	d, err := h.b.Run(r.Context(), runID)
	if err != nil {
		h.failRun(w, r, s, err)
		return
	}
	f, _, err := r.FormFile("bundle")
	if err != nil {
		h.renderRun(w, r, s, d, http.StatusBadRequest, "choose the signed approval bundle file to upload")
		return
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, h.opts.MaxUpload+1))
	if err != nil || int64(len(b)) > h.opts.MaxUpload || len(b) == 0 {
		h.renderRun(w, r, s, d, http.StatusRequestEntityTooLarge, "the bundle is empty or larger than the limit")
		return
	}
	res, err := h.b.SubmitApproval(r.Context(), runID, b, s.id)
	if err != nil {
		h.renderRun(w, r, s, d, backendStatus(err), err.Error())
		return
	}
	slog.Info("console: approval logged", "run", runID, "digest", res.Digest, "subject", s.id.Subject)
	h.ses.setFlash(s, "Approval "+res.Digest+" ("+res.Decision+", "+res.Signer+") logged at index "+itoa(res.LogIndex)+".")
	http.Redirect(w, r, h.opts.Prefix+"/runs/"+pathEscape(runID), http.StatusSeeOther)
}

func (h *handler) logPage(w http.ResponseWriter, r *http.Request, s *session) {
	st, err := h.b.Log(r.Context())
	if err != nil {
		h.fail(w, r, s, backendStatus(err), err.Error())
		return
	}
	age := ""
	if !st.PublishedAt.IsZero() {
		age = h.opts.Now().Sub(st.PublishedAt).Round(time.Second).String()
	}
	h.render(w, http.StatusOK, "log", s, view{Title: "Log", Data: struct {
		LogStatus
		Age string
	}{st, age}})
}

// exportsView is the exports page's model.
type exportsView struct {
	ExportPage
	Runs []RunSummary // runs to choose from (first page)
}

func (h *handler) exports(w http.ResponseWriter, r *http.Request, s *session) {
	h.renderExports(w, r, s, http.StatusOK, "")
}

func (h *handler) renderExports(w http.ResponseWriter, r *http.Request, s *session, status int, msg string) {
	p, n := h.pageOf(r)
	ex, err := h.b.Exports(r.Context(), p)
	if err != nil {
		h.fail(w, r, s, backendStatus(err), err.Error())
		return
	}
	v := exportsView{ExportPage: ex}
	if s.id.HasRole(auth.RoleExporter) {
		runs, err := h.b.Runs(r.Context(), Filter{Page: Page{Limit: 200}})
		if err != nil {
			h.fail(w, r, s, backendStatus(err), err.Error())
			return
		}
		v.Runs = runs.Runs
	}
	h.render(w, status, "exports", s, view{Title: "Exports", Data: v, Error: msg, Pager: h.newPager("/exports", n, ex.Total)})
}

func (h *handler) export(w http.ResponseWriter, r *http.Request, s *session) {
	req := ExportRequest{Runs: r.PostForm["run"], Reason: strings.TrimSpace(r.PostFormValue("reason")),
		Organisation: strings.TrimSpace(r.PostFormValue("organisation")), Contact: strings.TrimSpace(r.PostFormValue("contact"))}
	if len(req.Runs) == 0 || req.Reason == "" || req.Organisation == "" {
		h.renderExports(w, r, s, http.StatusBadRequest, "choose at least one run and give the reason and the recipient organisation")
		return
	}
	slices.Sort(req.Runs)
	req.Runs = slices.Compact(req.Runs)
	info, err := h.b.Export(r.Context(), req, s.id)
	if err != nil {
		h.renderExports(w, r, s, backendStatus(err), err.Error())
		return
	}
	slog.Info("console: export written", "package", info.Package, "subject", s.id.Subject, "reason", req.Reason)
	h.ses.setFlash(s, "Package "+info.Package+" built and logged (export record "+info.ExportRecord+").")
	http.Redirect(w, r, h.opts.Prefix+"/exports", http.StatusSeeOther)
}

func (h *handler) download(w http.ResponseWriter, r *http.Request, s *session) {
	f, info, err := h.b.OpenExport(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, s, backendStatus(err), err.Error())
		return
	}
	defer f.Close()
	w.Header().Set("Content-Type", "application/x-tar")
	w.Header().Set("Content-Disposition", `attachment; filename="dossier-`+safeFile(info.ID[:min(16, len(info.ID))])+`.tar"`)
	http.ServeContent(w, r, "", info.At, f)
}
