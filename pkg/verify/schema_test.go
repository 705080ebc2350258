package verify

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

const resultSchema = "../../spec/verify-result.schema.json"

func compileResultSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	b, err := os.ReadFile(resultSchema)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource("verify-result.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("verify-result.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestResultSchema: verified, rejected and inconclusive results validate
// against spec/verify-result.schema.json, and a broken one does not.
func TestResultSchema(t *testing.T) {
	t.Parallel()
	s := compileResultSchema(t)
	good := buildPackage(t, spec{Runs: 2, RecordsPerRun: 2})
	bad := buildPackage(t, spec{Runs: 1, RecordsPerRun: 2, DropRecord: true, EditReport: true})
	for name, res := range map[string]*Result{
		"verified":     verifyBuilt(good, PackageOptions{}),
		"rejected":     verifyBuilt(bad, PackageOptions{}),
		"wrong pin":    verifyBuilt(good, PackageOptions{RootFingerprint: "SHA256:" + string(bytes.Repeat([]byte("0"), 64))}),
		"inconclusive": VerifyPackage(failingReader{}, 4096, PackageOptions{RootFingerprint: good.Fingerprint}),
		"tar":          VerifyPackage(bytes.NewReader([]byte("junk")), 4, PackageOptions{RootFingerprint: good.Fingerprint}),
	} {
		t.Run(name, func(t *testing.T) {
			b, err := json.Marshal(res)
			if err != nil {
				t.Fatal(err)
			}
			inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Validate(inst); err != nil {
				t.Fatalf("%s result does not validate: %v\n%s", name, err, b)
			}
		})
	}
	inst, _ := jsonschema.UnmarshalJSON(bytes.NewReader([]byte(`{"mediaType":"application/vnd.dossier.verify-result.v1+json","outcome":"fine","failures":[],"checks":[]}`)))
	if s.Validate(inst) == nil {
		t.Fatal("schema accepts outcome \"fine\"")
	}
}

// TestResultSchemaV2: results with anchors (anchored records, fork
// evidence) and v2 policy rules validate against the schema.
func TestResultSchemaV2(t *testing.T) {
	t.Parallel()
	s := compileResultSchema(t)
	for _, name := range []string{"anchors-tsa-and-witness-quorum", "anchors-fork-consistency-fails", "policy-v2-approval-by-developer"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := "../../testvectors/v2/" + name
			opts, _ := vectorOptions(t, dir)
			f, err := os.Open(dir + "/package.tar")
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			st, _ := f.Stat()
			b, err := json.Marshal(VerifyPackage(f, st.Size(), opts))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(b, []byte(`"anchors"`)) && !bytes.Contains(b, []byte(`"rule"`)) {
				t.Fatalf("result has neither anchors nor rules: %s", b)
			}
			inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Validate(inst); err != nil {
				t.Fatalf("result does not validate: %v\n%s", err, b)
			}
		})
	}
}
