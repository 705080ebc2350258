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
	"github.com/dossier-audit/dossier/pkg/policy"
	"github.com/dossier-audit/dossier/pkg/record"
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
func hostileInput() Input { return spoiledInput(hostile) }

// spoiledInput is input() with suffix appended to every string.
func spoiledInput(suffix string) Input {
	in := input()
	extra := records("r2", "0.3")[0]
	extra.Kind, extra.Digest, extra.LogIndex = "dataset-ish", digest('e'), 9
	in.Records = append(in.Records, extra)
	for i := range in.Records {
		in.Records[i].Signer = "SHA256:alice"
		if i%2 == 1 {
			in.Records[i].Signer = "SHA256:" + suffix
		}
	}
	in.Owners["SHA256:"+suffix] = keyring.Owner{Name: "Mallory" + suffix, PersonID: "person:m" + suffix, Team: "t" + suffix}
	spoil(reflect.ValueOf(&in).Elem(), suffix)
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
		"branches": branchesInput(), "minimal": minimalInput(), "example": input(), "first-release": small, "previous-unlabelled": noLabel, "no-changes": same,
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

// branchesInput takes the other side of the document's conditionals: no
// run root, datasets without role, licence parts, legal basis, source
// description or content but with a manifest, an evaluation logged
// before any plan, units, metrics the plan does not name, several
// pipeline thresholds, a dirty tree, a release replacing a version.
func branchesInput() Input {
	in := input()
	in.RunRoot, in.Owners = "", nil
	recs := in.Records
	ds := recs[0].Predicate.(*record.Dataset)
	ds.Role, ds.LegalBasis, ds.Licence = "", "", record.Licence{TextRef: digest('l')}
	ds.Sources = []record.DataSource{{URI: "s3://a"}, {URI: "s3://b", Description: "b & c"}}
	ds.Content, ds.Manifest = nil, &record.ResourceDescriptor{Name: "m.json", Digest: sha('m')}
	d2 := *ds
	d2.Name, d2.Role, d2.LegalBasis, d2.Licence, d2.Sources = "second", "eval", "consent", record.Licence{SPDX: "MIT"}, nil
	d2.Manifest, d2.Content = nil, []record.ResourceDescriptor{{Name: "x"}, {Name: "y", Digest: sha('y')}}
	ev := recs[3].Predicate.(*record.Evaluation)
	ev.Plan = ""
	ev.Metrics = append(ev.Metrics, record.Metric{Name: "latency", Value: "12", Unit: "ms"}, record.Metric{Name: "f1", Value: "0.9"})
	ev.Thresholds = append(ev.Thresholds, record.MetricThreshold{Metric: "exact_match", Op: "<", Threshold: "1"})
	early := *ev
	early.Benchmark.Name = "early"
	tr := recs[1].Predicate.(*record.TrainingRun)
	dirty := true
	tr.Code.Dirty = &dirty
	tr.BaseModel = record.BaseModel{Hub: &record.HubRef{Repo: "meta/llama", Revision: "abc"}, Descriptor: &record.ResourceDescriptor{Name: "base.bin", Digest: sha('b')}}
	tr.Datasets = []record.DatasetUse{{Record: digest('1'), Role: "train"}, {Descriptor: &record.ResourceDescriptor{Name: "d", Digest: sha('d')}, Role: "eval"}}
	mr := recs[4].Predicate.(*record.ModelRelease)
	mr.PreviousVersion = &record.PreviousRelease{Version: "1.2.0", Release: digest('p')}
	mr.Limitations = []string{"German only", "no <b>medical</b> advice"}
	in.Records = append(recs,
		policy.Record{Digest: digest('a'), Kind: "dataset", LogIndex: 20, Signer: "SHA256:pipe", Predicate: &d2},
		policy.Record{Digest: digest('b'), Kind: "evaluation", LogIndex: 2, Signer: "SHA256:pipe", Predicate: &early})
	return in
}

// minimalInput is a run with nothing to review but its end: every
// section's empty branch.
func minimalInput() Input {
	return Input{RunID: "r0", Records: []policy.Record{{Digest: digest('0'), Kind: "run-closed", LogIndex: 3, Signer: "SHA256:x",
		Predicate: &record.RunClosed{Common: common("r0"), Status: "failed", Reason: "oom"}}}}
}
