package record

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

const specDir = "../../spec/predicates"

// compileSchemas loads every schema in spec/predicates under its $id.
func compileSchemas(t *testing.T) map[string]*jsonschema.Schema {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(specDir, "*.schema.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no schemas in %s: %v", specDir, err)
	}
	c := jsonschema.NewCompiler()
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if err := c.AddResource(schemaURL(filepath.Base(f)), doc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	out := map[string]*jsonschema.Schema{}
	for _, k := range Kinds() {
		s, err := c.Compile(schemaURL(k.Name + ".schema.json"))
		if err != nil {
			t.Fatalf("compiling %s schema: %v", k.Name, err)
		}
		out[k.Name] = s
	}
	return out
}

func schemaURL(file string) string { return "https://dossier.dev/predicates/" + file }

func validateSchema(t *testing.T, s *jsonschema.Schema, b []byte) error {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return s.Validate(inst)
}

// TestTemplatesMatchSchemas checks that every Template satisfies its
// kind's JSON Schema, and that a schema exists for every kind.
func TestTemplatesMatchSchemas(t *testing.T) {
	t.Parallel()
	schemas := compileSchemas(t)
	for _, k := range Kinds() {
		if err := validateSchema(t, schemas[k.Name], Template(k.Name)); err != nil {
			t.Errorf("%s template fails its schema: %v", k.Name, err)
		}
	}
}

// TestSchemaAndCodeAgree runs every invalid predicate case that the schema
// can express through the schema: both must reject it.
func TestSchemaAndCodeAgree(t *testing.T) {
	t.Parallel()
	schemas := compileSchemas(t)
	for _, tc := range predicateCases {
		if !tc.schema {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			b := mutate(t, tc.kind, tc.edit)
			if err := validateSchema(t, schemas[tc.kind], b); err == nil {
				t.Errorf("schema accepts what the code rejects (%v at %s): %s", tc.sentinel, tc.path, b)
			}
		})
	}
}

// TestSchemaAcceptsWhatCodeAccepts checks valid variants beyond the
// templates: optional fields absent, null timeEvidence.
func TestSchemaAcceptsWhatCodeAccepts(t *testing.T) {
	t.Parallel()
	schemas := compileSchemas(t)
	for _, tc := range []struct {
		name, kind string
		edit       func(map[string]any)
	}{
		{"null time evidence", "dataset", set("timeEvidence", nil)},
		{"no optional dataset fields", "dataset", func(m map[string]any) {
			for _, k := range []string{"externalRefs", "timeEvidence", "role", "dataUseAgreement", "preprocessing", "statistics", "content", "manifest"} {
				delete(m, k)
			}
		}},
		{"hub only", "training-run", del("baseModel.descriptor")},
		{"unknown base flops", "training-run", set("baseModel.trainingFlops", "unknown")},
		{"empty optional string", "evaluation", set("plan", "")},
		{"reject without conditions", "approval", func(m map[string]any) { m["decision"] = "reject"; delete(m, "conditions") }},
		{"no sources", "time-evidence", func(m map[string]any) { m["sources"] = []any{}; m["agreeing"] = 0 }},
		{"aborted", "run-closed", func(m map[string]any) { m["status"] = "aborted"; delete(m, "exitCode") }},
		{"retraction", "correction", func(m map[string]any) { delete(m, "replacement"); delete(m, "fields") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, _ := LookupKind(tc.kind)
			b := mutate(t, tc.kind, tc.edit)
			if _, err := ValidatePredicate(k.PredicateType, b); err != nil {
				t.Fatalf("code rejects: %v", err)
			}
			if err := validateSchema(t, schemas[tc.kind], b); err != nil {
				t.Fatalf("schema rejects: %v", err)
			}
		})
	}
}

// TestSpecPages checks that every kind has its normative page, listed in
// the README, whose example is the current Template.
func TestSpecPages(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile(filepath.Join(specDir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range Kinds() {
		page, err := os.ReadFile(filepath.Join(specDir, k.Name+".md"))
		if err != nil {
			t.Errorf("%s: %v", k.Name, err)
			continue
		}
		if !bytes.Contains(page, []byte("predicateType: `"+k.PredicateType+"`")) {
			t.Errorf("%s.md does not state its predicateType", k.Name)
		}
		if !bytes.Contains(page, Template(k.Name)) {
			t.Errorf("%s.md example is not the current Template (regenerate it from 'dossier predicate init %s')", k.Name, k.Name)
		}
		if !bytes.Contains(readme, []byte("("+k.Name+".md)")) {
			t.Errorf("README.md does not list %s.md", k.Name)
		}
	}
}
