package strictjson

import (
	"bytes"
	"reflect"
	"sync"
)

// typeInfo caches what the checks need to know about a declared Go type.
type typeInfo struct {
	declared reflect.Type
	any      bool         // resolve(declared) == nil: any JSON value
	kind     reflect.Kind // of resolve(declared)
	text     bool         // TextUnmarshaler
	bytes    bool         // []byte
	nullKind bool         // pointer, slice, map or interface: null without RejectNull
	bits     int          // of numeric kinds
	arrayLen int          // of arrays

	once   sync.Once
	elem   *typeInfo // slices, arrays, maps
	fields *fastFields
}

type fastField struct {
	field
	bit  uint64
	info *typeInfo
	next int // position in order of the field declared after this one
}

// fastFields is a struct's field set with a bit per field (at most 64;
// larger structs take the slow path).
type fastFields struct {
	byName   map[string]*fastField
	order    []*fastField
	required uint64
	tooMany  bool
}

var infoCache sync.Map // reflect.Type -> *typeInfo

func infoOf(t reflect.Type) *typeInfo {
	if ti, ok := infoCache.Load(t); ok {
		return ti.(*typeInfo)
	}
	ti := &typeInfo{declared: t}
	r := resolve(t)
	ti.any = r == nil
	if t != nil {
		switch t.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Interface:
			ti.nullKind = true
		}
	}
	if r != nil {
		ti.kind = r.Kind()
		ti.text = isText(r)
		ti.bytes = isBytes(r)
		switch ti.kind {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
			reflect.Float32, reflect.Float64:
			ti.bits = r.Bits()
		case reflect.Array:
			ti.arrayLen = r.Len()
		}
	}
	actual, _ := infoCache.LoadOrStore(t, ti)
	return actual.(*typeInfo)
}

// children fills elem and fields on first use (types may be recursive).
func (ti *typeInfo) children() {
	ti.once.Do(func() {
		if ti.any {
			return
		}
		r := resolve(ti.declared)
		switch ti.kind {
		case reflect.Slice, reflect.Array, reflect.Map:
			ti.elem = infoOf(r.Elem())
		case reflect.Struct:
			fs := structFields(r)
			ff := &fastFields{byName: map[string]*fastField{}, tooMany: len(fs.order) > 64}
			for i, f := range fs.order {
				x := &fastField{field: f, bit: 1 << (i % 64), info: infoOf(f.typ), next: i + 1}
				if f.required {
					ff.required |= x.bit
				}
				ff.byName[f.name] = x
				ff.order = append(ff.order, x)
			}
			ti.fields = ff
		}
	})
}

// nilInfo accepts any value (unknown fields, interface targets).
var nilInfo = &typeInfo{any: true, nullKind: true}

// lookup finds the field named key, trying the one declared after the
// previous member first (members usually come in declaration order).
func (fs *fastFields) lookup(key []byte, hint int) (*fastField, bool) {
	if hint < len(fs.order) && fs.order[hint].name == string(key) {
		return fs.order[hint], true
	}
	f, ok := fs.byName[string(key)]
	return f, ok
}

func (fs *fastFields) foldMatch(key []byte) bool {
	for _, f := range fs.order {
		if bytes.EqualFold([]byte(f.name), key) {
			return true
		}
	}
	return false
}

// keySet detects duplicate keys among the members of one object that are
// not struct fields (map entries, unknown members).
type keySet struct {
	small [8][]byte
	n     int
	big   map[string]struct{}
}

func (k *keySet) add(key []byte) bool {
	if k.big != nil {
		if _, dup := k.big[string(key)]; dup {
			return false
		}
		k.big[string(key)] = struct{}{}
		return true
	}
	for _, prev := range k.small[:k.n] {
		if bytes.Equal(prev, key) {
			return false
		}
	}
	if k.n < len(k.small) {
		k.small[k.n] = key
		k.n++
		return true
	}
	k.big = make(map[string]struct{}, 2*len(k.small))
	for _, prev := range k.small {
		k.big[string(prev)] = struct{}{}
	}
	k.big[string(key)] = struct{}{}
	return true
}
