package record

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

const rootHex = "9b74c9897bac770ffc029102a200c5de6e2d1b2a8f9c2a1a3e4f5d6c7b8a9f0e"

// validStatement returns a valid statement of kind as a generic map.
func validStatement(t *testing.T, kind string) map[string]any {
	t.Helper()
	k, _ := LookupKind(kind)
	tpl := Template(kind)
	root := RunSubject("llama3-ft-2026-11-27-001", rootHex)
	subjects, err := Subjects(k.PredicateType, tpl, &root)
	if err != nil {
		t.Fatal(err)
	}
	st, err := NewStatement(subjects, k.PredicateType, tpl)
	if err != nil {
		t.Fatal(err)
	}
	return decodeMap(t, st)
}

func decodeMap(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

func encode(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func obj(m map[string]any, key string) map[string]any { return m[key].(map[string]any) }

// hasFinding reports whether err holds a FieldError at path wrapping sentinel.
func hasFinding(err, sentinel error, path string) bool {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			if hasFinding(e, sentinel, path) {
				return true
			}
		}
		return false
	}
	var fe *FieldError
	return errors.As(err, &fe) && fe.Path == path && errors.Is(err, sentinel)
}

func TestParseStatementErrors(t *testing.T) {
	t.Parallel()
	subjects := func(n int) []any {
		out := make([]any, n)
		for i := range out {
			out[i] = map[string]any{"name": fmt.Sprintf("run:llama3-ft-2026-11-27-001"), "digest": map[string]any{"sha256": rootHex}}
		}
		return out
	}
	for _, tc := range []struct {
		name     string
		kind     string
		edit     func(m map[string]any)
		raw      func(b []byte) []byte
		sentinel error
		path     string
	}{
		{name: "wrong _type", edit: func(m map[string]any) { m["_type"] = "https://in-toto.io/Statement/v0.1" }, sentinel: ErrStatementType, path: "_type"},
		{name: "no subject", edit: func(m map[string]any) { m["subject"] = []any{} }, sentinel: ErrNoSubject, path: "subject"},
		{name: "1025 subjects", edit: func(m map[string]any) { m["subject"] = subjects(1025) }, sentinel: ErrTooManySubjects, path: "subject"},
		{name: "uppercase subject digest", edit: func(m map[string]any) {
			m["subject"].([]any)[0].(map[string]any)["digest"] = map[string]any{"sha256": strings.ToUpper(rootHex)}
		}, sentinel: ErrDigest, path: "subject[0].digest.sha256"},
		{name: "short subject digest", edit: func(m map[string]any) {
			m["subject"].([]any)[0].(map[string]any)["digest"] = map[string]any{"sha256": rootHex[:63]}
		}, sentinel: ErrDigest, path: "subject[0].digest.sha256"},
		{name: "subject without sha256", edit: func(m map[string]any) {
			m["subject"].([]any)[0].(map[string]any)["digest"] = map[string]any{"sha512": rootHex + rootHex}
		}, sentinel: ErrDigest, path: "subject[0].digest"},
		{name: "subject without name", edit: func(m map[string]any) {
			delete(m["subject"].([]any)[0].(map[string]any), "name")
		}, sentinel: ErrMissing, path: "subject[0].name"},
		{name: "subject not the run", edit: func(m map[string]any) {
			m["subject"].([]any)[0].(map[string]any)["name"] = "run:other"
		}, sentinel: ErrSubjectMismatch, path: "subject[0].name"},
		{name: "export subject digest", kind: "export", edit: func(m map[string]any) {
			m["subject"].([]any)[0].(map[string]any)["digest"] = map[string]any{"sha256": rootHex}
		}, sentinel: ErrSubjectMismatch, path: "subject[0].digest.sha256"},
		{name: "time-evidence subject over other bytes", kind: "time-evidence", edit: func(m map[string]any) {
			obj(m, "predicate")["diagnosis"] = "changed after the subject was computed"
		}, sentinel: ErrSubjectMismatch, path: "subject[0].digest.sha256"},
		{name: "model-release weights subject name", kind: "model-release", edit: func(m map[string]any) {
			obj(m, "predicate")["version"] = "9.9.9"
		}, sentinel: ErrSubjectMismatch, path: "subject[1].name"},
		{name: "model-release weights subject digest", kind: "model-release", edit: func(m map[string]any) {
			m["subject"].([]any)[1].(map[string]any)["digest"] = map[string]any{"sha256": rootHex}
		}, sentinel: ErrSubjectMismatch, path: "subject[1].digest.sha256"},
		{name: "model-release weights subject missing", kind: "model-release", edit: func(m map[string]any) {
			m["subject"] = m["subject"].([]any)[:1]
		}, sentinel: ErrSubjectMismatch, path: "subject"},
		{name: "model-release extra subject", kind: "model-release", edit: func(m map[string]any) {
			m["subject"] = append(m["subject"].([]any), m["subject"].([]any)[1])
		}, sentinel: ErrSubjectMismatch, path: "subject"},
		{name: "model-release run not in runs", kind: "model-release", edit: func(m map[string]any) {
			obj(m, "predicate")["runs"] = []any{"sha256:" + strings.Repeat("c", 64)}
		}, sentinel: ErrSubjectMismatch, path: "subject[0].digest.sha256"},
		{name: "model-release subject not the run", kind: "model-release", edit: func(m map[string]any) {
			obj(m, "predicate")["runId"] = "other-run"
		}, sentinel: ErrSubjectMismatch, path: "subject[0].name"},
		{name: "null in predicate", edit: func(m map[string]any) { obj(m, "predicate")["manifest"] = nil }, sentinel: ErrType, path: "predicate.manifest"},
		{name: "null timeEvidence allowed", edit: func(m map[string]any) {
			obj(m, "predicate")["timeEvidence"] = nil
			m["_type"] = "x"
		}, sentinel: ErrStatementType, path: "_type"},
		{name: "unknown predicate type", edit: func(m map[string]any) { m["predicateType"] = "https://slsa.dev/provenance/v1" }, sentinel: ErrUnknownPredicateType, path: "predicateType"},
		{name: "null predicate", edit: func(m map[string]any) { m["predicate"] = nil }, sentinel: ErrType, path: "predicate"},
		{name: "array predicate", edit: func(m map[string]any) { m["predicate"] = []any{} }, sentinel: ErrType, path: "predicate"},
		{name: "missing predicate", edit: func(m map[string]any) { delete(m, "predicate") }, sentinel: ErrMissing, path: "predicate"},
		{name: "unknown top-level field", edit: func(m map[string]any) { m["signatures"] = []any{} }, sentinel: ErrUnknownField, path: "signatures"},
		{name: "case-folded key", raw: func(b []byte) []byte {
			return bytes.Replace(b, []byte(`"predicateType"`), []byte(`"PredicateType"`), 1)
		}, sentinel: ErrUnknownField, path: "PredicateType"},
		{name: "duplicate top-level key", raw: func(b []byte) []byte {
			return bytes.Replace(b, []byte(`"predicateType":`), []byte(`"predicateType":"https://dossier.dev/predicates/export/v1","predicateType":`), 1)
		}, sentinel: ErrDuplicateKey, path: "predicateType"},
		{name: "duplicate key in predicate", raw: func(b []byte) []byte {
			return bytes.Replace(b, []byte(`"producer":{"id":`), []byte(`"producer":{"id":"x","id":`), 1)
		}, sentinel: ErrDuplicateKey, path: "predicate.producer.id"},
		{name: "case-folded key in predicate", raw: func(b []byte) []byte {
			return bytes.Replace(b, []byte(`"runId"`), []byte(`"RunId"`), 1)
		}, sentinel: ErrUnknownField, path: "predicate.RunId"},
		{name: "unknown predicate field", edit: func(m map[string]any) {
			obj(obj(m, "predicate"), "licence")["url"] = "https://example.com"
		}, sentinel: ErrUnknownField, path: "predicate.licence.url"},
		{name: "wrong type in predicate", edit: func(m map[string]any) { obj(m, "predicate")["attempt"] = "1" }, sentinel: ErrType, path: "predicate.attempt"},
		{name: "missing predicate field", edit: func(m map[string]any) { delete(obj(m, "predicate"), "producedAt") }, sentinel: ErrMissing, path: "predicate.producedAt"},
		{name: "bad time in predicate", edit: func(m map[string]any) {
			obj(m, "predicate")["producedAt"] = "2026-11-27T10:00:00+01:00"
		}, sentinel: ErrTime, path: "predicate.producedAt"},
		{name: "bad digest deep in predicate", edit: func(m map[string]any) {
			c := obj(m, "predicate")["content"].([]any)
			c[1].(map[string]any)["digest"] = map[string]any{"sha256": "abc"}
		}, sentinel: ErrDigest, path: "predicate.content[1].digest.sha256"},
		{name: "invalid utf-8", raw: func(b []byte) []byte {
			return bytes.Replace(b, []byte(`support-tickets-de`), []byte("support-tickets-\xff"), 1)
		}, sentinel: ErrInvalidUTF8, path: ""},
		{name: "trailing data", raw: func(b []byte) []byte { return append(b, []byte(` {}`)...) }, sentinel: ErrTrailingData, path: ""},
		{name: "oversize", raw: func(b []byte) []byte {
			pad := `"description":"` + strings.Repeat("x", MaxStatementBytes) + `",`
			return bytes.Replace(b, []byte(`"uri":"internal:`), []byte(pad+`"uri":"internal:`), 1)
		}, sentinel: ErrTooLarge, path: ""},
		{name: "not json", raw: func([]byte) []byte { return []byte(`{"_type":`) }, sentinel: ErrSyntax, path: "_type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			kind := tc.kind
			if kind == "" {
				kind = "dataset"
			}
			m := validStatement(t, kind)
			if tc.edit != nil {
				tc.edit(m)
			}
			b := encode(t, m)
			if tc.raw != nil {
				b = tc.raw(b)
			}
			s, err := ParseStatement(b)
			if s != nil || !errors.Is(err, tc.sentinel) {
				t.Fatalf("ParseStatement = %v, want %v", err, tc.sentinel)
			}
			if !hasFinding(err, tc.sentinel, tc.path) {
				t.Fatalf("no %v at %q in %v", tc.sentinel, tc.path, err)
			}
		})
	}
}

