package main

import (
	"context"
	"crypto"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/dossier-audit/dossier/pkg/gate"
	"github.com/dossier-audit/dossier/pkg/keys"
	"github.com/dossier-audit/dossier/pkg/record"
)

// TestSubmitApproval sends an approval bundle to a fake review API: the
// path names the approval's run, the body is the bundle's exact bytes;
// the daemon's refusal is exit 1, an unreachable daemon exit 3, a file
// that is not an approval exit 2. The real endpoint is tested in
// pkg/ingest (TestApprovalImport).
func TestSubmitApproval(t *testing.T) {
	d := t.TempDir()
	var a record.Approval
	if err := json.Unmarshal(record.Template("approval"), &a); err != nil {
		t.Fatal(err)
	}
	priv, err := keys.Generate(keys.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := signature.LoadSigner(priv, crypto.SHA256)
	b, err := gate.SignApproval(context.Background(), s, "sha256:"+strings.Repeat("ab", 32), &a)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(d, "approval.json")
	must0(t, os.WriteFile(file, b, 0o644))
	refuse := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		switch {
		case r.URL.Path != "/v1/runs/"+a.RunID+"/approvals" || r.Header.Get("Authorization") != "Bearer rev" || string(body) != string(b):
			w.WriteHeader(http.StatusBadRequest)
		case refuse:
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusUnprocessableEntity)
			io.WriteString(w, `{"type":"https://dossier.dev/errors/approval-refused","title":"t","status":422,"code":"approval-refused","detail":"approval refused: signed another review document"}`)
		default:
			w.WriteHeader(http.StatusCreated)
			io.WriteString(w, `{"record":"sha256:`+strings.Repeat("cd", 32)+`","logIndex":42,"receipt":"sha256:`+strings.Repeat("ef", 32)+`","flags":["approval-imported"]}`)
		}
	}))
	defer srv.Close()
	vars := map[string]string{"DOSSIER_URL": srv.URL, "DOSSIER_TOKEN": "rev", "HOME": d}
	for _, tc := range []struct {
		name   string
		refuse bool
		args   []string
		code   int
		out    string
	}{
		{"logged", false, []string{file}, 0, "logged sha256:cdcd"},
		{"json", false, []string{"--json", file}, 0, `"logIndex": 42`},
		{"refused", true, []string{file}, 1, ""},
		{"unreachable", false, []string{"--url", "http://127.0.0.1:1", file}, 3, ""},
		{"not an approval", false, []string{filepath.Join(d, "bad.json")}, 2, ""},
		{"no file", false, nil, 2, ""},
	} {
		refuse = tc.refuse
		must0(t, os.WriteFile(filepath.Join(d, "bad.json"), []byte(`{"mediaType":"x"}`), 0o644))
		code, stdout, stderr := runWithEnv(t, vars, append([]string{"submit approval"}, tc.args...)...)
		if code != tc.code || !strings.Contains(stdout, tc.out) {
			t.Errorf("%s: exit %d (want %d)\nstdout: %s\nstderr: %s", tc.name, code, tc.code, stdout, stderr)
		}
	}
	if code, _, stderr := runWithEnv(t, vars, "submit plan", file); code != 2 || !strings.Contains(stderr, "want evaluation-plan") {
		t.Errorf("submit plan with an approval: exit %d, %s", code, stderr)
	}
}

func must0(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
