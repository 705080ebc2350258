package ingest

import (
	"os"
	"strings"
	"testing"
)

// TestErrorCatalogue checks that every problem code has a title and a row
// in spec/errors.md, and every route is in spec/openapi.yaml.
func TestErrorCatalogue(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../../spec/errors.md")
	must(t, err)
	for code := range titles {
		if !strings.Contains(string(doc), "| `"+code+"` |") {
			t.Errorf("spec/errors.md lacks a row for %s", code)
		}
	}
	api, err := os.ReadFile("../../spec/openapi.yaml")
	must(t, err)
	for _, path := range []string{"/v1/runs:", "/v1/runs/{runId}:", "/v1/runs/{runId}/records:", "/v1/runs/{runId}/review:", "/v1/runs/{runId}/approvals:", "/v1/runs/{runId}/plans:", "/v1/import:",
		"/v1/records/{digest}:", "/v1/records/{digest}/receipt:", "/v1/records/{digest}/proof:", "/v1/checkpoint:",
		"/v1/exports:", "/v1/exports/{id}:", "/healthz:", "/readyz:", "/metrics:"} {
		if !strings.Contains(string(api), "\n  "+path+"\n") {
			t.Errorf("spec/openapi.yaml lacks %s", path)
		}
	}
}

// TestDeployConfigs checks that the example configurations decode
// strictly and validate.
func TestDeployConfigs(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	must(t, cfg.LoadConfigFile("../../deploy/dossierd.json"))
	must(t, cfg.Validate())
	k8s, err := os.ReadFile("../../deploy/kubernetes/dossierd.yaml")
	must(t, err)
	_, rest, _ := strings.Cut(string(k8s), "dossierd.json: |\n")
	body, _, _ := strings.Cut(rest, "\n---")
	p := t.TempDir() + "/k8s.json"
	must(t, os.WriteFile(p, []byte(body), 0o600))
	cfg = DefaultConfig()
	must(t, cfg.LoadConfigFile(p))
	must(t, cfg.Validate())
}
