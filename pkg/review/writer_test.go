package review

import (
	"bytes"
	"encoding/json"
	"html/template"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// escapeSamples are strings whose escaping must match html/template's.
var escapeSamples = []string{
	"", "plain", hostile, "<script>alert(1)</script>", `"quoted" 'single'`, "a&b&amp;c", "1e+21",
	"\x00\x00", "é ü 日本", "\u2028\u2029", "\xff\xfe\xc3", "\xe2\x80", "</pre><pre>", "\ufdd0\uffff", "&#34;",
}

// templateEscapes returns how html/template escapes s in HTML text, in a
// title (RCDATA), in pre and in a table cell: the contexts the document
// puts values in.
func templateEscapes(t testing.TB, s string) []string {
	t.Helper()
	var out []string
	for _, el := range []string{"p", "title", "pre", "td", "code", "li", "summary", "h3"} {
		tpl := template.Must(template.New("").Parse("<" + el + ">{{.}}</" + el + ">"))
		var b strings.Builder
		if err := tpl.Execute(&b, s); err != nil {
			t.Fatal(err)
		}
		out = append(out, strings.TrimSuffix(strings.TrimPrefix(b.String(), "<"+el+">"), "</"+el+">"))
	}
	return out
}

func TestEscapeMatchesHTMLTemplate(t *testing.T) {
	t.Parallel()
	samples := slices.Clone(escapeSamples)
	for c := range 256 {
		samples = append(samples, string([]byte{byte(c)}), "x"+string([]byte{byte(c)})+"y")
	}
	for _, s := range samples {
		got := string(appendEscaped(nil, s))
		for i, want := range templateEscapes(t, s) {
			if got != want {
				t.Errorf("escape %q = %q, html/template (context %d) writes %q", s, got, i, want)
			}
		}
	}
}

func FuzzEscape(f *testing.F) {
	for _, s := range escapeSamples {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := string(appendEscaped(nil, s))
		for _, want := range templateEscapes(t, s) {
			if got != want {
				t.Fatalf("escape %q = %q, html/template writes %q", s, got, want)
			}
		}
	})
}

// indentedText is what the former template wrote for a predicate: the
// json.Encoder's indented output, escaped by html/template.
func indentedText(t testing.TB, v any) (compact []byte, want string) {
	t.Helper()
	var c, in bytes.Buffer
	enc := json.NewEncoder(&c)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	enc = json.NewEncoder(&in)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return c.Bytes(), templateEscapes(t, in.String())[2]
}

func TestIndentedTextMatchesEncoder(t *testing.T) {
	t.Parallel()
	values := []any{
		map[string]any{}, []any{}, map[string]any{"a": []any{}, "b": map[string]any{}, "c": []any{map[string]any{}}},
		map[string]any{`k"\`: `v\"\\"`, "n": 1e21, "m": -0.5, "t": true, "f": false, "z": nil},
		[]any{"<&>", "\u2028", "\x00", "\xff", `\`, `\\`, `"`, "a,b:c{d}[e]"}, 12, "s",
	}
	for _, in := range []Input{hostileInput(), branchesInput(), minimalInput(), input()} {
		for _, r := range append(in.Records, in.Previous...) {
			values = append(values, r.Predicate)
		}
	}
	for _, v := range values {
		compact, want := indentedText(t, v)
		if got := string(appendIndentedText(nil, compact)); got != want {
			t.Errorf("indented text of %s:\n%s\nwant\n%s", compact, got, want)
		}
	}
}

func FuzzIndentedText(f *testing.F) {
	for _, s := range []string{`{}`, `[]`, `{"a":[1,{"b":"c\"d\\"}],"e":{}}`, `"x"`, `1e+21`, `[[],[{}]]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var v any
		if json.Unmarshal(b, &v) != nil {
			return
		}
		compact, want := indentedText(t, v)
		if got := string(appendIndentedText(nil, compact)); got != want {
			t.Fatalf("indented text of %s:\n%s\nwant\n%s", compact, got, want)
		}
	})
}

var tag = regexp.MustCompile(`<[^>]*>`)

// TestRenderHostileValuesMakeNoMarkup renders the same records once with
// a harmless suffix and once with hostile text (markup, quotes, '&', '+',
// NUL, non-ASCII, U+2028, invalid UTF-8, closers of every element values
// land in) appended to every string that reaches the document, including
// every field of the per-record rows (kind, digest, signing key, key
// owner) and the full records: both documents must have exactly the same
// markup, tag for tag, so no value became markup; and the hostile text
// must appear only escaped.
func TestRenderHostileValuesMakeNoMarkup(t *testing.T) {
	t.Parallel()
	plain, _, err := Render(spoiledInput("_plain_"))
	if err != nil {
		t.Fatal(err)
	}
	doc, _, err := Render(hostileInput())
	if err != nil {
		t.Fatal(err)
	}
	got, want := tag.FindAllString(string(doc), -1), tag.FindAllString(string(plain), -1)
	if !slices.Equal(got, want) {
		t.Fatalf("hostile values changed the markup: %d tags, %d with plain values", len(got), len(want))
	}
	if n, m := strings.Count(string(doc), string(appendEscaped(nil, hostile))), strings.Count(string(plain), "_plain_"); n == 0 || n > m {
		t.Errorf("the escaped hostile text appears %d times, the plain suffix %d times", n, m)
	}
	for _, bad := range []string{"<script", "\x00", `"'`} {
		if strings.Contains(string(doc), bad) {
			t.Errorf("document contains %q", bad)
		}
	}
}
