package review

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/dossier-audit/dossier/pkg/policy"
	"github.com/dossier-audit/dossier/pkg/record"
)

// MaxChanges bounds the listed changes; the rest are counted.
const MaxChanges = 5000

// change is one difference between the last approved version and this
// run: a field of an item (a dataset by name, an evaluation by benchmark,
// the training configuration, ...), or a whole item added or removed.
type change struct {
	Item, Path, Old, New string
}

// volatile fields differ between any two runs and are not compared.
var volatile = []string{"runId", "attempt", "producedAt", "timeEvidence", "externalRefs"}

func diffRecords(prev, cur []policy.Record) ([]change, error) {
	if len(prev) == 0 {
		return nil, nil
	}
	a, err := items(prev)
	if err != nil {
		return nil, err
	}
	b, err := items(cur)
	if err != nil {
		return nil, err
	}
	var out []change
	for _, item := range slices.Sorted(maps.Keys(merge(a, b))) {
		out = append(out, diffItem(item, a[item], b[item])...)
	}
	if len(out) > MaxChanges {
		more := len(out) - MaxChanges
		out = append(out[:MaxChanges], change{Item: "…", Path: fmt.Sprintf("%d more changes not listed", more)})
	}
	return out, nil
}

func merge(a, b map[string]map[string]string) map[string]bool {
	m := map[string]bool{}
	for k := range a {
		m[k] = true
	}
	for k := range b {
		m[k] = true
	}
	return m
}

func diffItem(item string, old, cur map[string]string) []change {
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

// items flattens each comparable record under a stable item name.
func items(recs []policy.Record) (map[string]map[string]string, error) {
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
		flat, err := flatten(r.Predicate)
		if err != nil {
			return nil, fmt.Errorf("%w: record %s: %w", ErrInput, r.Digest, err)
		}
		out[name] = flat
	}
	return out, nil
}

func trimOrdinal(s string) string {
	if i := bytes.LastIndex([]byte(s), []byte(" #")); i >= 0 {
		if _, err := strconv.Atoi(s[i+2:]); err == nil {
			return s[:i]
		}
	}
	return s
}

func itemName(r policy.Record) (string, bool) {
	switch p := r.Predicate.(type) {
	case *record.Dataset:
		return "dataset " + p.Name, true
	case *record.TrainingRun:
		return "training configuration", true
	case *record.EvaluationPlan:
		return "evaluation plan", true
	case *record.Evaluation:
		return "evaluation " + p.Benchmark.Name, true
	case *record.ModelRelease:
		return "release", true
	case *record.Attachment:
		return "attachment " + p.Title, true
	case *record.RunClosed:
		return "run end", true
	}
	return "", false
}

// flatten maps JSON paths ("sources[0].uri") of a predicate to compact
// JSON scalar values, without the volatile common fields.
func flatten(p record.Predicate) (map[string]string, error) {
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
	walk("", v, out)
	return out, nil
}

func walk(path string, v any, out map[string]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			walk(joinPath(path, k), e, out)
		}
	case []any:
		for i, e := range x {
			walk(fmt.Sprintf("%s[%d]", path, i), e, out)
		}
	default:
		b, _ := json.Marshal(x)
		out[path] = string(b)
	}
}

func joinPath(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}
