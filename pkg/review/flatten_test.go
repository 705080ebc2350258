package review

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/dossier-audit/dossier/pkg/policy"
	"github.com/dossier-audit/dossier/pkg/record"
)

// diffRecordsReference is the former diffRecords, over maps of paths.

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
	leaves, err := flatten(p)
	got := map[string]string{}
	for i, l := range leaves {
		if i > 0 && leaves[i-1].path >= l.path {
			t.Fatalf("%s: leaves not sorted and unique: %q after %q", name, l.path, leaves[i-1].path)
		}
		got[l.path] = l.value
	}
	if (err == nil) != (errWant == nil) || !maps.Equal(got, want) {
		t.Fatalf("%s: flatten = %v, %v\nreference %v, %v", name, got, err, want, errWant)
	}
}

// TestDiffMatchesReference compares diffRecords with the former one on
// the golden inputs and on items named alike: 300 evaluations of one
// benchmark and datasets named "x", "x #3", "x #2 #2".
func TestDiffMatchesReference(t *testing.T) {
	t.Parallel()
	ins := goldenInputs(t)
	alike := input()
	for i := range 300 {
		r := records("r1", "0.1")[3]
		r.Digest, r.LogIndex = fixtureDigest("e", fmt.Sprint(i)), uint64(100+i)
		ev := *r.Predicate.(*record.Evaluation)
		ev.Metrics = []record.Metric{{Name: "exact_match", Value: fmt.Sprint(i % 7)}}
		r.Predicate = &ev
		alike.Records = append(alike.Records, r)
		if i%3 == 0 {
			alike.Previous = append(alike.Previous, r)
		}
	}
	for i, n := range []string{"x", "x #3", "x #2 #2", "x", "x #2", "x #2 #2", "x"} {
		r := records("r1", "0.1")[0]
		d := *r.Predicate.(*record.Dataset)
		d.Name, d.Version = n, fmt.Sprint(i%2)
		r.Digest, r.LogIndex, r.Predicate = fixtureDigest("d", fmt.Sprint(i)), uint64(500+i), &d
		alike.Records = append(alike.Records, r)
		if i%2 == 0 {
			alike.Previous = append(alike.Previous, r)
		}
	}
	ins["alike"] = alike
	for name, in := range ins {
		got, err := diffRecords(in.Previous, in.Records)
		want, errWant := diffRecordsReference(in.Previous, in.Records)
		if err != nil || errWant != nil || !slices.Equal(got, want) {
			t.Errorf("%s: diff of %d changes (%v), the former diff %d (%v)", name, len(got), err, len(want), errWant)
		}
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

func diffRecordsReference(prev, cur []policy.Record) ([]change, error) {
	if len(prev) == 0 {
		return nil, nil
	}
	a, err := itemsReference(prev)
	if err != nil {
		return nil, err
	}
	b, err := itemsReference(cur)
	if err != nil {
		return nil, err
	}
	var out []change
	for _, item := range slices.Sorted(maps.Keys(mergeReference(a, b))) {
		out = append(out, diffItemReference(item, a[item], b[item])...)
	}
	if len(out) > MaxChanges {
		more := len(out) - MaxChanges
		out = append(out[:MaxChanges], change{Item: "…", Path: fmt.Sprintf("%d more changes not listed", more)})
	}
	return out, nil
}

func mergeReference(a, b map[string]map[string]string) map[string]bool {
	m := map[string]bool{}
	for k := range a {
		m[k] = true
	}
	for k := range b {
		m[k] = true
	}
	return m
}

func diffItemReference(item string, old, cur map[string]string) []change {
	switch {
	case old == nil:
		return []change{{Item: item, Old: "(absent)", New: "(added)"}}
	case cur == nil:
		return []change{{Item: item, Old: "(present)", New: "(removed)"}}
	}
	var out []change
	paths := map[string]bool{}
	for p := range old {
		paths[p] = true
	}
	for p := range cur {
		paths[p] = true
	}
	for _, p := range slices.Sorted(maps.Keys(paths)) {
		o, okO := old[p]
		n, okN := cur[p]
		if o == n && okO == okN {
			continue
		}
		if !okO {
			o = "(absent)"
		}
		if !okN {
			n = "(absent)"
		}
		out = append(out, change{Item: item, Path: p, Old: o, New: n})
	}
	return out
}

// itemsReference is the former items.
// items flattens each comparable record under a stable item name.
func itemsReference(recs []policy.Record) (map[string]map[string]string, error) {
	sorted := slices.Clone(recs)
	slices.SortStableFunc(sorted, func(a, b policy.Record) int { return cmp.Compare(a.LogIndex, b.LogIndex) })
	out := map[string]map[string]string{}
	for _, r := range sorted {
		name, ok := itemName(r)
		if !ok {
			continue
		}
		for n := 2; out[name] != nil; n++ {
			name = fmt.Sprintf("%s #%d", trimOrdinal(name), n)
		}
		flat, err := flattenReference(r.Predicate)
		if err != nil {
			return nil, fmt.Errorf("%w: record %s: %w", ErrInput, r.Digest, err)
		}
		out[name] = flat
	}
	return out, nil
}
