package console

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"sync"
	"time"

	"github.com/dossier-audit/dossier/pkg/ingest/auth"
)

// Cookie names.
const (
	sessionCookie = "dossier_console"
	preCookie     = "dossier_console_pre" // binds the sign-in form's CSRF token
)

// session is one signed-in person.
type session struct {
	id       auth.Identity
	csrf     string
	flash    string // one message for the next page
	created  time.Time
	lastSeen time.Time
}

// sessions is the in-memory session store. Sessions end after idle
// without a request, or after maxAge in any case; a restart ends them all.
type sessions struct {
	mu     sync.Mutex
	byID   map[string]*session
	idle   time.Duration
	maxAge time.Duration
	now    func() time.Time
	key    []byte // HMAC key of the pre-session CSRF tokens
}

func newSessions(idle, maxAge time.Duration, now func() time.Time) *sessions {
	return &sessions{byID: map[string]*session{}, idle: idle, maxAge: maxAge, now: now, key: []byte(randomToken())}
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

// create starts a session for id and returns its cookie value.
func (s *sessions) create(id auth.Identity) (string, *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for k, v := range s.byID { // sweep: the store never grows with dead sessions
		if s.expired(v, now) {
			delete(s.byID, k)
		}
	}
	key := randomToken()
	ses := &session{id: id, csrf: randomToken(), created: now, lastSeen: now}
	s.byID[key] = ses
	return key, ses
}

func (s *sessions) expired(v *session, now time.Time) bool {
	return now.Sub(v.lastSeen) > s.idle || now.Sub(v.created) > s.maxAge
}

// get returns the live session of a cookie value and marks it seen.
func (s *sessions) get(key string) (*session, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.byID[key]
	if !ok {
		return nil, false
	}
	now := s.now()
	if s.expired(v, now) {
		delete(s.byID, key)
		return nil, false
	}
	v.lastSeen = now
	return v, true
}

// setFlash keeps one message for the session's next page.
func (s *sessions) setFlash(v *session, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v.flash = msg
}

// takeFlash returns and clears the session's message.
func (s *sessions) takeFlash(v *session) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	msg := v.flash
	v.flash = ""
	return msg
}

func (s *sessions) end(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.byID, key)
}

// preToken is the CSRF token of the sign-in form, bound to the browser's
// pre-session cookie.
func (s *sessions) preToken(pre string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(pre))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func equalToken(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

func (h *handler) cookie(name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: h.opts.Prefix + "/", MaxAge: maxAge,
		HttpOnly: true, Secure: h.opts.Secure, SameSite: http.SameSiteStrictMode}
}
