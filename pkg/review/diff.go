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
	"strings"

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
	names := slices.Concat(slices.Collect(maps.Keys(a)), slices.Collect(maps.Keys(b)))
	slices.Sort(names)
	var out []change
	for _, item := range slices.Compact(names) {
		old, okOld := a[item]
		now, okNow := b[item]
		out = diffItem(out, item, old, now, okOld, okNow)
	}
	if len(out) > MaxChanges {
		more := len(out) - MaxChanges
		out = append(out[:MaxChanges], change{Item: "…", Path: fmt.Sprintf("%d more changes not listed", more)})
	}
	return out, nil
}

// diffItem appends the changes of one item: added, removed, or each path
// (in sorted order) whose value differs or which one side lacks.
func diffItem(out []change, item string, old, cur []leaf, okOld, okCur bool) []change {
	switch {
	case !okOld:
		return append(out, change{Item: item, Old: "(absent)", New: "(added)"})
	case !okCur:
		return append(out, change{Item: item, Old: "(present)", New: "(removed)"})
	}
	for i, j := 0, 0; i < len(old) || j < len(cur); {
		switch {
		case j == len(cur) || i < len(old) && old[i].path < cur[j].path:
			out = append(out, change{Item: item, Path: old[i].path, Old: old[i].value, New: "(absent)"})
			i++
		case i == len(old) || cur[j].path < old[i].path:
			out = append(out, change{Item: item, Path: cur[j].path, Old: "(absent)", New: cur[j].value})
			j++
		default:
			if old[i].value != cur[j].value {
				out = append(out, change{Item: item, Path: old[i].path, Old: old[i].value, New: cur[j].value})
			}
			i, j = i+1, j+1
		}
	}
	return out
}

// items flattens each comparable record under a stable item name: its
// itemName, or for the second and later items of that name the first
// free "name #n" (n >= 2; next remembers where the search of a name
// ended, as names are only ever added).
func items(recs []policy.Record) (map[string][]leaf, error) {
	sorted := slices.Clone(recs)
	slices.SortStableFunc(sorted, func(a, b policy.Record) int { return cmp.Compare(a.LogIndex, b.LogIndex) })
	out := map[string][]leaf{}
	next := map[string]int{}
	for _, r := range sorted {
		name, ok := itemName(r)
		if !ok {
			continue
		}
		if _, taken := out[name]; taken {
			base := trimOrdinal(name)
			n := max(next[base], 2)
			for ; isKey(out, base+" #"+strconv.Itoa(n)); n++ {
			}
			name, next[base] = base+" #"+strconv.Itoa(n), n+1
		}
		flat, err := flatten(r.Predicate)
		if err != nil {
			return nil, fmt.Errorf("%w: record %s: %w", ErrInput, r.Digest, err)
		}
		out[name] = flat
	}
	return out, nil
}

func isKey(m map[string][]leaf, k string) bool {
	_, ok := m[k]
	return ok
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

// leaf is a scalar of a predicate: its JSON path ("sources[0].uri") and
// compact JSON value.
type leaf struct{ path, value string }

// flatten returns the leaves of a predicate sorted by path, without the
// volatile common fields, read from its json.Marshal output in one pass
// (flattener). Of leaves with the same path (a key with a dot can spell
// another's path) the last written is kept.
func flatten(p record.Predicate) ([]leaf, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	f := flattener{b: b, s: string(b)}
	if err := f.value("", true); err != nil {
		return nil, err
	}
	slices.SortStableFunc(f.out, func(a, b leaf) int { return strings.Compare(a.path, b.path) })
	out := f.out[:0]
	for i, l := range f.out {
		if i+1 < len(f.out) && f.out[i+1].path == l.path {
			continue
		}
		out = append(out, l)
	}
	return out, nil
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
	s   string // b, whose substrings the leaves' values and keys are
	i   int
	out []leaf
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
			f.out = append(f.out, leaf{path, f.s[end-len(tok) : end]})
			return nil
		}
		var s string
		if err := json.Unmarshal(tok, &s); err != nil {
			return err
		}
		b, _ := json.Marshal(s)
		f.out = append(f.out, leaf{path, string(b)})
		return nil
	}
	start := f.i
	for f.i < len(f.b) && f.b[f.i] != ',' && f.b[f.i] != '}' && f.b[f.i] != ']' {
		f.i++
	}
	if lit := f.s[start:f.i]; !top || lit != "null" {
		f.out = append(f.out, leaf{path, lit})
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
		k, err := jsonKey(f.s[f.i:end])
		if err != nil {
			return err
		}
		f.i = end + 1 // the colon
		if top && slices.Contains(volatile, k) {
			sub := flattener{b: f.b, s: f.s, i: f.i}
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
func jsonKey(tok string) (string, error) {
	if len(tok) < 2 || tok[0] != '"' {
		return "", errFlatten
	}
	if strings.IndexByte(tok, '\\') < 0 {
		return tok[1 : len(tok)-1], nil
	}
	var k string
	err := json.Unmarshal([]byte(tok), &k)
	return k, err
}

func joinPath(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}
