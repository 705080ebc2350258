package review

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dossier-audit/dossier/pkg/keyring"
	"github.com/dossier-audit/dossier/pkg/policy"
	"github.com/dossier-audit/dossier/pkg/record"
)

var update = flag.Bool("update", false, "rewrite testdata/review.golden.html")

func digest(c byte) string { return "sha256:" + strings.Repeat(string(c), 64) }

func common(run string) record.Common {
	return record.Common{RunID: run, Attempt: 1, ProducedAt: "2026-11-27T00:00:00Z",
		Producer: record.Producer{ID: "workload:pipeline", Name: "pipeline", Kind: "workload"}}
}

func sha(c byte) map[string]string { return map[string]string{"sha256": strings.Repeat(string(c), 64)} }

// records returns a run's records: a dataset, a training run, a plan, an
// evaluation that passes its own threshold but fails the plan's, a release,
// time evidence and an attachment.
func records(run, lr string) []policy.Record {
	return []policy.Record{
		{Digest: digest('1'), Kind: "dataset", LogIndex: 1, Signer: "SHA256:pipe", Predicate: &record.Dataset{Common: common(run),
			Name: "tickets <script>alert(1)</script>", Version: "3", Licence: record.Licence{SPDX: "CC-BY-4.0"},
			Sources: []record.DataSource{{URI: "s3://bucket/tickets"}}, Content: []record.ResourceDescriptor{{Name: "part-0.parquet", Digest: sha('a')}}}},
		{Digest: digest('2'), Kind: "training-run", LogIndex: 2, Signer: "SHA256:alice", Predicate: &record.TrainingRun{Common: common(run),
			Method: "lora", Hyperparameters: map[string]string{"lr": lr, "epochs": "3"},
			Code: record.CodeRef{Repo: "git@example.com:ml/train", Commit: "abc123"}, ContainerImage: record.ImageRef{Digest: digest('c')}}},
		{Digest: digest('3'), Kind: "evaluation-plan", LogIndex: 3, Signer: "SHA256:vera", Predicate: &record.EvaluationPlan{Common: common(run),
			Scope: record.PlanScope{ModelID: "support-de"}, SignedByRole: "reviewer",
			Metrics: []record.MetricThreshold{{Benchmark: "qa", Metric: "exact_match", Op: ">=", Threshold: "0.85"}}}},
		{Digest: digest('4'), Kind: "evaluation", LogIndex: 5, Signer: "SHA256:pipe", Predicate: &record.Evaluation{Common: common(run),
			Plan: digest('3'), Benchmark: record.Benchmark{Name: "qa"}, Verdict: "pass",
			Metrics:    []record.Metric{{Name: "exact_match", Value: "0.82"}},
			Thresholds: []record.MetricThreshold{{Metric: "exact_match", Op: ">=", Threshold: "0.8"}}}},
		{Digest: digest('5'), Kind: "model-release", LogIndex: 6, Signer: "SHA256:pipe", Predicate: &record.ModelRelease{Common: common(run),
			ModelID: "support-de", Version: "1.3.0", RiskTier: "high", IntendedUse: "answer tickets",
			Weights: []record.ResourceDescriptor{{Name: "adapter.safetensors", Digest: sha('w')}}}},
		{Digest: digest('6'), Kind: "time-evidence", LogIndex: 4, Signer: "SHA256:time", Predicate: &record.TimeEvidence{
			CheckedAt: "2026-11-27T00:00:00Z", Verdict: "good", Diagnosis: "3 of 3 sources agree", MaxErrorNs: 1500000, Agreeing: 3, Required: 2}},
		{Digest: digest('7'), Kind: "attachment", LogIndex: 7, Signer: "SHA256:pipe", Predicate: &record.Attachment{Common: common(run),
			Title: "Validation report", DocumentKind: "validation-report",
			Document: record.ResourceDescriptor{Name: "report.pdf", MediaType: "application/pdf", Digest: sha('d')}}},
		{Digest: digest('8'), Kind: "approval", LogIndex: 8, Signer: "SHA256:rita", Predicate: &record.Approval{Common: common(run),
			Signer: record.Signer{PrintedName: "Rita R.", ID: "person:rita"}, SignedAt: "2026-11-28T00:00:00Z", Meaning: "approval",
			Decision: "approve", ReviewedRecords: []string{digest('1')}}},
	}
}

func input() Input {
	return Input{RunID: "r2", RunRoot: digest('f'), Records: records("r2", "0.0002"),
		Previous: records("r1", "0.0001")[:4], PreviousLabel: "support-de 1.2.0",
		Owners: map[string]keyring.Owner{"SHA256:alice": {Name: "Alice A.", PersonID: "person:alice", Team: "ml-platform"}}}
}

