package client

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// ProblemError is an RFC 9457 problem document the daemon answered with.
type ProblemError struct {
	Status     int           `json:"status"`
	Code       string        `json:"code"`
	Title      string        `json:"title,omitempty"`
	Detail     string        `json:"detail,omitempty"`
	Type       string        `json:"type,omitempty"`
	RetryAfter time.Duration `json:"-"`
	// Body is the answer as received.
	Body []byte `json:"-"`
}

func (e *ProblemError) Error() string {
	s := fmt.Sprintf("dossierd answered %d", e.Status)
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// Retryable reports whether the same request may succeed later: the daemon
// is unavailable, overloaded, refusing for time, or still processing the
// same idempotency key. Other 4xx answers are final.
func (e *ProblemError) Retryable() bool {
	switch e.Status {
	case http.StatusRequestTimeout, http.StatusConflict, http.StatusTooEarly, http.StatusTooManyRequests:
		return e.Status != http.StatusConflict || e.Code == "request-outstanding"
	}
	return e.Status >= 500
}

func newProblem(resp *http.Response, body []byte) *ProblemError {
	p := &ProblemError{}
	_ = json.Unmarshal(body, p)
	p.Status, p.Body = resp.StatusCode, body
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
		p.RetryAfter = time.Duration(s) * time.Second
	}
	return p
}

// NetError is a failure to reach the daemon or to read its answer; the
// request may or may not have been processed, so it is retried with the
// same idempotency key.
type NetError struct{ Err error }

func (e *NetError) Error() string { return "dossierd unreachable: " + e.Err.Error() }
func (e *NetError) Unwrap() error { return e.Err }

// retryable reports whether err is worth a later retry.
func retryable(err error) (bool, time.Duration) {
	switch e := err.(type) {
	case *NetError:
		return true, 0
	case *ProblemError:
		return e.Retryable(), e.RetryAfter
	}
	return false, 0
}
