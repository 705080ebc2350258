package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dossier-audit/dossier/cmd/internal/cli"
	"github.com/dossier-audit/dossier/pkg/oci/ocitest"
	"github.com/dossier-audit/dossier/pkg/record"
)

func runOCICmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	env := &cli.Env{Prog: "dossier", Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Now: time.Now,
		Getenv: func(string) string { return "" }}
	code := commands.Main(env, args, "", "")
	return code, out.String(), errb.String()
}

// ociFixture writes a run file, record bundles, an attachment document and
// a log holding the bundles plus a time-evidence record.
func ociFixture(t *testing.T) (dir string, bundles []string) {
	t.Helper()
	dir = t.TempDir()
	root, s := ocitest.Root(t), ocitest.Signer(t)
	bs := ocitest.Records(t, s, root, 4, "dataset", "training-run", "evaluation")
	doc, pred := ocitest.AttachmentDoc(t)
	bs = append(bs, ocitest.Sign(t, s, root, "attachment", pred), ocitest.Sign(t, s, root, "time-evidence", record.Template("time-evidence")))
	os.WriteFile(filepath.Join(dir, "run.json"), root.MarshalFile(), 0o644)
	os.WriteFile(filepath.Join(dir, "report.pdf"), doc, 0o644)
	for i, b := range bs {
		p := filepath.Join(dir, "r"+string(rune('0'+i))+".json")
		os.WriteFile(p, b, 0o644)
		bundles = append(bundles, p)
	}
	ocitest.Log(t, filepath.Join(dir, "log"), bs)
	return dir, bundles
}

func TestStorePutListCopyAudit(t *testing.T) {
	t.Parallel()
	dir, bundles := ociFixture(t)
	lay := filepath.Join(dir, "layout")
	put := append([]string{"store", "put", "--layout", lay, "--run", filepath.Join(dir, "run.json"),
		"--log", filepath.Join(dir, "log"), "--attachment", filepath.Join(dir, "report.pdf")}, bundles...)
	if code, _, errs := runOCICmd(t, put...); code != 0 {
		t.Fatalf("store put = %d: %s", code, errs)
	} else if !strings.Contains(errs, "not stored under the run") {
		t.Errorf("store put did not warn about the time-evidence record: %s", errs)
	}
	code, out, errs := runOCICmd(t, "records", "list", "--json", "--run-id", ocitest.RunID, "layout:"+lay)
	if code != 0 {
		t.Fatalf("records list = %d: %s", code, errs)
	}
	var listed struct{ Records []recordJSON }
	if err := json.Unmarshal([]byte(out), &listed); err != nil || len(listed.Records) != 5 {
		t.Fatalf("records list: %v, %d records, want 5\n%s", err, len(listed.Records), out)
	}
	for i, r := range listed.Records {
		if r.Seq != uint64(i) || !strings.HasPrefix(r.Signer, "SHA256:") || r.Kind == "" {
			t.Errorf("record %d = %+v", i, r)
		}
	}
	tarFile := filepath.Join(dir, "run.tar")
	if code, _, errs := runOCICmd(t, "copy", "--run", filepath.Join(dir, "run.json"), "layout:"+lay, "tar:"+tarFile); code != 0 {
		t.Fatalf("copy to tar = %d: %s", code, errs)
	}
	back := filepath.Join(dir, "back")
	if code, _, errs := runOCICmd(t, "copy", "--run-id", ocitest.RunID, "tar:"+tarFile, "layout:"+back); code != 0 {
		t.Fatalf("copy from tar = %d: %s", code, errs)
	}
	if code, out, errs := runOCICmd(t, "store", "audit", "--log", filepath.Join(dir, "log"), "layout:"+back); code != 0 {
		t.Fatalf("store audit = %d: %s%s", code, out, errs)
	}
	// A tar with a duplicate entry is refused (exit 1).
	b, _ := os.ReadFile(tarFile)
	os.WriteFile(filepath.Join(dir, "dup.tar"), append(b[:len(b)-1024], b[:len(b)-1024]...), 0o644)
	if code, _, errs := runOCICmd(t, "records", "list", "--run-id", ocitest.RunID, "tar:"+filepath.Join(dir, "dup.tar")); code != 1 || !strings.Contains(errs, "duplicate") {
		t.Fatalf("duplicate tar = %d: %s", code, errs)
	}
}

func TestStoreAuditFindsMissingRecords(t *testing.T) {
	t.Parallel()
	dir, bundles := ociFixture(t)
	lay := filepath.Join(dir, "layout")
	put := []string{"store", "put", "--layout", lay, "--run", filepath.Join(dir, "run.json"), "--log", filepath.Join(dir, "log"), bundles[0]}
	if code, _, errs := runOCICmd(t, put...); code != 0 {
		t.Fatalf("store put = %d: %s", code, errs)
	}
	code, out, _ := runOCICmd(t, "store", "audit", "--json", "--log", filepath.Join(dir, "log"), "--run", filepath.Join(dir, "run.json"), "layout:"+lay)
	if code != 1 || strings.Count(out, `"kind": "missing"`) != 4 {
		t.Fatalf("store audit = %d, want 1 and 4 missing records:\n%s", code, out)
	}
}

func TestStorePutRefusesUnloggedBundle(t *testing.T) {
	t.Parallel()
	dir, _ := ociFixture(t)
	root := ocitest.Root(t)
	p := filepath.Join(dir, "unlogged.json")
	os.WriteFile(p, ocitest.Records(t, ocitest.Signer(t), root, 1, "dataset")[0], 0o644)
	code, _, errs := runOCICmd(t, "store", "put", "--layout", filepath.Join(dir, "l"), "--run", filepath.Join(dir, "run.json"),
		"--log", filepath.Join(dir, "log"), p)
	if code != 1 || !strings.Contains(errs, "not in the log") {
		t.Fatalf("store put of an unlogged bundle = %d: %s", code, errs)
	}
}

func TestPushAndListFromRegistry(t *testing.T) {
	t.Parallel()
	dir, bundles := ociFixture(t)
	lay := filepath.Join(dir, "layout")
	put := append([]string{"store", "put", "--layout", lay, "--run", filepath.Join(dir, "run.json"),
		"--log", filepath.Join(dir, "log"), "--attachment", filepath.Join(dir, "report.pdf")}, bundles...)
	if code, _, errs := runOCICmd(t, put...); code != 0 {
		t.Fatalf("store put = %d: %s", code, errs)
	}
	srv := ocitest.Registry(t, ocitest.RegistryOptions{})
	repo := ocitest.Host(srv) + "/dossier/demo"
	if code, _, errs := runOCICmd(t, "push", "--plain-http", "--layout", lay, "--run-id", ocitest.RunID, repo); code != 0 {
		t.Fatalf("push = %d: %s", code, errs)
	}
	code, out, errs := runOCICmd(t, "records", "list", "--plain-http", "--run-id", ocitest.RunID, repo)
	if code != 0 || strings.Count(out, "\n") != 6 {
		t.Fatalf("records list from the registry = %d:\n%s%s", code, out, errs)
	}
	if code, out, errs := runOCICmd(t, "store", "audit", "--plain-http", "--log", filepath.Join(dir, "log"), repo); code != 0 {
		t.Fatalf("store audit of the registry = %d: %s%s", code, out, errs)
	}
}
