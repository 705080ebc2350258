package strictjson

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// walker reads the token stream once, tracking the JSON path and the Go type
// expected at each position. A nil type accepts any well-formed value.
type walker struct {
	dec  *json.Decoder
	opts Limits
}

func walk(data []byte, t reflect.Type, opts Limits) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	w := &walker{dec: dec, opts: opts}
	tok, err := dec.Token()
	if err == io.EOF {
		return newError("", ErrSyntax, "empty input")
	}
	if err != nil {
		return syntaxError(nil, err)
	}
	if err := w.value(tok, nil, t, 0, false); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return newError("", ErrTrailingData, "at byte offset %d", dec.InputOffset())
	}
	return nil
}

func syntaxError(path *pos, err error) error {
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		return newError(path.String(), ErrSyntax, "unexpected end of input")
	}
	return newError(path.String(), ErrSyntax, "%v", err)
}

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
	numberType      = reflect.TypeFor[json.Number]()
	rawMessageType  = reflect.TypeFor[json.RawMessage]()
)

// resolve strips pointers and returns nil for types that accept any JSON
// value (interfaces, json.RawMessage and custom unmarshalers).
func resolve(t reflect.Type) reflect.Type {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() == reflect.Interface || t == numberType {
		return nil
	}
	if t.Implements(jsonUnmarshaler) || reflect.PointerTo(t).Implements(jsonUnmarshaler) {
		return nil
	}
	return t
}

func isText(t reflect.Type) bool {
	return t.Implements(textUnmarshaler) || reflect.PointerTo(t).Implements(textUnmarshaler)
}

func (w *walker) value(tok json.Token, path *pos, t reflect.Type, depth int, nullTag bool) error {
	declared := t
	t = resolve(t)
	switch v := tok.(type) {
	case json.Delim:
		return w.composite(v, path, t, depth+1)
	case string:
		if t != nil && t.Kind() != reflect.String && !isText(t) && !isBytes(t) {
			return typeError(path, "string", t)
		}
	case json.Number:
		return checkNumber(v, path, t)
	case bool:
		if t != nil && t.Kind() != reflect.Bool {
			return typeError(path, "boolean", t)
		}
	case nil:
		if !w.nullAllowed(declared, nullTag) {
			return typeError(path, "null", t)
		}
	}
	return nil
}

// nullAllowed reports whether null may stand for a value of type t (whose
// field is tagged strictjson:"nullable" when tagged is true).
func (w *walker) nullAllowed(t reflect.Type, tagged bool) bool {
	if t == nil || resolve(t) == nil || tagged {
		return true
	}
	if w.opts.RejectNull {
		return false
	}
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Interface:
		return true
	}
	return false
}

func isBytes(t reflect.Type) bool {
	return t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8
}

func (w *walker) composite(d json.Delim, path *pos, t reflect.Type, depth int) error {
	if depth > w.opts.maxDepth() {
		return newError(path.String(), ErrTooDeep, "depth %d, limit %d", depth, w.opts.maxDepth())
	}
	if d == '{' {
		if t != nil && t.Kind() != reflect.Struct && t.Kind() != reflect.Map {
			return typeError(path, "object", t)
		}
		return w.object(path, t, depth)
	}
	if t != nil && (t.Kind() != reflect.Slice && t.Kind() != reflect.Array || isBytes(t)) {
		return typeError(path, "array", t)
	}
	return w.array(path, t, depth)
}

func (w *walker) object(path *pos, t reflect.Type, depth int) error {
	seen := map[string]bool{}
	for w.dec.More() {
		tok, err := w.dec.Token()
		if err != nil {
			return syntaxError(path, err)
		}
		key, _ := tok.(string)
		kpath := &pos{parent: path, key: key, idx: -1}
		if seen[key] {
			return newError(kpath.String(), ErrDuplicateKey, "%q", key)
		}
		seen[key] = true
		f, err := w.fieldType(kpath, key, t)
		if err != nil {
			return err
		}
		if err := w.next(kpath, f, depth); err != nil {
			return err
		}
	}
	if err := w.checkRequired(path, t, seen); err != nil {
		return err
	}
	return w.end(path)
}

// checkRequired reports the first field (in declaration order) whose tag
// lacks omitempty/omitzero and whose key was absent, when RequireFields is set.
func (w *walker) checkRequired(path *pos, t reflect.Type, seen map[string]bool) error {
	if !w.opts.RequireFields || t == nil || t.Kind() != reflect.Struct {
		return nil
	}
	for _, f := range structFields(t).order {
		if f.required && !seen[f.name] {
			return newError(joinKey(path.String(), f.name), ErrMissingField, "")
		}
	}
	return nil
}

func (w *walker) array(path *pos, t reflect.Type, depth int) error {
	var et reflect.Type
	if t != nil {
		et = t.Elem()
	}
	for i := 0; w.dec.More(); i++ {
		if t != nil && t.Kind() == reflect.Array && i >= t.Len() {
			return newError(path.String(), ErrType, "more than %d elements", t.Len())
		}
		if err := w.next(&pos{parent: path, idx: i}, field{typ: et}, depth); err != nil {
			return err
		}
	}
	return w.end(path)
}

