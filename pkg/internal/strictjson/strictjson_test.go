package strictjson

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

type licence struct {
	SPDX string `json:"spdx"`
}

type dataset struct {
	Name    string   `json:"name"`
	Licence *licence `json:"licence,omitempty"`
}

type base struct {
	RunID   string `json:"runId"`
	Attempt int    `json:"attempt"`
}

type predicate struct {
	base
	Datasets []dataset         `json:"datasets"`
	Params   map[string]string `json:"params,omitempty"`
	Raw      json.RawMessage   `json:"raw,omitempty"`
	Any      any               `json:"any,omitempty"`
	Ratio    float64           `json:"ratio,omitempty"`
	Small    uint8             `json:"small,omitempty"`
	Flag     bool              `json:"flag,omitempty"`
	Ptr      *string           `json:"ptr"`
	Pair     [2]int            `json:"pair,omitempty"`
	Ignored  string            `json:"-"`
}

type statement struct {
	Predicate predicate `json:"predicate"`
}

func TestDecodeOK(t *testing.T) {
	t.Parallel()
	in := `{"predicate":{"runId":"r1","attempt":2,"datasets":[{"name":"a"},{"name":"b","licence":{"spdx":"MIT"}}],
	"params":{"lr":"1e-4","LR":"x"},"raw":{"x":[1,{"y":null}]},"any":[true],"ratio":0.5,"small":255,"flag":true,"ptr":null,"pair":[1,2]}}
	`
	var s statement
	if err := Decode([]byte(in), &s, Limits{}); err != nil {
		t.Fatalf("Decode: %v", err)
	}
	var pair statement
	if err := Decode([]byte(`{"predicate":{"runId":"\ud83d\ude00 \\ud800 \"\\\u00e9"}}`), &pair, Limits{}); err != nil ||
		pair.Predicate.RunID != "\U0001F600 \\ud800 \"\\é" {
		t.Fatalf("surrogate pair and escaped backslashes: %v %q", err, pair.Predicate.RunID)
	}
	p := s.Predicate
	if p.RunID != "r1" || p.Attempt != 2 || len(p.Datasets) != 2 || p.Datasets[1].Licence.SPDX != "MIT" ||
		p.Params["LR"] != "x" || string(p.Raw) != `{"x":[1,{"y":null}]}` || p.Small != 255 || p.Pair != [2]int{1, 2} {
		t.Fatalf("decoded %+v", p)
	}
}

func TestDecodeErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		in       string
		limits   Limits
		sentinel error
		path     string
	}{
		{"empty", ``, Limits{}, ErrSyntax, ""},
		{"whitespace only", "  \n", Limits{}, ErrSyntax, ""},
		{"truncated", `{"predicate":{"runId":`, Limits{}, ErrSyntax, "predicate.runId"},
		{"bad token", `{"predicate":{"runId":tru}}`, Limits{}, ErrSyntax, "predicate.runId"},
		{"too large", `{"predicate":{}}`, Limits{MaxBytes: 10}, ErrTooLarge, ""},
		{"invalid utf8 in value", "{\"predicate\":{\"runId\":\"a\xff\"}}", Limits{}, ErrInvalidUTF8, ""},
		{"invalid utf8 in key", "{\"pred\xc3\":{}}", Limits{}, ErrInvalidUTF8, ""},
		{"lone high surrogate", `{"predicate":{"runId":"a\ud800"}}`, Limits{}, ErrInvalidUTF8, ""},
		{"lone low surrogate", `{"predicate":{"runId":"\udc00b"}}`, Limits{}, ErrInvalidUTF8, ""},
		{"reversed pair", `{"predicate":{"runId":"\udc00\ud800"}}`, Limits{}, ErrInvalidUTF8, ""},
		{"high then other escape", `{"predicate":{"runId":"\ud800\u0041"}}`, Limits{}, ErrInvalidUTF8, ""},
		{"surrogate in key", `{"\ud800":1}`, Limits{}, ErrInvalidUTF8, ""},
		{"trailing value", `{"predicate":{}} {}`, Limits{}, ErrTrailingData, ""},
		{"trailing garbage", `{"predicate":{}}x`, Limits{}, ErrTrailingData, ""},
		{"trailing bracket", `{"predicate":{}}}`, Limits{}, ErrTrailingData, ""},
		{"duplicate top", `{"predicate":{},"predicate":{}}`, Limits{}, ErrDuplicateKey, "predicate"},
		{"duplicate nested", `{"predicate":{"datasets":[{"name":"a"},{"name":"b","name":"c"}]}}`, Limits{}, ErrDuplicateKey, "predicate.datasets[1].name"},
		{"duplicate via escape", `{"predicate":{"runId":"a","run\u0049d":"b"}}`, Limits{}, ErrDuplicateKey, "predicate.runId"},
		{"duplicate in raw", `{"predicate":{"raw":{"a":1,"a":2}}}`, Limits{}, ErrDuplicateKey, "predicate.raw.a"},
		{"duplicate in map", `{"predicate":{"params":{"k":"1","k":"2"}}}`, Limits{}, ErrDuplicateKey, "predicate.params.k"},
		{"duplicate odd key", `{"predicate":{"any":{"a b":1,"a b":2}}}`, Limits{}, ErrDuplicateKey, `predicate.any["a b"]`},
		{"case-insensitive key", `{"predicate":{"RunId":"x"}}`, Limits{}, ErrUnknownField, "predicate.RunId"},
		{"case-insensitive allowed unknown", `{"predicate":{"RUNID":"x"}}`, Limits{AllowUnknownFields: true}, ErrUnknownField, "predicate.RUNID"},
		{"case-insensitive nested", `{"predicate":{"datasets":[{"Name":"a"}]}}`, Limits{}, ErrUnknownField, "predicate.datasets[0].Name"},
		{"unknown field", `{"predicate":{"licence":"x"}}`, Limits{}, ErrUnknownField, "predicate.licence"},
		{"unknown deep", `{"predicate":{"datasets":[{},{},{"licence":{"spdx":"MIT","url":"u"}}]}}`, Limits{}, ErrUnknownField, "predicate.datasets[2].licence.url"},
		{"ignored field", `{"predicate":{"Ignored":"x"}}`, Limits{}, ErrUnknownField, "predicate.Ignored"},
		{"string for int", `{"predicate":{"attempt":"1"}}`, Limits{}, ErrType, "predicate.attempt"},
		{"fraction for int", `{"predicate":{"attempt":1.5}}`, Limits{}, ErrType, "predicate.attempt"},
		{"exponent for int", `{"predicate":{"attempt":1e3}}`, Limits{}, ErrType, "predicate.attempt"},
		{"overflow uint8", `{"predicate":{"small":256}}`, Limits{}, ErrType, "predicate.small"},
		{"negative uint8", `{"predicate":{"small":-1}}`, Limits{}, ErrType, "predicate.small"},
		{"int overflow", `{"predicate":{"attempt":99999999999999999999}}`, Limits{}, ErrType, "predicate.attempt"},
		{"number for string", `{"predicate":{"runId":1}}`, Limits{}, ErrType, "predicate.runId"},
		{"null for string", `{"predicate":{"runId":null}}`, Limits{}, ErrType, "predicate.runId"},
		{"null for struct", `{"predicate":null}`, Limits{}, ErrType, "predicate"},
		{"object for array", `{"predicate":{"datasets":{}}}`, Limits{}, ErrType, "predicate.datasets"},
		{"array for object", `{"predicate":[]}`, Limits{}, ErrType, "predicate"},
		{"array for string", `{"predicate":{"datasets":[{"name":[]}]}}`, Limits{}, ErrType, "predicate.datasets[0].name"},
		{"string for bool", `{"predicate":{"flag":"true"}}`, Limits{}, ErrType, "predicate.flag"},
		{"bool for float", `{"predicate":{"ratio":true}}`, Limits{}, ErrType, "predicate.ratio"},
		{"map value type", `{"predicate":{"params":{"lr":0.1}}}`, Limits{}, ErrType, "predicate.params.lr"},
		{"array too long", `{"predicate":{"pair":[1,2,3]}}`, Limits{}, ErrType, "predicate.pair"},
		{"top-level array", `[]`, Limits{}, ErrType, ""},
		{"too deep", `{"predicate":{"any":[[[[1]]]]}}`, Limits{MaxDepth: 4}, ErrTooDeep, "predicate.any[0][0]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var s statement
			err := Decode([]byte(tc.in), &s, tc.limits)
			if !errors.Is(err, tc.sentinel) {
				t.Fatalf("Decode(%s) = %v, want %v", tc.in, err, tc.sentinel)
			}
			var se *Error
			if !errors.As(err, &se) {
				t.Fatalf("error %v is not *Error", err)
			}
			if se.Path != tc.path {
				t.Errorf("path = %q, want %q (error %v)", se.Path, tc.path, err)
			}
			if msg := err.Error(); msg != strings.ToLower(msg[:1])+msg[1:] || strings.HasSuffix(msg, ".") {
				t.Errorf("error string %q: want lowercase, no trailing period", msg)
			}
		})
	}
}

