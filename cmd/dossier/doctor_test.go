package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDoctorCommand(t *testing.T) {
	d := t.TempDir()
	p := func(s string) string { return filepath.Join(d, s) }
	must := func(name string, code int, vars map[string]string, args ...string) string {
		t.Helper()
		got, stdout, stderr := runWithEnv(t, vars, args...)
		if got != code {
			t.Fatalf("%s: exit %d (want %d)\nstdout: %s\nstderr: %s", name, got, code, stdout, stderr)
		}
		return stdout
	}
	// An incomplete deployment: no keys, no authentication.
	out := must("defaults", 1, map[string]string{"DOSSIERD_DATA_DIR": p("data")}, "doctor", "--ntp-timeout", "100ms")
	if !strings.Contains(out, "fail  config") || !strings.Contains(out, "fix:") {
		t.Fatalf("doctor output:\n%s", out)
	}
	os.WriteFile(p("bad.json"), []byte(`{"dataDir": 1}`), 0o644)
	must("bad config", 1, nil, "doctor", "--config", p("bad.json"))
	var rep struct {
		Healthy bool
		Checks  []struct{ Name, Status string }
	}
	json.Unmarshal([]byte(must("json", 1, map[string]string{"DOSSIERD_DATA_DIR": p("data")}, "doctor", "--json", "--ntp-timeout", "100ms")), &rep)
	if rep.Healthy || len(rep.Checks) == 0 {
		t.Fatalf("json report %+v", rep)
	}
	must("usage", 2, nil, "doctor", "extra")
	// From a pipeline host: the daemon is down, the outbox has a dead letter.
	os.MkdirAll(p("outbox/dead"), 0o700)
	os.WriteFile(p("outbox/dead/00000000000000000001.json"), []byte("{}"), 0o600)
	out = must("client", 1, map[string]string{"DOSSIER_OUTBOX": p("outbox")}, "doctor", "--url", "http://127.0.0.1:1")
	if !strings.Contains(out, "fail  daemon") || !strings.Contains(out, "fail  outbox") {
		t.Fatalf("client doctor output:\n%s", out)
	}
}
