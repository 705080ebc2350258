package main

import (
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dossier-audit/dossier/pkg/keyring"
	"github.com/dossier-audit/dossier/pkg/tsa/tsatest"
	"github.com/dossier-audit/dossier/pkg/verify"
)

// anchoredLog builds a log whose keyring names a loopback TSA and a
// witness in its anchor trust root ('keyring create --tsa --witness'),
// with one run of four records; it returns the export arguments, the
// pinned fingerprint and the TSA and witness URLs.
type anchoredLog struct {
	dir, pin, tsaURL, witnessURL string
}

func (a *anchoredLog) p(s string) string { return filepath.Join(a.dir, s) }

func newAnchoredLog(t *testing.T) *anchoredLog {
	t.Helper()
	a := &anchoredLog{dir: t.TempDir()}
	p := a.p
	must := func(args ...string) string {
		t.Helper()
		code, stdout, stderr := runCmd(t, args...)
		if code != 0 {
			t.Fatalf("%s: exit %d\n%s%s", args[0], code, stdout, stderr)
		}
		return stdout + stderr
	}
	now := time.Now()
	ca := tsatest.NewCA(t, "Demo TSA Root", now.Add(-time.Hour))
	leaf := ca.Issue(t, "Demo TSA", now.Add(-time.Hour), now.Add(time.Hour))
	if err := os.WriteFile(p("tsa-chain.pem"), tsatest.PEM(leaf.Chain...), 0o644); err != nil {
		t.Fatal(err)
	}
	a.tsaURL = tsatest.NewFake(t, leaf, tsatest.OK).URL()
	for _, k := range []string{"producer", "time", "root", "exporter"} {
		must("key generate", "--output", p(k))
	}
	must("run init", "--id", "anchored-run", "--project", "p", "--model", "acme/m", "--started-by", "workload:train",
		"--started-at", "2026-11-27T08:00:00Z", "-o", p("run.json"))
	must("log init", "--dir", p("log"), "--origin", "example.test/anchored", "--key-out", p("logkey"))
	must("witness keygen", "--name", "secops.example.test/witness", "--key-out", p("w1"))
	srv, err := newWitnessServer(p("w1.key"), p("witness-state"), []string{p("logkey.vkey")})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	a.witnessURL = hs.URL
	out := must("keyring create", "--root-key", p("root.key"), "-o", p("keyring.json"),
		"--add", "root:"+p("root.pub")+":Root Owner:person:r1:security",
		"--add", "producer:"+p("producer.pub")+":Pipeline:workload:pipeline/train:ml-platform",
		"--add", "time:"+p("time.pub")+":Time checker:workload:timecheck:ops",
		"--add", "exporter:"+p("exporter.pub")+":Erika Musterfrau:person:e30211:compliance",
		"--add", "log:"+p("logkey.vkey")+":Log:workload:dossierd:ops",
		"--tsa", "tsa.internal="+p("tsa-chain.pem"), "--witness", "w1="+p("w1.vkey"))
	a.pin = strings.Fields(out)[0]
	must("log append", "--dir", p("log"), "--key", p("logkey.key"), "--stream", "keyring", p("keyring.json"))
	te := signTimeEvidence(t, p("te.json"), p("time.key"))
	files := []string{p("te.json")}
	for _, kind := range []string{"dataset", "training-run", "evaluation", "run-closed"} {
		writePredicate(t, p(kind+".pred.json"), kind, "anchored-run", te)
		must("record create", "--run", p("run.json"), "--type", kind, "--predicate", p(kind+".pred.json"), "--key", p("producer.key"), "-o", p(kind+".json"))
		files = append(files, p(kind+".json"))
	}
	must(append([]string{"log append", "--dir", p("log"), "--key", p("logkey.key")}, files...)...)
	return a
}

func (a *anchoredLog) export(t *testing.T, out string, extra ...string) (int, string) {
	t.Helper()
	args := append([]string{"export", "--log", a.p("log"), "--log-key", a.p("logkey.key"), "--exporter-key", a.p("exporter.key"),
		"--keyring", a.p("keyring.json"), "--run", a.p("run.json"), "--purpose", "anchors", "--requested-by", "person:e30211:Erika Musterfrau",
		"--recipient", "NB", "--at", "2026-12-02T14:00:00Z", "-o", a.p(out)}, extra...)
	code, stdout, stderr := runCmd(t, args...)
	return code, stdout + stderr
}