func TestDecodeUnknownAllowed(t *testing.T) {
	t.Parallel()
	var s statement
	in := `{"predicate":{"extra":{"z":1},"runId":"r"},"other":[1]}`
	if err := Decode([]byte(in), &s, Limits{AllowUnknownFields: true}); err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if s.Predicate.RunID != "r" {
		t.Fatalf("runId = %q", s.Predicate.RunID)
	}
	dup := `{"predicate":{"extra":{"z":1,"z":2}}}`
	if err := Decode([]byte(dup), &s, Limits{AllowUnknownFields: true}); !errors.Is(err, ErrDuplicateKey) {
		t.Fatalf("duplicate inside unknown field: got %v, want ErrDuplicateKey", err)
	}
}

func TestDecodeTarget(t *testing.T) {
	t.Parallel()
	var s statement
	if err := Decode([]byte(`{}`), s, Limits{}); !errors.Is(err, ErrType) {
		t.Fatalf("non-pointer target: got %v, want ErrType", err)
	}
	var m map[string]any
	if err := Decode([]byte(`{"a":{"b":[1,"x",null]}}`), &m, Limits{}); err != nil {
		t.Fatalf("map target: %v", err)
	}
	var raw json.RawMessage
	if err := Decode([]byte(`{"a":1,"a":2}`), &raw, Limits{}); !errors.Is(err, ErrDuplicateKey) {
		t.Fatalf("raw target: got %v, want ErrDuplicateKey", err)
	}
}

