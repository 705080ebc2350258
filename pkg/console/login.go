package console

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

func (h *handler) loginForm(w http.ResponseWriter, r *http.Request) {
	h.renderLogin(w, r, http.StatusOK, "")
}

// renderLogin shows the sign-in form with a CSRF token bound to the
// browser's pre-session cookie (set here when missing).
func (h *handler) renderLogin(w http.ResponseWriter, r *http.Request, status int, msg string) {
	pre := ""
	if c, err := r.Cookie(preCookie); err == nil && len(c.Value) == 43 {
		pre = c.Value
	} else {
		pre = randomToken()
		http.SetCookie(w, h.cookie(preCookie, pre, int(h.opts.IdleTimeout.Seconds())))
	}
	h.render(w, status, "login", nil, view{Title: "Sign in", CSRF: h.ses.preToken(pre), Error: msg})
}

// login exchanges a bearer token (checked by the same Authenticator as the
// API) for a session cookie.
func (h *handler) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	c, cerr := r.Cookie(preCookie)
	if err := r.ParseForm(); err != nil || cerr != nil || !equalToken(r.PostFormValue("csrf"), h.ses.preToken(c.Value)) {
		h.fail(w, r, nil, http.StatusForbidden, "the form's CSRF token is missing or wrong; reload the sign-in page")
		return
	}
	token := strings.TrimSpace(r.PostFormValue("token"))
	if token == "" || h.opts.Auth == nil {
		h.renderLogin(w, r, http.StatusUnauthorized, "sign-in failed")
		return
	}
	probe := r.Clone(r.Context())
	probe.TLS = nil // the token decides, not a certificate
	probe.Header = http.Header{"Authorization": {"Bearer " + token}}
	id, err := h.opts.Auth.Authenticate(probe)
	if err != nil || id == nil {
		h.renderLogin(w, r, http.StatusUnauthorized, "sign-in failed")
		return
	}
	if !slices.ContainsFunc(consoleRoles, id.HasRole) {
		h.fail(w, r, nil, http.StatusForbidden, statusText(http.StatusForbidden))
		return
	}
	key, _ := h.ses.create(*id)
	http.SetCookie(w, h.cookie(sessionCookie, key, 0))
	http.SetCookie(w, h.cookie(preCookie, "", -1))
	http.Redirect(w, r, h.opts.Prefix+"/queue", http.StatusSeeOther)
}

func (h *handler) logout(w http.ResponseWriter, r *http.Request, s *session) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		h.ses.end(c.Value)
	}
	http.SetCookie(w, h.cookie(sessionCookie, "", -1))
	http.Redirect(w, r, h.opts.Prefix+"/login", http.StatusSeeOther)
}

// short abbreviates a digest for display ("sha256:0123456789ab…").
func short(d string) string {
	if len(d) > 19 {
		return d[:19] + "…"
	}
	return d
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:@=+", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// safeFile keeps the characters of s that are safe in a file name.
func safeFile(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			return r
		}
		return '_'
	}, s)
}

func pathEscape(s string) string { return url.PathEscape(s) }

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }
