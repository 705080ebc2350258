package release

import (
	"encoding/json"
	"errors"
	"runtime/debug"
	"strings"
	"testing"
	"time"
)

const sum = "h1:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="

func sampleInfo() *debug.BuildInfo {
	return &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/dossier-audit/dossier"},
		Deps: []*debug.Module{{Path: "example.com/a", Version: "v1.0.0"},
			{Path: "example.com/b", Version: "v0.1.0", Replace: &debug.Module{Path: "example.com/c", Version: "v0.2.0"}}}}
}

func TestSBOM(t *testing.T) {
	t.Parallel()
	in := SBOMInput{Name: "dossier-x-offline", Version: "x", Created: time.Unix(1700000000, 0),
		Binaries: []Binary{{Name: "bin/linux-amd64/dossier", SHA256: strings.Repeat("ab", 32), Info: sampleInfo()},
			{Name: "bin/linux-amd64/dossierd", SHA256: strings.Repeat("cd", 32), Info: sampleInfo()}},
		GoSum: map[string]string{"example.com/a@v1.0.0": sum}}
	a, err := SBOM(in)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := SBOM(in)
	if string(a) != string(b) {
		t.Fatal("SBOM is not deterministic")
	}
	var doc spdxDoc
	if err := json.Unmarshal(a, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.SPDXVersion != "SPDX-2.3" || len(doc.Files) != 2 || doc.CreationInfo.Created != "2023-11-14T22:13:20Z" {
		t.Fatalf("document header: %+v", doc)
	}
	names := map[string]spdxPackage{}
	for _, p := range doc.Packages {
		names[p.Name] = p
	}
	if len(doc.Packages) != 4 { // stdlib, main, a, c (b is replaced)
		t.Fatalf("packages: got %d, want 4: %v", len(doc.Packages), names)
	}
	a1 := names["example.com/a"]
	if len(a1.Checksums) != 1 || a1.Checksums[0].Value != "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" {
		t.Errorf("module a checksum: %+v", a1.Checksums)
	}
	if _, ok := names["example.com/b"]; ok {
		t.Error("replaced module listed under its old path")
	}
	if names["stdlib"].VersionInfo != "1.26.8" {
		t.Errorf("stdlib version %q", names["stdlib"].VersionInfo)
	}
}

func TestSBOMRejects(t *testing.T) {
	t.Parallel()
	if _, err := SBOM(SBOMInput{}); !errors.Is(err, ErrNoBinaries) {
		t.Fatalf("got %v, want ErrNoBinaries", err)
	}
	if _, err := SBOM(SBOMInput{Binaries: []Binary{{Name: "x"}}}); err == nil || !strings.Contains(err.Error(), "no build info") {
		t.Fatalf("got %v, want no build info", err)
	}
}

func TestH1Hex(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, in string
		ok       bool
	}{
		{"good", sum, true}, {"no prefix", "h2:abc", false}, {"short", "h1:AAAA", false}, {"bad base64", "h1:!!", false},
	} {
		if _, err := H1Hex(tc.in); (err == nil) != tc.ok {
			t.Errorf("%s: err %v", tc.name, err)
		}
	}
}

func TestParseGoSum(t *testing.T) {
	t.Parallel()
	got := ParseGoSum([]byte("example.com/a v1.0.0 " + sum + "\nexample.com/a v1.0.0/go.mod h1:x\n\nbroken\n"))
	if len(got) != 1 || got["example.com/a@v1.0.0"] != sum {
		t.Fatalf("got %v", got)
	}
}

func validInput() ProvenanceInput {
	return ProvenanceInput{Artifact: "dossier-x-offline.tar", SHA256: strings.Repeat("0", 64), Repo: "git+https://example.com/d",
		Commit: strings.Repeat("a", 40), Version: "x", Target: "dist", GoVersion: "go1.26.8", BuilderID: "b", InvocationID: "i",
		StartedOn: time.Unix(1, 0), FinishedOn: time.Unix(2, 0), Modules: map[string]string{"example.com/a@v1.0.0": sum}}
}

func TestStatement(t *testing.T) {
	t.Parallel()
	b, err := Statement(validInput())
	if err != nil {
		t.Fatal(err)
	}
	var st statement
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	if st.Type != StatementTypeV1 || st.PredicateType != PredicateSLSAProvenanceV1 || st.Subject[0].Digest["sha256"] != strings.Repeat("0", 64) {
		t.Fatalf("statement header: %+v", st)
	}
	deps := st.Predicate.BuildDefinition.ResolvedDependencies
	if len(deps) != 3 || deps[0].Digest["gitCommit"] != strings.Repeat("a", 40) || deps[2].Digest["dirHash"] == "" {
		t.Fatalf("resolvedDependencies: %+v", deps)
	}
	if st.Predicate.RunDetails.Metadata.StartedOn != "1970-01-01T00:00:01Z" {
		t.Errorf("startedOn %q", st.Predicate.RunDetails.Metadata.StartedOn)
	}
}

func TestStatementRejects(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		mod  func(*ProvenanceInput)
	}{
		{"no artifact", func(p *ProvenanceInput) { p.Artifact = "" }},
		{"bad sha256", func(p *ProvenanceInput) { p.SHA256 = "ABC" }},
		{"short commit", func(p *ProvenanceInput) { p.Commit = "abc" }},
		{"no builder", func(p *ProvenanceInput) { p.BuilderID = "" }},
		{"finished before started", func(p *ProvenanceInput) { p.FinishedOn = time.Unix(0, 0) }},
	} {
		in := validInput()
		tc.mod(&in)
		if _, err := Statement(in); !errors.Is(err, ErrProvenance) {
			t.Errorf("%s: got %v, want ErrProvenance", tc.name, err)
		}
	}
}