func TestDefaultLimits(t *testing.T) {
	t.Parallel()
	deep := strings.Repeat("[", DefaultMaxDepth+1) + strings.Repeat("]", DefaultMaxDepth+1)
	var v any
	if err := Decode([]byte(deep), &v, Limits{}); !errors.Is(err, ErrTooDeep) {
		t.Fatalf("deep: got %v, want ErrTooDeep", err)
	}
	ok := strings.Repeat("[", DefaultMaxDepth) + strings.Repeat("]", DefaultMaxDepth)
	if err := Decode([]byte(ok), &v, Limits{}); err != nil {
		t.Fatalf("depth at limit: %v", err)
	}
	big := `"` + strings.Repeat("a", DefaultMaxBytes) + `"`
	if err := Decode([]byte(big), &v, Limits{}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("big: got %v, want ErrTooLarge", err)
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"predicate":{"runId":"r1","attempt":2,"datasets":[{"name":"a","licence":{"spdx":"MIT"}}]}}`,
		`{"predicate":{"raw":{"a":[1,2,{"b":null}]},"params":{"k":"v"}}}`,
		`{"a":1,"a":2}`, `[1,2`, `{"predicate":{"RunId":"x"}}`, "\"\xff\"", `1 2`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var s statement
		err := Decode(data, &s, Limits{MaxBytes: 1 << 16})
		if err != nil {
			var se *Error
			if !errors.As(err, &se) {
				t.Fatalf("error %v is not *Error", err)
			}
			return
		}
		// Whatever strict decoding accepts, encoding/json must accept too.
		var again statement
		if err := json.Unmarshal(data, &again); err != nil {
			t.Fatalf("strict accepted what encoding/json rejects: %v", err)
		}
	})
}

func TestRequireFields(t *testing.T) {
	t.Parallel()
	type inner struct {
		A string  `json:"a"`
		B *string `json:"b"`
		C string  `json:"c,omitempty"`
		D int     `json:"d,omitzero"`
	}
	type outer struct {
		base
		In inner `json:"in"`
	}
	for _, tc := range []struct {
		name, in, path string
	}{
		{"all present", `{"runId":"r","attempt":1,"in":{"a":"x","b":null}}`, ""},
		{"missing promoted", `{"attempt":1,"in":{"a":"x","b":null}}`, "runId"},
		{"missing nested", `{"runId":"r","attempt":1,"in":{"a":"x"}}`, "in.b"},
		{"missing object", `{"runId":"r","attempt":1}`, "in"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var o outer
			err := Decode([]byte(tc.in), &o, Limits{RequireFields: true})
			if tc.path == "" {
				if err != nil {
					t.Fatalf("Decode: %v", err)
				}
				return
			}
			var se *Error
			if !errors.Is(err, ErrMissingField) || !errors.As(err, &se) || se.Path != tc.path {
				t.Fatalf("Decode = %v, want ErrMissingField at %q", err, tc.path)
			}
			if err := Decode([]byte(tc.in), &o, Limits{}); err != nil {
				t.Fatalf("without RequireFields: %v", err)
			}
		})
	}
}

func TestRejectNull(t *testing.T) {
	t.Parallel()
	type doc struct {
		P    *string         `json:"p,omitempty"`
		N    *string         `json:"n,omitempty" strictjson:"nullable"`
		S    []string        `json:"s,omitempty"`
		M    map[string]int  `json:"m,omitempty"`
		Raw  json.RawMessage `json:"raw,omitempty"`
		Any  any             `json:"any,omitempty"`
		List []*string       `json:"list,omitempty"`
	}
	for _, tc := range []struct {
		in   string
		path string // empty: accepted
	}{
		{`{"n":null,"raw":null,"any":null}`, ""},
		{`{"raw":{"a":null}}`, ""},
		{`{"p":null}`, "p"},
		{`{"s":null}`, "s"},
		{`{"m":null}`, "m"},
		{`{"list":["a",null]}`, "list[1]"},
	} {
		var d doc
		err := Decode([]byte(tc.in), &d, Limits{RejectNull: true})
		if tc.path == "" {
			if err != nil {
				t.Errorf("Decode(%s): %v", tc.in, err)
			}
			continue
		}
		var se *Error
		if !errors.Is(err, ErrType) || !errors.As(err, &se) || se.Path != tc.path {
			t.Errorf("Decode(%s) = %v, want ErrType at %q", tc.in, err, tc.path)
		}
		if err := Decode([]byte(tc.in), &d, Limits{}); err != nil {
			t.Errorf("Decode(%s) without RejectNull: %v", tc.in, err)
		}
	}
}

func TestShallowRaw(t *testing.T) {
	t.Parallel()
	type env struct {
		Kind string          `json:"kind"`
		Body json.RawMessage `json:"body" strictjson:"shallow"`
	}
	type deep struct {
		Kind string          `json:"kind"`
		Body json.RawMessage `json:"body"`
	}
	in := `{"kind":"k","body":{"a":1,"a":2,"B":[1,2]}}`
	var e env
	if err := Decode([]byte(in), &e, Limits{}); err != nil {
		t.Fatalf("shallow: %v", err)
	}
	if string(e.Body) != `{"a":1,"a":2,"B":[1,2]}` {
		t.Fatalf("body = %s", e.Body)
	}
	var d deep
	if err := Decode([]byte(in), &d, Limits{}); !errors.Is(err, ErrDuplicateKey) {
		t.Fatalf("without the tag: got %v, want ErrDuplicateKey", err)
	}
	for _, bad := range []string{`{"kind":"k","body":{"a":}}`, `{"kind":"k","body":`} {
		if err := Decode([]byte(bad), &e, Limits{}); !errors.Is(err, ErrSyntax) {
			t.Errorf("Decode(%s) = %v, want ErrSyntax", bad, err)
		}
	}
	if err := Decode([]byte(`{"body":{},"kind":"k","kind":"x"}`), &e, Limits{}); !errors.Is(err, ErrDuplicateKey) {
		t.Errorf("duplicate after raw: got %v", err)
	}
}
