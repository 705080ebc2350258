package record

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestKinds(t *testing.T) {
	t.Parallel()
	want := "dataset training-run evaluation-plan evaluation model-release approval export time-evidence run-closed correction attachment export-sealed package deployment receipt transfer"
	if got := strings.Join(KindNames(), " "); got != want {
		t.Fatalf("KindNames = %s, want %s", got, want)
	}
	for _, k := range Kinds() {
		if k.PredicateType != "https://dossier.dev/predicates/"+k.Name+"/v1" {
			t.Errorf("%s: predicate type %s", k.Name, k.PredicateType)
		}
		if got, ok := KindOf(k.PredicateType); !ok || got.Name != k.Name {
			t.Errorf("KindOf(%s) = %v, %v", k.PredicateType, got.Name, ok)
		}
		if k.RunScoped == (k.subject != nil) {
			t.Errorf("%s: run-scoped kinds take the run root, others derive the subject", k.Name)
		}
	}
	if _, ok := KindOf("https://dossier.dev/predicates/keyring/v1"); ok {
		t.Error("KindOf accepted an unknown type")
	}
	if Template("nope") != nil {
		t.Error("Template of unknown kind is not nil")
	}
}

// TestTemplates checks every template validates and makes a statement
// that parses back to the same bytes.
func TestTemplates(t *testing.T) {
	t.Parallel()
	for _, k := range Kinds() {
		t.Run(k.Name, func(t *testing.T) {
			t.Parallel()
			tpl := Template(k.Name)
			if !bytes.Equal(tpl, Template(k.PredicateType)) {
				t.Fatal("Template by name and by URI differ")
			}
			common, err := ValidatePredicate(k.PredicateType, tpl)
			if err != nil {
				t.Fatalf("template invalid: %v", err)
			}
			if common.ProducedAt == "" || (k.RunScoped && common.RunID == "") {
				t.Fatalf("common fields not returned: %+v", common)
			}
			root := RunSubject(common.RunID, "sha256:9b74c9897bac770ffc029102a200c5de6e2d1b2a8f9c2a1a3e4f5d6c7b8a9f0e")
			subject, err := Subjects(k.PredicateType, tpl, &root)
			if err != nil {
				t.Fatalf("Subjects: %v", err)
			}
			st, err := NewStatement(subject, k.PredicateType, tpl)
			if err != nil {
				t.Fatalf("NewStatement: %v", err)
			}
			again, err := NewStatement(subject, k.PredicateType, tpl)
			if err != nil || !bytes.Equal(st, again) {
				t.Fatal("NewStatement is not deterministic")
			}
			if !bytes.HasPrefix(st, []byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":`)) {
				t.Fatalf("statement key order: %.80s", st)
			}
			parsed, err := ParseStatement(st)
			if err != nil {
				t.Fatalf("ParseStatement: %v", err)
			}
			var compact bytes.Buffer
			_ = json.Compact(&compact, tpl)
			if !bytes.Equal(parsed.Predicate, compact.Bytes()) || parsed.Parsed() == nil {
				t.Fatal("predicate bytes changed")
			}
		})
	}
}

func TestSubjects(t *testing.T) {
	t.Parallel()
	root := RunSubject("llama3-ft-2026-11-27-001", rootHex)
	mr := PredicateTypePrefix + "model-release/v1"
	got, err := Subjects(mr, Template("model-release"), &root)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"run:llama3-ft-2026-11-27-001", "model:support-assistant-de@1.3.0/adapter_model.safetensors"}
	if len(got) != 2 || got[0].Name != want[0] || got[1].Name != want[1] ||
		got[1].SHA256() != "18ac3e7343f016890c510e93f935261169d9e3f565436429830faf0934f4f8e4" {
		t.Fatalf("model-release subjects = %+v, want names %q", got, want)
	}
	if _, err := Subjects(mr, Template("model-release"), nil); !errors.Is(err, ErrRunScoped) {
		t.Fatalf("no run root: got %v, want ErrRunScoped", err)
	}
	te := PredicateTypePrefix + "time-evidence/v1"
	got, err = Subjects(te, Template("time-evidence"), &root)
	if err != nil || len(got) != 1 || got[0].Name != "time-evidence" {
		t.Fatalf("time-evidence subjects = %+v, %v", got, err)
	}
}

func TestDerivedSubjectRunScoped(t *testing.T) {
	t.Parallel()
	_, err := DerivedSubject(PredicateTypePrefix+"dataset/v1", Template("dataset"))
	if !errors.Is(err, ErrRunScoped) {
		t.Fatalf("got %v, want ErrRunScoped", err)
	}
	_, err = DerivedSubject(PredicateTypePrefix+"nope/v1", Template("dataset"))
	if !errors.Is(err, ErrUnknownPredicateType) {
		t.Fatalf("got %v, want ErrUnknownPredicateType", err)
	}
}

func TestFindings(t *testing.T) {
	t.Parallel()
	p := mutate(t, "approval", func(m map[string]any) {
		m["meaning"] = "blessing"
		m["signedAt"] = "yesterday"
	})
	_, err := ValidatePredicate(PredicateTypePrefix+"approval/v1", p)
	fs := Findings(err)
	if len(fs) != 2 || fs[0].Path != "signedAt" || fs[0].Code != "time" || fs[1].Path != "meaning" || fs[1].Code != "enum" {
		t.Fatalf("Findings = %+v", fs)
	}
	if Findings(nil) != nil {
		t.Fatal("Findings(nil) not empty")
	}
}

// mutate returns the template of kind changed by f.
func mutate(t *testing.T, kind string, f func(map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(Template(kind)))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	f(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
