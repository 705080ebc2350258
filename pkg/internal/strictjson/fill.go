package strictjson

import (
	"bytes"
	"encoding/json"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// The fast fill. Once the fast path has accepted the input, a target whose
// types are all "plain" (structs without embedded pointers, name clashes,
// ",string" options or odd tag names; pointers, slices, arrays, maps with
// plain string keys, strings, booleans, numbers and json.RawMessage; no
// interfaces, []byte or custom unmarshalers) is filled here, doing exactly
// what encoding/json would do with the same valid, type-checked input, in
// one pass without its scanner. Every other target goes to encoding/json.

type plan struct {
	kind   reflect.Kind
	raw    bool // json.RawMessage
	elem   *plan
	fields map[string]*planField
	order  []*planField // declaration order: members usually come in it
}

type planField struct {
	name  string
	index []int
	plan  *plan
	next  int // position in order of the field declared after this one
}

// field finds the field named key, trying the one declared after the
// previous member first.
func (p *plan) field(key []byte, hint int) (*planField, bool) {
	if hint < len(p.order) && p.order[hint].name == string(key) {
		return p.order[hint], true
	}
	f, ok := p.fields[string(key)]
	return f, ok
}

var (
	planCache  sync.Map // reflect.Type -> *plan (nil: not plain)
	rawMsgType = reflect.TypeFor[json.RawMessage]()
	stringType = reflect.TypeFor[string]()
	reTagName  = regexp.MustCompile(`^[A-Za-z0-9_$.-]+$`)
)

// plainPlan returns the fill plan of t, or nil when t is not plain.
func plainPlan(t reflect.Type) *plan {
	if p, ok := planCache.Load(t); ok {
		return p.(*plan)
	}
	p := buildPlan(t, map[reflect.Type]bool{})
	planCache.Store(t, p)
	return p
}

func buildPlan(t reflect.Type, visiting map[reflect.Type]bool) *plan {
	if visiting[t] {
		return nil // recursive types take encoding/json
	}
	if t == rawMsgType {
		return &plan{kind: reflect.Slice, raw: true}
	}
	if t.Kind() != reflect.Pointer && t.Implements(jsonUnmarshaler) || reflect.PointerTo(t).Implements(jsonUnmarshaler) ||
		t.Kind() != reflect.Pointer && (t.Implements(textUnmarshaler) || reflect.PointerTo(t).Implements(textUnmarshaler)) {
		return nil // pointers: their element is checked (and *T's methods with it)
	}
	visiting[t] = true
	defer delete(visiting, t)
	p := &plan{kind: t.Kind()}
	switch t.Kind() {
	case reflect.String, reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64:
		return p
	case reflect.Pointer, reflect.Array:
		p.elem = buildPlan(t.Elem(), visiting)
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return nil
		}
		p.elem = buildPlan(t.Elem(), visiting)
	case reflect.Map:
		k := t.Key()
		if k.Kind() != reflect.String || reflect.PointerTo(k).Implements(textUnmarshaler) || k.Implements(textUnmarshaler) {
			return nil
		}
		p.elem = buildPlan(t.Elem(), visiting)
	case reflect.Struct:
		p.fields = map[string]*planField{}
		if !planFields(t, nil, p, visiting) {
			return nil
		}
		for i, f := range p.order {
			f.next = i + 1
		}
		return p
	default:
		return nil
	}
	if p.elem == nil {
		return nil
	}
	return p
}

// planFields adds the fields of struct t (embedded structs promoted) under
// index prefix; it reports false for anything not plain.
func planFields(t reflect.Type, prefix []int, out *plan, visiting map[reflect.Type]bool) bool {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if strings.Contains(","+opts+",", ",string,") || name != "" && !reTagName.MatchString(name) {
			return false
		}
		index := append(append([]int(nil), prefix...), i)
		if f.Anonymous {
			if name != "" || f.Type.Kind() != reflect.Struct {
				return false
			}
			if !planFields(f.Type, index, out, visiting) {
				return false
			}
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		sub := buildPlan(f.Type, visiting)
		if _, clash := out.fields[name]; clash || sub == nil {
			return false
		}
		pf := &planField{name: name, index: index, plan: sub}
		out.fields[name] = pf
		out.order = append(out.order, pf)
	}
	return true
}

// filler fills a plain target from input the fast path accepted.
type filler struct {
	data []byte
	i    int
}

func (f *filler) ws() {
	for f.i < len(f.data) {
		switch f.data[f.i] {
		case ' ', '\t', '\n', '\r':
			f.i++
		default:
			return
		}
	}
}

func (f *filler) value(v reflect.Value, p *plan) {
	f.ws()
	if p.raw {
		start := f.i
		f.skipValue()
		v.SetBytes(append(v.Bytes()[:0], f.data[start:f.i]...))
		return
	}
	c := f.data[f.i]
	if c == 'n' {
		f.i += 4
		switch p.kind {
		case reflect.Pointer, reflect.Map, reflect.Slice:
			v.SetZero()
		}
		return
	}
	switch p.kind {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		f.value(v.Elem(), p.elem)
	case reflect.Struct:
		f.object(v, p)
	case reflect.Map:
		f.mapValue(v, p)
	case reflect.Slice, reflect.Array:
		f.array(v, p)
	case reflect.String:
		v.SetString(f.str())
	case reflect.Bool:
		v.SetBool(c == 't')
		if c == 't' {
			f.i += 4
		} else {
			f.i += 5
		}
	default:
		f.number(v, p.kind)
	}
}

