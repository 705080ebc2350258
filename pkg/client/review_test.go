package client

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestReview: the document is returned only when its bytes hash to the
// Dossier-View-Digest header; refusals keep the daemon's problem.
func TestReview(t *testing.T) {
	t.Parallel()
	doc := []byte("<!DOCTYPE html><p>review</p>")
	good := ContentDigest(doc)
	for _, tc := range []struct {
		name   string
		status int
		header string
		want   error
	}{
		{"matching digest", http.StatusOK, good, nil},
		{"another digest", http.StatusOK, ContentDigest([]byte("x")), ErrViewDigest},
		{"no header", http.StatusOK, "", ErrViewDigest},
		{"upper-case hex", http.StatusOK, "sha256:" + upper(good[7:]), ErrViewDigest},
		{"not found", http.StatusNotFound, "", &ProblemError{}},
		{"unavailable", http.StatusServiceUnavailable, "", &ProblemError{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/v1/runs/run%2F1/review" && r.URL.RawPath != "/v1/runs/run%2F1/review" || r.Header.Get("Authorization") != "Bearer tok" {
					w.WriteHeader(http.StatusBadRequest)
					return
				}
				if tc.header != "" {
					w.Header().Set("Dossier-View-Digest", tc.header)
				}
				w.WriteHeader(tc.status)
				w.Write(doc)
			}))
			defer srv.Close()
			c, err := New(srv.URL, Options{Token: "tok"})
			if err != nil {
				t.Fatal(err)
			}
			rv, err := c.Review(context.Background(), "run/1")
			var pe *ProblemError
			switch want := tc.want.(type) {
			case nil:
				if err != nil || rv.ViewDigest != good || string(rv.Document) != string(doc) {
					t.Fatalf("got %+v, %v", rv, err)
				}
			case *ProblemError:
				if !errors.As(err, &pe) || pe.Status != tc.status {
					t.Fatalf("got %v, want a problem with status %d", err, tc.status)
				}
			default:
				var de *ViewDigestError
				if !errors.Is(err, want) || !errors.As(err, &de) || de.Got != good || de.Want != tc.header {
					t.Fatalf("got %v, want %v", err, want)
				}
			}
		})
	}
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'f' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}