func TestRenderGolden(t *testing.T) {
	t.Parallel()
	doc, d, err := Render(input())
	if err != nil {
		t.Fatal(err)
	}
	if d != Digest(doc) {
		t.Errorf("digest %s is not the digest of the document", d)
	}
	golden := filepath.Join("testdata", "review.golden.html")
	if *update {
		if err := os.WriteFile(golden, doc, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(doc, want) {
		t.Errorf("rendering differs from %s (run go test -update after reviewing the change)", golden)
	}
}

func TestRenderDeterministic(t *testing.T) {
	t.Parallel()
	a, da, err := Render(input())
	if err != nil {
		t.Fatal(err)
	}
	in := input()
	slices.Reverse(in.Records)
	slices.Reverse(in.Previous)
	b, db, err := Render(in)
	if err != nil {
		t.Fatal(err)
	}
	if da != db || !bytes.Equal(a, b) {
		t.Errorf("record order changed the rendering: %s vs %s", da, db)
	}
}

func TestRenderContent(t *testing.T) {
	t.Parallel()
	doc, _, err := Render(input())
	if err != nil {
		t.Fatal(err)
	}
	s := string(doc)
	for _, want := range []string{
		"tickets &lt;script&gt;alert(1)&lt;/script&gt;", // escaped
		`>FAILS<`,    // 0.82 fails the plan's >= 0.85
		"&gt;= 0.8<", // the pipeline's own threshold is shown, not used
		"Alice A. (person:alice, team ml-platform)", // key owner
		"0.0001", "0.0002", // diff of the learning rate
		"training configuration", // diff item
		"(added)",                // the release is new since the previous version
	} {
		if !strings.Contains(s, want) {
			t.Errorf("document lacks %q", want)
		}
	}
	if strings.Contains(s, "<script>") {
		t.Error("document contains an unescaped script element")
	}
}

func TestReviewedRecords(t *testing.T) {
	t.Parallel()
	got, err := ReviewedRecords(input())
	if err != nil {
		t.Fatal(err)
	}
	// every run-scoped record but the approval; not the time evidence
	want := []string{digest('1'), digest('2'), digest('3'), digest('4'), digest('5'), digest('7')}
	if !slices.Equal(got, want) {
		t.Errorf("ReviewedRecords = %q, want %q", got, want)
	}
}

func TestRenderRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(*Input)
	}{
		{"no run id", func(in *Input) { in.RunID = "" }},
		{"no records", func(in *Input) { in.Records = nil }},
		{"record without predicate", func(in *Input) { in.Records[0].Predicate = nil }},
		{"digest twice", func(in *Input) { in.Records[1].Digest = in.Records[0].Digest }},
		{"record of another run", func(in *Input) {
			in.Records = append(in.Records, records("r9", "1")[0])
			in.Records[len(in.Records)-1].Digest = digest('9')
		}},
		{"previous record without predicate", func(in *Input) { in.Previous[0].Predicate = nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := input()
			tt.mutate(&in)
			if _, _, err := Render(in); !errors.Is(err, ErrInput) {
				t.Errorf("Render error = %v, want ErrInput", err)
			}
		})
	}
}

func TestParseManifest(t *testing.T) {
	t.Parallel()
	doc, _, err := Render(input())
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseManifest(doc)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := ReviewedRecords(input())
	if m.RunID != "r2" || m.RunRoot != digest('f') || !slices.Equal(m.ReviewedRecords, want) {
		t.Errorf("manifest = %+v, want run r2 and %q", m, want)
	}
	twice := bytes.Replace(doc, []byte("</body>"), []byte(manifestOpen+"{}"+manifestClose+"</body>"), 1)
	i := bytes.Index(doc, []byte(manifestOpen))
	unsorted := append(bytes.Clone(doc[:i]), bytes.Replace(doc[i:], []byte(digest('1')), []byte(digest('9')), 1)...)
	for name, bad := range map[string][]byte{"none": []byte("<html></html>"), "twice": twice, "unsorted": unsorted,
		"unclosed": doc[:i+len(manifestOpen)+5]} {
		if _, err := ParseManifest(bad); !errors.Is(err, ErrManifest) {
			t.Errorf("%s: ParseManifest error = %v, want ErrManifest", name, err)
		}
	}
}

func FuzzParseManifest(f *testing.F) {
	doc, _, err := Render(input())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(doc)
	f.Add([]byte(manifestOpen + `{"mediaType":"application/vnd.dossier.review-manifest.v1+json","runId":"r","reviewedRecords":["a"]}` + manifestClose))
	f.Fuzz(func(t *testing.T, b []byte) {
		if m, err := ParseManifest(b); err == nil && (m.RunID == "" || len(m.ReviewedRecords) == 0) {
			t.Fatalf("accepted an empty manifest %+v", m)
		}
	})
}
