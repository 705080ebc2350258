package strictjson

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

type fastDoc struct {
	Kind  string            `json:"kind"`
	Body  json.RawMessage   `json:"body,omitempty" strictjson:"shallow"`
	N     *string           `json:"n" strictjson:"nullable"`
	I8    int8              `json:"i8,omitempty"`
	U     uint              `json:"u,omitempty"`
	F32   float32           `json:"f32,omitempty"`
	Addr  netip.Addr        `json:"addr,omitzero"`
	Bytes []byte            `json:"bytes,omitempty"`
	Num   json.Number       `json:"num,omitempty"`
	M     map[string][]int  `json:"m,omitempty"`
	List  []*fastDoc        `json:"list,omitempty"`
	Arr   [2]bool           `json:"arr,omitzero"`
	Any   any               `json:"any,omitempty"`
	Ptr   **licence         `json:"ptr,omitempty"`
	Meta  map[string]string `json:"meta"`
}

// fastTargets are the decode targets and limits the differential tests
// compare the fast path and the slow checks on.
var fastTargets = []struct {
	name string
	new  func() any
}{
	{"statement", func() any { return new(statement) }},
	{"doc", func() any { return new(fastDoc) }},
	{"map", func() any { return new(map[string]int) }},
	{"any", func() any { return new(any) }},
	{"slice", func() any { return new([]fastDoc) }},
	{"array", func() any { return new([2]int) }},
	{"string", func() any { return new(string) }},
}

var fastLimits = []Limits{
	{},
	{RequireFields: true, RejectNull: true},
	{AllowUnknownFields: true, MaxDepth: 3},
	{RequireFields: true, MaxDepth: 2},
}

