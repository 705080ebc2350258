package run

import (
	"errors"
	"strings"
	"testing"
)

func testRegistration() Registration {
	return Registration{
		RunID:     "ft-llama-2026-11-27-a",
		Project:   "clinical-notes",
		Model:     "acme/notes-summarizer",
		StartedBy: Identity{ID: "svc:training-pipeline", Name: "Training pipeline", Kind: "workload"},
		StartedAt: "2026-11-27T09:00:00Z",
	}
}

func TestNewIsDeterministic(t *testing.T) {
	t.Parallel()
	a, err := New(testRegistration())
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(testRegistration())
	if err != nil {
		t.Fatal(err)
	}
	if string(a.Manifest) != string(b.Manifest) || a.Digest() != b.Digest() {
		t.Fatalf("same registration gave different roots: %s vs %s", a.Digest(), b.Digest())
	}
	if !strings.HasPrefix(a.Digest(), "sha256:") || len(a.Hex()) != 64 {
		t.Fatalf("digest %q is not sha256:<64 hex>", a.Digest())
	}
	if a.Tag() != "run-ft-llama-2026-11-27-a" || a.SubjectName() != "run:ft-llama-2026-11-27-a" {
		t.Fatalf("tag %q subject %q", a.Tag(), a.SubjectName())
	}
	for _, want := range []string{`"artifactType":"application/vnd.dossier.run.v1"`,
		`"org.opencontainers.image.created":"2026-11-27T09:00:00Z"`, `"mediaType":"application/vnd.oci.empty.v1+json"`} {
		if !strings.Contains(string(a.Manifest), want) {
			t.Errorf("manifest lacks %s:\n%s", want, a.Manifest)
		}
	}
}

func TestOtherRegistrationOtherDigest(t *testing.T) {
	t.Parallel()
	a, _ := New(testRegistration())
	r := testRegistration()
	r.StartedAt = "2026-11-27T09:00:01Z"
	b, _ := New(r)
	if a.Digest() == b.Digest() {
		t.Fatal("different registrations share a digest")
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		edit  func(*Registration)
		field string
	}{
		{"empty id", func(r *Registration) { r.RunID = "" }, "runId"},
		{"id with slash", func(r *Registration) { r.RunID = "a/b" }, "runId"},
		{"id too long", func(r *Registration) { r.RunID = strings.Repeat("a", 101) }, "runId"},
		{"no project", func(r *Registration) { r.Project = "" }, "project"},
		{"no model", func(r *Registration) { r.Model = "" }, "model"},
		{"no starter", func(r *Registration) { r.StartedBy.ID = "" }, "startedBy.id"},
		{"bad kind", func(r *Registration) { r.StartedBy.Kind = "robot" }, "startedBy.kind"},
		{"local time", func(r *Registration) { r.StartedAt = "2026-11-27T09:00:00+01:00" }, "startedAt"},
		{"no time", func(r *Registration) { r.StartedAt = "yesterday" }, "startedAt"},
		{"other schema", func(r *Registration) { r.Schema = "x" }, "schema"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := testRegistration()
			tc.edit(&r)
			_, err := New(r)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.field) {
				t.Fatalf("got %v, want ErrInvalid naming %s", err, tc.field)
			}
		})
	}
}

func TestParseRoundTripAndCanonical(t *testing.T) {
	t.Parallel()
	root, _ := New(testRegistration())
	got, err := Parse(root.Manifest, root.RegistrationJSON)
	if err != nil || got.Digest() != root.Digest() {
		t.Fatalf("Parse = %v, %v", got, err)
	}
	spaced := []byte(strings.Replace(string(root.RegistrationJSON), `"runId":`, `"runId": `, 1))
	if _, err := Parse(root.Manifest, spaced); !errors.Is(err, ErrInvalid) {
		t.Fatalf("non-canonical registration: got %v", err)
	}
	other := []byte(strings.Replace(string(root.Manifest), `"dev.dossier.run.project"`, `"dev.dossier.run.projekt"`, 1))
	if _, err := Parse(other, root.RegistrationJSON); !errors.Is(err, ErrInvalid) {
		t.Fatalf("edited manifest: got %v", err)
	}
}

func TestRunFile(t *testing.T) {
	t.Parallel()
	root, _ := New(testRegistration())
	got, err := ParseFile(root.MarshalFile())
	if err != nil || got.Digest() != root.Digest() {
		t.Fatalf("ParseFile = %v, %v", got, err)
	}
	forged := strings.Replace(string(root.MarshalFile()), root.Hex(), strings.Repeat("0", 64), 1)
	if _, err := ParseFile([]byte(forged)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("forged digest: got %v", err)
	}
	if _, err := ParseFile([]byte(`{"mediaType":"x"}`)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("wrong media type: got %v", err)
	}
}
