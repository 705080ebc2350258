package review

import (
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/dossier-audit/dossier/pkg/keyring"
)

// hostile is appended to every string of the hostile inputs: markup,
// both quotes, an ampersand and an entity, '+', NUL, non-ASCII, U+2028
// and U+2029, an invalid UTF-8 byte, and closers of the elements data
// lands in.
const hostile = "<script>alert('x&y\"')</script>&amp;+1 \x00é\u2028\u2029\xff</pre></code></td></title>]]>-->"

// spoil appends suffix to every string reachable from v (struct fields,
// slice elements, map keys and values), in place.
func spoil(v reflect.Value, suffix string) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			spoil(v.Elem(), suffix)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			spoil(v.Field(i), suffix)
		}
	case reflect.Slice:
		for i := range v.Len() {
			spoil(v.Index(i), suffix)
		}
	case reflect.Map:
		if v.Type().Key().Kind() == reflect.String && v.Type().Elem().Kind() == reflect.String {
			m := reflect.MakeMap(v.Type())
			for _, k := range v.MapKeys() {
				m.SetMapIndex(reflect.ValueOf(k.String()+suffix), reflect.ValueOf(v.MapIndex(k).String()+suffix))
			}
			v.Set(m)
		}
	case reflect.String:
		v.SetString(v.String() + suffix)
	}
}

// hostileInput is input() with hostile text in every string that reaches
// the document: run id and root, label, digests, kinds of records the
// review does not know, signers, key owners and every predicate field.
func hostileInput() Input {
	in := input()
	extra := records("r2", "0.3")[0]
	extra.Kind, extra.Digest, extra.LogIndex = "dataset-ish", digest('e'), 9
	in.Records = append(in.Records, extra)
	for i := range in.Records {
		in.Records[i].Signer = "SHA256:alice"
		if i%2 == 1 {
			in.Records[i].Signer = "SHA256:" + hostile
		}
	}
	in.Owners["SHA256:"+hostile] = keyring.Owner{Name: "Mallory" + hostile, PersonID: "person:m" + hostile, Team: "t" + hostile}
	spoil(reflect.ValueOf(&in).Elem(), hostile)
	for i := range in.Previous {
		spoil(reflect.ValueOf(in.Previous[i].Predicate), "~old")
	}
	return in
}

// goldenInputs are the inputs whose renderings are pinned by digest in
// testdata/render-digests.txt: any change of a document's bytes changes
// approvals' renderedViewDigest, so the renderer must never change them
// by accident.
func goldenInputs(tb testing.TB) map[string]Input {
	small := input()
	small.Previous, small.PreviousLabel, small.Owners = nil, "", nil
	noLabel := input()
	noLabel.PreviousLabel = ""
	same := input()
	same.Previous = records("r1", "0.0002")
	big := bigInput(tb, 10000)
	bigPrev := bigInput(tb, 10000)
	bigPrev.Previous, bigPrev.PreviousLabel = bigRun(tb, "llama3-ft-2026-10-01-001", 10000, "2026.10"), "llama3 1.0.0"
	bigPart := bigInput(tb, 10000)
	bigPart.Previous = bigRun(tb, "llama3-ft-2026-10-01-001", 6000, "2026.11")
	return map[string]Input{
		"example": input(), "first-release": small, "previous-unlabelled": noLabel, "no-changes": same,
		"hostile": hostileInput(), "10k": big, "10k-vs-10k": bigPrev, "10k-vs-6k": bigPart,
	}
}

func TestRenderDigestsPinned(t *testing.T) {
	t.Parallel()
	path := filepath.Join("testdata", "render-digests.txt")
	ins := goldenInputs(t)
	got := map[string]string{}
	var lines []string
	for _, name := range slices.Sorted(maps.Keys(ins)) {
		_, d, err := Render(ins[name])
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got[name] = d
		lines = append(lines, name+" "+d)
	}
	if *update {
		if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		name, d, _ := strings.Cut(l, " ")
		want[name] = d
	}
	for name, d := range got {
		if want[name] != d {
			t.Errorf("%s: rendering digest %s, pinned %q in %s", name, d, want[name], path)
		}
	}
	if len(want) != len(got) {
		t.Errorf("%s pins %d renderings, the test renders %d", path, len(want), len(got))
	}
}