// checkFastAgrees fails if the fast path accepts data where the original
// checks reject it, or (for inputs without escapes, which the fast path
// may leave to the slow one) rejects data they accept.
func checkFastAgrees(t *testing.T, data []byte) {
	if !utf8.Valid(data) {
		return
	}
	for _, tg := range fastTargets {
		for _, lim := range fastLimits {
			rv := reflect.ValueOf(tg.new())
			fast := accepts(data, rv.Type().Elem(), lim)
			slow := slowChecks(data, rv, rv.Interface(), lim)
			if fast && slow != nil {
				t.Fatalf("%s %+v: fast path accepts %q, slow path rejects: %v", tg.name, lim, data, slow)
			}
			if !fast && slow == nil && !bytes.Contains(data, []byte(`\`)) {
				t.Fatalf("%s %+v: fast path rejects %q, slow path accepts", tg.name, lim, data)
			}
		}
	}
}

var fastSeeds = []string{
	`{"predicate":{"runId":"r1","attempt":2,"datasets":[{"name":"a","licence":{"spdx":"MIT"}}]}}`,
	`{"predicate":{"raw":{"a":[1,2,{"b":null}]},"params":{"k":"v"}}}`,
	`{"a":1,"a":2}`, `[1,2`, `{"predicate":{"RunId":"x"}}`, `1 2`, ``, ` `, `null`, `"x"`,
	`{"kind":"k","body":{"a":1,"a":2,"B":[1,2]},"n":null,"meta":{}}`,
	`{"kind":"k","n":"x","meta":{"a":"b","b":"c"},"i8":-128,"u":0,"f32":1e38,"addr":"::1","bytes":"AAE=","num":1.5e3}`,
	`{"kind":"k","n":null,"meta":null,"i8":128}`, `{"kind":"k","n":null,"meta":{},"u":-1}`,
	`{"kind":"k","n":null,"meta":{},"f32":1e39}`, `{"kind":"k","n":null,"meta":{},"i8":1.0}`,
	`{"kind":"k","n":null,"meta":{},"list":[{"kind":"x","n":null,"meta":{},"list":[null]}]}`,
	`{"kind":"k","n":null,"meta":{},"arr":[true,false,true]}`, `{"kind":"k","n":null,"meta":{},"arr":[true]}`,
	`{"kind":"k","n":null,"meta":{},"ptr":{"spdx":"x"},"any":{"q":[{},[]]}}`,
	`{"kind":"k","n":null,"meta":{"1":"","2":"","3":"","4":"","5":"","6":"","7":"","8":"","9":"","10":"","1":""}}`,
	`{"kind":"\ud83d\ude00","n":"\ud800","meta":{}}`, `{"kind":"\udc00","n":null,"meta":{}}`,
	`{"k\u0069nd":"x","kind":"y","n":null,"meta":{}}`, `{"Kind":"k","n":null,"meta":{}}`,
	`{"kind":"k","n":null,"meta":{},"unknown":{"a":1,"a":2}}`, `[[[[]]]]`, `{"a":{"b":{"c":{}}}}`,
	`-0`, `01`, `1.`, `1e`, `-`, `.5`, `1E+2`, "\"a\tb\"", `"\q"`, `tru`, `nul`, `{"a" 1}`, `{"a":1,}`, `[1,]`,
	`{"a":1}x`, "\ufeff{}", `{"kind":"k","n":null,"meta":{},"body":`, `{"kind":"k","n":null,"meta":{},"body":{"a":}}`,
}

func TestFastAgrees(t *testing.T) {
	t.Parallel()
	for _, s := range fastSeeds {
		checkFastAgrees(t, []byte(s))
	}
	files, _ := filepath.Glob("../../../pkg/*/testdata/*.json")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err == nil && len(b) < 1<<16 {
			checkFastAgrees(t, b)
		}
	}
}

func TestFastAcceptsTypicalInput(t *testing.T) {
	t.Parallel()
	in := `{"kind":"k","body":{"x":"\"\\u00e9\n"},"n":"caf\u00e9 \ud83d\ude00","meta":{"a":"b"},"list":[{"kind":"x","n":null,"meta":{}}]}`
	if !accepts([]byte(in), reflect.TypeFor[fastDoc](), Limits{RequireFields: true, RejectNull: true}) {
		t.Fatal("fast path rejects a valid document")
	}
	deep := strings.Repeat("[", 64) + strings.Repeat("]", 64)
	if !accepts([]byte(deep), reflect.TypeFor[any](), Limits{}) {
		t.Fatal("fast path rejects nesting at the limit")
	}
}

func FuzzFastAgrees(f *testing.F) {
	for _, s := range fastSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<14 {
			return
		}
		checkFastAgrees(t, data)
	})
}

type plainName string

type plainInner struct {
	S   string          `json:"s"`
	P   *string         `json:"p,omitempty" strictjson:"nullable"`
	Raw json.RawMessage `json:"raw,omitempty"`
}

type plainBase struct {
	ID      string `json:"id"`
	Attempt int    `json:"attempt"`
}

type plainDoc struct {
	plainBase
	Name   plainName                  `json:"name"`
	Items  []plainInner               `json:"items,omitempty"`
	Ptrs   []*plainInner              `json:"ptrs,omitempty"`
	Ann    map[string]json.RawMessage `json:"ann,omitempty"`
	Named  map[plainName]int64        `json:"named,omitempty"`
	Arr    [3]uint16                  `json:"arr,omitzero"`
	F      float64                    `json:"f,omitempty"`
	F32    float32                    `json:"f32,omitempty"`
	B      bool                       `json:"b,omitempty"`
	PP     **plainInner               `json:"pp,omitempty"`
	RawPtr *json.RawMessage           `json:"rawPtr,omitempty"`
	Nested map[string][]string        `json:"nested,omitempty"`
	Shal   json.RawMessage            `json:"shal,omitempty" strictjson:"shallow"`
	Go     string
	skip   string
}

var plainSeeds = []string{
	`{"id":"a","attempt":1,"name":"n"}`,
	`{"id":"a\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00x","attempt":-7,"name":"","Go":"g"}`,
	`{"items":[{"s":"x","p":null,"raw":null},{"s":"y","p":"z","raw":{"a": [1, 2 ,"x\"]"]}}],"ptrs":[null,{"s":""}]}`,
	`{"items":[],"ptrs":[],"ann":{},"named":{},"nested":{"a":[],"b":["c"]}}`,
	`{"ann":{"size":12345,"x":"y","z":null,"w":[true,false]},"named":{"k":9223372036854775807,"m":-1}}`,
	`{"arr":[1,65535],"f":-1.5e-300,"f32":3.4e38,"b":true,"pp":{"s":"q"},"rawPtr":[ 1 ]}`,
	`{"pp":null,"rawPtr":null,"items":null,"ann":null,"shal":{"a":1,"a":2}}`,
	` { "id" : "x" , "attempt" : 0 , "arr" : [ ] , "b" : false } `,
	`{"ann":{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9,"j":10}}`,
}

// checkFillAgrees decodes data (if the fast path accepts it) into a fresh
// and a pre-filled plainDoc with the fast fill and with encoding/json, and
// fails if the results differ.
func checkFillAgrees(t *testing.T, data []byte) {
	if !utf8.Valid(data) || !accepts(data, reflect.TypeFor[plainDoc](), Limits{AllowUnknownFields: true}) {
		return
	}
	p := plainPlan(reflect.TypeFor[plainDoc]())
	if p == nil {
		t.Fatal("plainDoc is not plain")
	}
	for _, prev := range append([]string{""}, plainSeeds...) {
		var got, want plainDoc
		if prev != "" {
			if json.Unmarshal([]byte(prev), &got) != nil || json.Unmarshal([]byte(prev), &want) != nil {
				continue
			}
		}
		(&filler{data: data}).value(reflect.ValueOf(&got).Elem(), p)
		if err := json.Unmarshal(data, &want); err != nil {
			t.Fatalf("encoding/json rejects %q: %v", data, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("fill %q over %q:\n got %#v\nwant %#v", data, prev, got, want)
		}
	}
}

func TestFillAgrees(t *testing.T) {
	t.Parallel()
	for _, s := range plainSeeds {
		if !accepts([]byte(s), reflect.TypeFor[plainDoc](), Limits{AllowUnknownFields: true}) {
			t.Fatalf("fast path rejects %s", s)
		}
		checkFillAgrees(t, []byte(s))
	}
	for _, tc := range []struct {
		name  string
		t     reflect.Type
		plain bool
	}{
		{"plainDoc", reflect.TypeFor[plainDoc](), true},
		{"dataset", reflect.TypeFor[dataset](), true},
		{"statement with any", reflect.TypeFor[statement](), false},
		{"fastDoc", reflect.TypeFor[fastDoc](), false},
		{"any", reflect.TypeFor[any](), false},
		{"bytes", reflect.TypeFor[[]byte](), false},
		{"recursive", reflect.TypeFor[[]*fastDoc](), false},
	} {
		if got := plainPlan(tc.t) != nil; got != tc.plain {
			t.Errorf("%s: plain = %v, want %v", tc.name, got, tc.plain)
		}
	}
}

func FuzzFillAgrees(f *testing.F) {
	for _, s := range plainSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) <= 1<<14 {
			checkFillAgrees(t, data)
		}
	})
}
