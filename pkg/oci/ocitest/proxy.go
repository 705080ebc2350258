package ocitest

import (
	"crypto/sha256"
	"net/http"
	"net/http/httputil"
	"net/url"
)

func sha256Sum(b []byte) [32]byte { return sha256.Sum256(b) }

func newReverseProxy(target string, edit func(*http.Response) error) http.Handler {
	u, _ := url.Parse(target)
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ModifyResponse = edit
	return rp
}
