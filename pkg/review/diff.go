package review

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
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
// JSON scalar values, without the volatile common fields: the leaves of
// its json.Marshal output, read in one pass (flattenJSON).
func flatten(p record.Predicate) (map[string]string, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	f := flattener{b: b, out: map[string]string{}}
	if err := f.value("", true); err != nil {
		return nil, err
	}
	return f.out, nil
}

// flattener reads json.Marshal output (compact, valid) and files each
// scalar under its path, as decoding it (UseNumber) and marshalling every
// leaf again does: numbers and literals keep their bytes, and so do
// strings without a backslash (marshalled from a Go string, they are
// already in json.Marshal's form); a string with an escape is decoded and
// marshalled again (a json.RawMessage keeps its own escapes, \ufffd
// stands for invalid UTF-8 and comes back as U+FFFD itself); object keys
// are decoded.
type flattener struct {
	b   []byte
	i   int
	out map[string]string
}

var errFlatten = errors.New("unexpected JSON")

func (f *flattener) value(path string, top bool) error {
	if f.i >= len(f.b) {
		return errFlatten
	}
	switch f.b[f.i] {
	case '{':
		return f.object(path, top)
	case '[':
		return f.array(path)
	case '"':
		end := stringEnd(f.b, f.i) + 1
		tok := f.b[f.i:end]
		f.i = end
		if bytes.IndexByte(tok, '\\') < 0 {
			f.out[path] = string(tok)
			return nil
		}
		var s string
		if err := json.Unmarshal(tok, &s); err != nil {
			return err
		}
		b, _ := json.Marshal(s)
		f.out[path] = string(b)
		return nil
	}
	start := f.i
	for f.i < len(f.b) && f.b[f.i] != ',' && f.b[f.i] != '}' && f.b[f.i] != ']' {
		f.i++
	}
	if lit := string(f.b[start:f.i]); !top || lit != "null" {
		f.out[path] = lit
	}
	return nil
}

func (f *flattener) object(path string, top bool) error {
	f.i++
	for f.i < len(f.b) && f.b[f.i] != '}' {
		if f.b[f.i] == ',' {
			f.i++
		}
		end := stringEnd(f.b, f.i) + 1
		k, err := jsonKey(f.b[f.i:end])
		if err != nil {
			return err
		}
		f.i = end + 1 // the colon
		if top && slices.Contains(volatile, k) {
			sub := flattener{b: f.b, i: f.i, out: map[string]string{}}
			err, f.i = sub.value("", false), sub.i
		} else {
			err = f.value(joinPath(path, k), false)
		}
		if err != nil {
			return err
		}
	}
	f.i++
	return nil
}

func (f *flattener) array(path string) error {
	f.i++
	for n := 0; f.i < len(f.b) && f.b[f.i] != ']'; n++ {
		if f.b[f.i] == ',' {
			f.i++
		}
		if err := f.value(path+"["+strconv.Itoa(n)+"]", false); err != nil {
			return err
		}
	}
	f.i++
	return nil
}

// jsonKey decodes an object key token.
func jsonKey(tok []byte) (string, error) {
	if len(tok) < 2 || tok[0] != '"' {
		return "", errFlatten
	}
	if !bytes.ContainsRune(tok, '\\') {
		return string(tok[1 : len(tok)-1]), nil
	}
	var k string
	err := json.Unmarshal(tok, &k)
	return k, err
}

func joinPath(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}