// verifyAnchors verifies a package under an auditor policy requiring
// anchoring by require and returns the result.
func (a *anchoredLog) verify(t *testing.T, pkg, require string) *verify.Result {
	t.Helper()
	f, err := os.Open(a.p(pkg))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, _ := f.Stat()
	pol := verify.DefaultPolicy()
	pol.MediaType, pol.Anchors = verify.PolicyV2MediaType, &verify.AnchorPolicy{Require: require}
	pol.Time.AcceptUntraceable, pol.Time.Accept = true, []string{"good", "degraded", "bad"} // the template's evidence
	return verify.VerifyPackage(f, fi.Size(), verify.PackageOptions{RootFingerprint: a.pin, Policy: pol})
}

// TestExportAnchors: 'dossier export' with a TSA and a witness anchors
// the package checkpoint (every record anchored, also under anchors.require
// both); without them, or with the TSA down, it says on stderr that the
// records are asserted, and the package verifies under require none but
// fails require tsa.
func TestExportAnchors(t *testing.T) {
	t.Parallel()
	a := newAnchoredLog(t)
	tests := []struct {
		name     string
		extra    []string
		stderr   string
		asserted bool
	}{
		{"tsa and witness", []string{"--anchor-store", a.p("store"), "--tsa", "tsa.internal=" + a.tsaURL, "--witness", "w1=" + a.witnessURL},
			"proved leaves are anchored", false},
		{"anchors off", nil, "no --anchor-store", true},
		{"store without new anchors", []string{"--anchor-store", a.p("empty-store")}, "asserted by the operator", true},
		{"tsa down", []string{"--anchor-store", a.p("store-down"), "--tsa", "tsa.internal=http://127.0.0.1:1/api/v1/timestamp"},
			"anchor tsa:tsa.internal of the package checkpoint", true},
	}
	for i, tt := range tests { // in order: one log
		out := "package-" + string(rune('a'+i)) + ".tar"
		code, got := a.export(t, out, tt.extra...)
		if code != 0 || !strings.Contains(got, tt.stderr) {
			t.Fatalf("%s: exit %d, want 0 and %q in\n%s", tt.name, code, tt.stderr, got)
		}
		res := a.verify(t, out, "none")
		if res.Outcome != verify.Verified || res.Summary.Anchors == nil {
			t.Fatalf("%s: require none: %s %+v", tt.name, res.Outcome, res.Failures)
		}
		s := res.Summary.Anchors
		t.Logf("%s: %d entries, %d anchored, %d asserted; export said: %s", tt.name, s.Entries, s.Anchored, s.Asserted, lastLine(got))
		if tt.asserted != (s.Anchored == 0) || tt.asserted != (s.Asserted == len(s.Records)) || len(s.Records) < 5 {
			t.Fatalf("%s: anchored %d, asserted %d of %d records; want all asserted=%v", tt.name, s.Anchored, s.Asserted, len(s.Records), tt.asserted)
		}
		for _, require := range []string{"tsa", "both"} {
			res := a.verify(t, out, require)
			if tt.asserted == (res.Outcome == verify.Verified) {
				t.Fatalf("%s: require %s: %s %+v", tt.name, require, res.Outcome, res.Failures)
			}
			if tt.asserted && !hasClass(res, verify.FailTime) {
				t.Fatalf("%s: require %s rejected without a time failure: %+v", tt.name, require, res.Failures)
			}
		}
	}
	if code, got := a.export(t, "package-x.tar", "--tsa", "tsa.internal="+a.tsaURL); code != 2 || !strings.Contains(got, "--anchor-store") {
		t.Fatalf("--tsa without --anchor-store: exit %d\n%s", code, got)
	}
}

// TestAnchorRunThenExport: 'anchor run --keyring' (log key and TSA chain
// from the trust root) from cron, then an export that only reads the
// store: every run record is anchored, only the export record (logged
// after) is not, so anchors.require tsa verifies.
func TestAnchorRunThenExport(t *testing.T) {
	t.Parallel()
	a := newAnchoredLog(t)
	code, out, errOut := runCmd(t, "anchor run", "--log", a.p("log"), "--keyring", a.p("keyring.json"), "--store", a.p("store"),
		"--tsa", "tsa.internal="+a.tsaURL, "--witness", "w1="+a.witnessURL)
	if code != 0 || !strings.Contains(out, `"tsa.internal"`) {
		t.Fatalf("anchor run --keyring: exit %d\n%s%s", code, out, errOut)
	}
	if code, got := a.export(t, "package.tar", "--anchor-store", a.p("store")); code != 0 || !strings.Contains(got, "1 of 7 proved leaves were logged after") {
		t.Fatalf("export from the store: exit %d\n%s", code, got)
	}
	res := a.verify(t, "package.tar", "both")
	if res.Outcome != verify.Verified || res.Summary.Anchors.Asserted != 0 {
		t.Fatalf("require both: %s %+v %+v", res.Outcome, res.Failures, res.Summary.Anchors)
	}
	if code, _, _ := runCmd(t, "anchor run", "--log", a.p("log"), "--store", a.p("store")); code != 2 {
		t.Fatalf("anchor run without --log-vkey or --keyring: exit %d, want 2", code)
	}
}

