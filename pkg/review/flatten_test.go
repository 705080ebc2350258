package review

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"testing"

	"github.com/dossier-audit/dossier/pkg/record"
)

// flattenReference is the former flatten, which decoded the predicate
// into maps: flatten must give the same paths and values.
// flatten maps JSON paths ("sources[0].uri") of a predicate to compact
// JSON scalar values, without the volatile common fields.
func flattenReference(p record.Predicate) (map[string]string, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v map[string]any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	for _, f := range volatile {
		delete(v, f)
	}
	out := map[string]string{}
	walkReference("", v, out)
	return out, nil
}

func walkReference(path string, v any, out map[string]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			walkReference(joinPath(path, k), e, out)
		}
	case []any:
		for i, e := range x {
			walkReference(fmt.Sprintf("%s[%d]", path, i), e, out)
		}
	default:
		b, _ := json.Marshal(x)
		out[path] = string(b)
	}
}

// flattenSamples are predicates whose flattening must match the former
// one: every predicate of the golden inputs (hostile text with NUL and
// invalid UTF-8 among them) and annotations holding raw JSON with its own
// escapes, numbers and duplicate keys.
func flattenSamples(t testing.TB) []record.Predicate {
	var out []record.Predicate
	for _, in := range goldenInputs(t) {
		for _, r := range append(in.Records, in.Previous...)[:min(len(in.Records)+len(in.Previous), 20)] {
			out = append(out, r.Predicate)
		}
	}
	raw := map[string]json.RawMessage{"size": json.RawMessage(`1.50E+3`), "esc": json.RawMessage(`"\u0041\/\ud83d\ude00 <&>"`),
		"obj": json.RawMessage(`{"b":[1,{"c":null}],"a":"x","a":"y","d.e":{}}`), "list": json.RawMessage(`[]`), "t": json.RawMessage(`true`)}
	out = append(out, &record.Attachment{Title: "a\x00\xff\u2028", Document: record.ResourceDescriptor{Name: "n", Annotations: raw}},
		&record.TrainingRun{Hyperparameters: map[string]string{"a<b": "\"", "": "", "x\\y": "\xff"}})
	return out
}

func TestFlattenMatchesReference(t *testing.T) {
	t.Parallel()
	for i, p := range flattenSamples(t) {
		assertFlatten(t, fmt.Sprint(i), p)
	}
}

func assertFlatten(t *testing.T, name string, p record.Predicate) {
	t.Helper()
	want, errWant := flattenReference(p)
	got, err := flatten(p)
	if (err == nil) != (errWant == nil) || !maps.Equal(got, want) {
		t.Fatalf("%s: flatten = %v, %v\nreference %v, %v", name, got, err, want, errWant)
	}
}

func FuzzFlatten(f *testing.F) {
	for _, p := range flattenSamples(f) {
		b, _ := json.Marshal(p)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, p := range []record.Predicate{&record.Dataset{}, &record.TrainingRun{}, &record.Attachment{}} {
			if json.Unmarshal(b, p) == nil {
				assertFlatten(t, string(b), p)
			}
		}
	})
}