func TestNewStatementRejects(t *testing.T) {
	t.Parallel()
	subject := []ResourceDescriptor{RunSubject("llama3-ft-2026-11-27-001", rootHex)}
	one := func(d ResourceDescriptor) []ResourceDescriptor { return []ResourceDescriptor{d} }
	dataset := PredicateTypePrefix + "dataset/v1"
	if _, err := NewStatement(subject, dataset, []byte(`{"name":"x"}`)); !errors.Is(err, ErrMissing) {
		t.Fatalf("incomplete predicate: got %v, want ErrMissing", err)
	}
	if _, err := NewStatement(one(RunSubject("other", rootHex)), dataset, Template("dataset")); !hasFinding(err, ErrSubjectMismatch, "subject[0].name") {
		t.Fatalf("wrong run: got %v, want ErrSubjectMismatch", err)
	}
	if _, err := NewStatement(one(RunSubject("llama3-ft-2026-11-27-001", "sha256:zz")), dataset, Template("dataset")); !hasFinding(err, ErrDigest, "subject[0].digest.sha256") {
		t.Fatalf("bad root digest: got %v, want ErrDigest", err)
	}
	if _, err := NewStatement(subject, "https://example.com/x/v1", Template("dataset")); !errors.Is(err, ErrUnknownPredicateType) {
		t.Fatalf("unknown type: got %v, want ErrUnknownPredicateType", err)
	}
}

func FuzzParseStatement(f *testing.F) {
	for _, k := range Kinds() {
		root := RunSubject("llama3-ft-2026-11-27-001", rootHex)
		subjects, _ := Subjects(k.PredicateType, Template(k.Name), &root)
		st, err := NewStatement(subjects, k.PredicateType, Template(k.Name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(st)
	}
	f.Add([]byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[],"predicateType":"","predicate":{}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseStatement(b)
		if err != nil {
			if s != nil {
				t.Fatal("statement and error both returned")
			}
			for _, f := range Findings(err) {
				if f.Code == "invalid" {
					t.Fatalf("finding without a sentinel: %+v", f)
				}
			}
			return
		}
		if len(s.Subject) == 0 || len(s.Subject) > MaxSubjects || s.Parsed() == nil {
			t.Fatalf("accepted an invalid statement: %d subjects", len(s.Subject))
		}
	})
}