func hasClass(res *verify.Result, class verify.Failure) bool {
	for _, f := range res.Failures {
		if f.Class == class {
			return true
		}
	}
	return false
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// TestKeyringCreateAnchorFlags: keyring create writes the anchor trust
// root from --tsa/--witness and refuses inconsistent flags (exit 2).
func TestKeyringCreateAnchorFlags(t *testing.T) {
	t.Parallel()
	d := t.TempDir()
	p := func(s string) string { return filepath.Join(d, s) }
	now := time.Now()
	ca := tsatest.NewCA(t, "Root", now.Add(-time.Hour))
	leaf := ca.Issue(t, "TSA", now.Add(-time.Hour), now.Add(time.Hour))
	if err := os.WriteFile(p("chain.pem"), tsatest.PEM(leaf.Chain...), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"key generate", "--output", p("root")}, {"log init", "--dir", p("log"), "--origin", "example.test/k", "--key-out", p("log")},
		{"witness keygen", "--name", "w.example/1", "--key-out", p("w1")}, {"witness keygen", "--name", "w.example/2", "--key-out", p("w2")}} {
		if code, out, errOut := runCmd(t, args...); code != 0 {
			t.Fatalf("%v: %d %s%s", args, code, out, errOut)
		}
	}
	base := []string{"keyring create", "--root-key", p("root.key"), "--add", "root:" + p("root.pub") + ":R:person:r:sec",
		"--add", "log:" + p("log.vkey") + ":Log:workload:log:ops"}
	tests := []struct {
		name string
		args []string
		code int
	}{
		{"tsa and 1-of-2 witnesses", []string{"--tsa", "tsa.internal=" + p("chain.pem"), "--tsa-validity", "tsa.internal=2026-01-01T00:00:00Z,2031-01-01T00:00:00Z",
			"--witness", "w1=" + p("w1.vkey"), "--witness", "w2=" + p("w2.vkey"), "--witness-quorum", "1"}, 0},
		{"validity without --tsa", []string{"--tsa-validity", "x=2026-01-01T00:00:00Z,2031-01-01T00:00:00Z"}, 2},
		{"validity not FROM,UNTIL", []string{"--tsa", "t=" + p("chain.pem"), "--tsa-validity", "t=2026-01-01T00:00:00Z"}, 2},
		{"quorum above the witnesses", []string{"--witness", "w1=" + p("w1.vkey"), "--witness-quorum", "2"}, 2},
		{"policy and witness", []string{"--witness", "w1=" + p("w1.vkey"), "--witness-policy", p("w1.vkey")}, 2},
		{"not a chain", []string{"--tsa", "t=" + p("w1.vkey")}, 2},
		{"name twice", []string{"--tsa", "t=" + p("chain.pem"), "--tsa", "t=" + p("chain.pem")}, 2},
	}
	for i, tt := range tests {
		out := p(fmt.Sprintf("keyring-%d.json", i))
		code, stdout, stderr := runCmd(t, append(append(base, tt.args...), "-o", out)...)
		if code != tt.code {
			t.Fatalf("%s: exit %d, want %d\n%s%s", tt.name, code, tt.code, stdout, stderr)
		}
		if code != 0 {
			continue
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		v, err := keyring.Parse(b)
		if err != nil {
			t.Fatal(err)
		}
		pol, err := v.Document.Witnesses()
		if err != nil || len(v.Document.TimestampAuthorities) != 1 || v.Document.TimestampAuthorities[0].ValidUntil != "2031-01-01T00:00:00Z" ||
			pol == nil || len(pol.Witnesses) != 2 || !pol.Satisfied(map[string]bool{"w2": true}) {
			t.Fatalf("%s: trust root %+v, policy %+v, %v", tt.name, v.Document.TimestampAuthorities, pol, err)
		}
	}
}