func (f *filler) number(v reflect.Value, k reflect.Kind) {
	start := f.i
	for f.i < len(f.data) && strings.IndexByte("+-.eE0123456789", f.data[f.i]) >= 0 {
		f.i++
	}
	s := unsafe.String(unsafe.SliceData(f.data[start:f.i]), f.i-start) // not retained
	switch k {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, _ := strconv.ParseInt(s, 10, 64)
		v.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		n, _ := strconv.ParseUint(s, 10, 64)
		v.SetUint(n)
	default:
		n, _ := strconv.ParseFloat(s, v.Type().Bits())
		v.SetFloat(n)
	}
}

// key reads an object key (never escaped: the fast path refuses those)
// and the colon after it.
func (f *filler) key() []byte {
	f.ws()
	start := f.i + 1
	end := start
	for f.data[end] != '"' {
		end++
	}
	f.i = end + 1
	f.ws()
	f.i++ // ':'
	return f.data[start:end]
}

// objectStart consumes '{' and reports whether the object has members.
func (f *filler) objectStart() bool {
	f.i++ // '{'
	f.ws()
	if f.data[f.i] == '}' {
		f.i++
		return false
	}
	return true
}

// objectNext consumes ',' or '}' after a member and reports whether
// another member follows.
func (f *filler) objectNext() bool {
	f.ws()
	c := f.data[f.i]
	f.i++
	return c == ','
}

func (f *filler) object(v reflect.Value, p *plan) {
	hint := 0
	for more := f.objectStart(); more; more = f.objectNext() {
		pf, ok := p.field(f.key(), hint)
		if !ok {
			f.skipValue() // AllowUnknownFields
			continue
		}
		hint = pf.next
		f.value(v.FieldByIndex(pf.index), pf.plan)
	}
}

func (f *filler) mapValue(v reflect.Value, p *plan) {
	if v.IsNil() {
		v.Set(reflect.MakeMap(v.Type()))
	}
	kt, et := v.Type().Key(), v.Type().Elem()
	for more := f.objectStart(); more; more = f.objectNext() {
		key := f.key()
		elem := reflect.New(et).Elem()
		f.value(elem, p.elem)
		k := reflect.ValueOf(string(key))
		if kt != stringType {
			k = k.Convert(kt)
		}
		v.SetMapIndex(k, elem)
	}
}

// array fills a slice or an array as encoding/json does: existing
// elements are decoded into, slices grow, surplus elements are cut
// (slices) or zeroed (arrays), and an empty JSON array gives an empty,
// non-nil slice.
func (f *filler) array(v reflect.Value, p *plan) {
	f.i++ // '['
	f.ws()
	i := 0
	if f.data[f.i] == ']' {
		f.i++
	} else {
		for {
			if v.Kind() == reflect.Slice {
				if i >= v.Cap() {
					v.Grow(1)
				}
				if i >= v.Len() {
					v.SetLen(i + 1)
				}
			}
			f.value(v.Index(i), p.elem)
			i++
			f.ws()
			c := f.data[f.i]
			f.i++
			if c == ']' {
				break
			}
		}
	}
	if i < v.Len() {
		if v.Kind() == reflect.Array {
			for ; i < v.Len(); i++ {
				v.Index(i).SetZero()
			}
		} else {
			v.SetLen(i)
		}
	}
	if i == 0 && v.Kind() == reflect.Slice {
		v.Set(reflect.MakeSlice(v.Type(), 0, 0))
	}
}

// skipValue moves past one well-formed value.
func (f *filler) skipValue() {
	f.ws()
	depth := 0
	for {
		switch c := f.data[f.i]; c {
		case '"':
			f.skipString()
		case '{', '[':
			depth++
			f.i++
		case '}', ']':
			depth--
			f.i++
		default:
			f.i++
			if c != ',' && c != ':' && c != ' ' && c != '\t' && c != '\n' && c != '\r' {
				for f.i < len(f.data) && strings.IndexByte(",:]} \t\n\r", f.data[f.i]) < 0 {
					f.i++
				}
			}
		}
		if depth == 0 {
			return
		}
	}
}

func (f *filler) skipString() {
	f.i++
	for {
		q := bytes.IndexByte(f.data[f.i:], '"')
		if b := bytes.IndexByte(f.data[f.i:f.i+q], '\\'); b >= 0 {
			f.i += b + 2 // past the escaped byte
			continue
		}
		f.i += q + 1
		return
	}
}

// str reads a string value, unescaping it.
func (f *filler) str() string {
	start := f.i + 1
	end := start + bytes.IndexByte(f.data[start:], '"')
	b := bytes.IndexByte(f.data[start:end], '\\')
	if b < 0 {
		f.i = end + 1
		return string(f.data[start:end])
	}
	i := start + b
	buf := append(make([]byte, 0, i-start+16), f.data[start:i]...)
	for {
		switch c := f.data[i]; c {
		case '"':
			f.i = i + 1
			return string(buf)
		case '\\':
			var n int
			buf, n = unescape(buf, f.data[i:])
			i += n
		default:
			buf = append(buf, c)
			i++
		}
	}
}

// unescape appends the character of the escape at esc[0] ('\\') and
// returns its length; surrogate pairs (validated by the fast path) are
// combined.
func unescape(buf, esc []byte) ([]byte, int) {
	switch esc[1] {
	case 'b':
		return append(buf, '\b'), 2
	case 'f':
		return append(buf, '\f'), 2
	case 'n':
		return append(buf, '\n'), 2
	case 'r':
		return append(buf, '\r'), 2
	case 't':
		return append(buf, '\t'), 2
	case 'u':
	default: // '"', '\\', '/'
		return append(buf, esc[1]), 2
	}
	r := rune(hexAt(esc, 2))
	if !utf16.IsSurrogate(r) {
		return utf8.AppendRune(buf, r), 6
	}
	return utf8.AppendRune(buf, utf16.DecodeRune(r, rune(hexAt(esc, 8)))), 12
}
