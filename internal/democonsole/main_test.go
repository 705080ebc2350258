package main

import (
	"bytes"
	"errors"
	"fmt"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dossier-audit/dossier/pkg/console"
	"github.com/dossier-audit/dossier/pkg/console/consoletest"
	"github.com/dossier-audit/dossier/pkg/ingest/auth"
)

func TestRunExitCodes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		code int
		out  string
	}{
		{"no flags", nil, 2, ""},
		{"no run", []string{"-url", "http://127.0.0.1:1/console/", "-token", "t"}, 2, ""},
		{"missing token file", []string{"-url", "http://127.0.0.1:1/console/", "-token-file", "/nonexistent/token", "-run", "r"}, 3, ""},
		{"no chromium", []string{"-url", "http://127.0.0.1:1/console/", "-token", "t", "-run", "r", "-chromium", "/nonexistent/chromium", "-out", "OUT"}, 0,
			"chromium not installed: no screenshots; install it with scripts/ci-install-chromium.sh"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			args := make([]string, len(tt.args))
			for i, a := range tt.args {
				args[i] = strings.ReplaceAll(a, "OUT", t.TempDir())
			}
			var stdout, stderr bytes.Buffer
			if code := run(args, &stdout, &stderr); code != tt.code {
				t.Fatalf("exit %d, want %d (stderr %q)", code, tt.code, stderr.String())
			}
			if !strings.Contains(stdout.String(), tt.out) {
				t.Fatalf("stdout %q, want it to contain %q", stdout.String(), tt.out)
			}
		})
	}
}

func TestCaptureNoChromium(t *testing.T) {
	t.Parallel()
	_, err := Capture(t.Context(), Config{URL: "http://127.0.0.1:1/console/", Token: "t", RunID: "r", OutDir: t.TempDir(), Chromium: "/nonexistent/chromium"})
	if !errors.Is(err, ErrNoChromium) {
		t.Fatalf("got %v, want ErrNoChromium", err)
	}
}

type tokens map[string]auth.Identity

func (tk tokens) Authenticate(r *http.Request) (*auth.Identity, error) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if id, found := tk[tok]; ok && found {
		return &id, nil
	}
	return nil, fmt.Errorf("%w: unknown token", auth.ErrUnauthenticated)
}

// consoleServer serves a console over consoletest's backend, with one
// reviewer-and-exporter token "rev-token".
func consoleServer(t *testing.T) string {
	t.Helper()
	b, err := consoletest.New(3, 12, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	id := auth.Identity{Subject: "rita", Name: "Rita Reviewer", Roles: []string{auth.RoleReviewer, auth.RoleExporter}, Method: auth.MethodToken}
	mux := http.NewServeMux()
	mux.Handle("/console/", console.New(b, console.Options{Auth: tokens{"rev-token": id}}))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL + "/console/"
}

func needChromium(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(DefaultChromium); err != nil {
		t.Skipf("%s is missing: install Chromium (scripts/ci-install-chromium.sh) to run this test", DefaultChromium)
	}
}

func TestCapture(t *testing.T) {
	needChromium(t)
	srv := consoleServer(t)
	out := t.TempDir()
	files, err := Capture(t.Context(), Config{URL: srv, Token: "rev-token", RunID: "run-001", OutDir: out, Chromium: DefaultChromium})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 3 {
		t.Fatalf("got %v, want three screenshots", files)
	}
	for _, name := range []string{"queue.png", "run.png", "export.png"} {
		f, err := os.Open(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if img.Bounds().Dx() < 800 {
			t.Fatalf("%s is %v wide, want the 1280-pixel window", name, img.Bounds())
		}
	}
}

func TestCaptureErrors(t *testing.T) {
	needChromium(t)
	srv := consoleServer(t)
	tests := []struct {
		name, token, run string
	}{
		{"wrong token", "not-a-token", "run-001"},
		{"unknown run", "rev-token", "no-such-run"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Capture(t.Context(), Config{URL: srv, Token: tt.token, RunID: tt.run, OutDir: t.TempDir(), Chromium: DefaultChromium})
			if !errors.Is(err, ErrPage) {
				t.Fatalf("got %v, want ErrPage", err)
			}
		})
	}
}