// next reads the value of field f (or of an array element) at path.
func (w *walker) next(path *pos, f field, depth int) error {
	if f.shallow && f.typ == rawMessageType {
		var skip json.RawMessage
		if err := w.dec.Decode(&skip); err != nil {
			return syntaxError(path, err)
		}
		return nil
	}
	tok, err := w.dec.Token()
	if err != nil {
		return syntaxError(path, err)
	}
	return w.value(tok, path, f.typ, depth, f.nullable)
}

func (w *walker) end(path *pos) error {
	if _, err := w.dec.Token(); err != nil {
		return syntaxError(path, err)
	}
	return nil
}

// fieldType returns the field expected under key in an object of type t;
// its typ is nil when any value is acceptable.
func (w *walker) fieldType(path *pos, key string, t reflect.Type) (field, error) {
	if t == nil {
		return field{}, nil
	}
	if t.Kind() == reflect.Map {
		return field{typ: t.Elem()}, nil
	}
	fields := structFields(t)
	if f, ok := fields.byName[key]; ok {
		return f, nil
	}
	for _, f := range fields.order {
		if name := f.name; strings.EqualFold(name, key) {
			return field{}, newError(path.String(), ErrUnknownField, "%q matches field %q only case-insensitively", key, name)
		}
	}
	if w.opts.AllowUnknownFields {
		return field{}, nil
	}
	return field{}, newError(path.String(), ErrUnknownField, "%q", key)
}

var fieldCache sync.Map // reflect.Type -> *fieldSet

type field struct {
	name     string
	typ      reflect.Type
	required bool // no omitempty/omitzero in the tag
	nullable bool // tagged strictjson:"nullable"
	shallow  bool // tagged strictjson:"shallow" (json.RawMessage only)
}

type fieldSet struct {
	byName map[string]field
	order  []field
}

func (fs *fieldSet) add(f field) {
	if _, dup := fs.byName[f.name]; !dup {
		fs.byName[f.name] = f
		fs.order = append(fs.order, f)
	}
}

// structFields lists the JSON fields of t as encoding/json sees them (tags,
// embedded structs promoted, shallower names win).
func structFields(t reflect.Type) *fieldSet {
	if m, ok := fieldCache.Load(t); ok {
		return m.(*fieldSet)
	}
	fs := &fieldSet{byName: map[string]field{}}
	collectFields(t, fs, 0)
	fieldCache.Store(t, fs)
	return fs
}

func collectFields(t reflect.Type, out *fieldSet, depth int) {
	if depth > 16 {
		return
	}
	var embedded []reflect.Type
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			if et := derefType(f.Type); et.Kind() == reflect.Struct {
				embedded = append(embedded, et)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		optional := strings.Contains(","+opts+",", ",omitempty,") || strings.Contains(","+opts+",", ",omitzero,")
		strict := "," + f.Tag.Get("strictjson") + ","
		out.add(field{name: name, typ: f.Type, required: !optional,
			nullable: strings.Contains(strict, ",nullable,"), shallow: strings.Contains(strict, ",shallow,")})
	}
	for _, et := range embedded {
		sub := &fieldSet{byName: map[string]field{}}
		collectFields(et, sub, depth+1)
		for _, f := range sub.order {
			out.add(f)
		}
	}
}

func derefType(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

func checkNumber(n json.Number, path *pos, t reflect.Type) error {
	if t == nil {
		return nil
	}
	var err error
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		_, err = strconv.ParseInt(string(n), 10, t.Bits())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		_, err = strconv.ParseUint(string(n), 10, t.Bits())
	case reflect.Float32, reflect.Float64:
		_, err = strconv.ParseFloat(string(n), t.Bits())
	default:
		return typeError(path, "number", t)
	}
	if err != nil {
		return newError(path.String(), ErrType, "number %s does not fit %s", n, t)
	}
	return nil
}

func typeError(path *pos, got string, t reflect.Type) error {
	return newError(path.String(), ErrType, "got %s, want %s", got, jsonKind(t))
}

func jsonKind(t reflect.Type) string {
	if t == nil {
		return "any"
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "object"
	case reflect.Slice, reflect.Array:
		if isBytes(t) {
			return "string"
		}
		return "array"
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return "integer"
	}
	if isText(t) {
		return "string"
	}
	return t.String()
}

var plainKey = regexp.MustCompile(`^[A-Za-z_$][A-Za-z0-9_$-]*$`)

// joinKey appends an object key to a JSON path: a.b for plain keys,
// a["odd key"] otherwise.
func joinKey(path, key string) string {
	if !plainKey.MatchString(key) {
		return path + "[" + strconv.Quote(key) + "]"
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

// pos is a JSON path built lazily: a chain of object keys and array
// indices rendered only when an error needs it.
type pos struct {
	parent *pos
	key    string
	idx    int // array index, or -1 for an object key
}

func (p *pos) String() string {
	if p == nil {
		return ""
	}
	if p.idx >= 0 {
		return p.parent.String() + "[" + strconv.Itoa(p.idx) + "]"
	}
	return joinKey(p.parent.String(), p.key)
}
