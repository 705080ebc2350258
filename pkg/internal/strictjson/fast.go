package strictjson

import (
	"reflect"
	"strconv"
	"unsafe"
)

// The fast path. accepts runs every check of walk (and of loneSurrogate)
// in one pass over the bytes, without the json.Decoder token stream and
// without building paths. It answers only "certainly accepted": whenever
// it meets anything it does not handle, or anything walk would reject, it
// returns false and Decode runs the original checks, which then decide and
// build the precise error. So errors are exactly those of the slow path,
// and acceptance by the fast path implies acceptance by the slow path
// (checked by FuzzFastAgrees).

// fastScanner is the state of one accepts pass.
type fastScanner struct {
	data []byte
	i    int
	opts Limits
	max  int
}

// accepts reports whether data (already known to be valid UTF-8 and within
// the size limit) certainly passes walk and loneSurrogate for target t.
func accepts(data []byte, t reflect.Type, opts Limits) bool {
	s := &fastScanner{data: data, opts: opts, max: opts.maxDepth()}
	s.ws()
	if !s.value(infoOf(t), false, 0) {
		return false
	}
	s.ws()
	return s.i == len(s.data)
}

func (s *fastScanner) ws() {
	for s.i < len(s.data) {
		switch s.data[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *fastScanner) value(ti *typeInfo, nullTag bool, depth int) bool {
	if s.i >= len(s.data) {
		return false
	}
	switch c := s.data[s.i]; c {
	case '{':
		if depth+1 > s.max || !(ti.any || ti.kind == reflect.Struct || ti.kind == reflect.Map) {
			return false
		}
		return s.object(ti, depth+1)
	case '[':
		if depth+1 > s.max || !(ti.any || (ti.kind == reflect.Slice || ti.kind == reflect.Array) && !ti.bytes) {
			return false
		}
		return s.array(ti, depth+1)
	case '"':
		if !(ti.any || ti.kind == reflect.String || ti.text || ti.bytes) {
			return false
		}
		_, _, ok := s.str()
		return ok
	case 't':
		return (ti.any || ti.kind == reflect.Bool) && s.lit("true")
	case 'f':
		return (ti.any || ti.kind == reflect.Bool) && s.lit("false")
	case 'n':
		return s.nullOK(ti, nullTag) && s.lit("null")
	default:
		return s.number(ti)
	}
}

func (s *fastScanner) nullOK(ti *typeInfo, tagged bool) bool {
	if ti.any || tagged {
		return true
	}
	return !s.opts.RejectNull && ti.nullKind
}

func (s *fastScanner) lit(want string) bool {
	if len(s.data)-s.i < len(want) || string(s.data[s.i:s.i+len(want)]) != want {
		return false
	}
	s.i += len(want)
	return true
}

// str scans a string at s.i and returns the bytes between the quotes and
// whether they contain escapes.
func (s *fastScanner) str() (raw []byte, escaped, ok bool) {
	start := s.i + 1
	for i := start; i < len(s.data); i++ {
		for i < len(s.data) && !strSpecial[s.data[i]] {
			i++
		}
		if i == len(s.data) {
			break
		}
		switch c := s.data[i]; {
		case c == '"':
			s.i = i + 1
			return s.data[start:i], escaped, true
		case c < 0x20:
			return nil, false, false
		case c == '\\':
			escaped = true
			n := s.escape(i)
			if n == 0 {
				return nil, false, false
			}
			i += n - 1
		}
	}
	return nil, false, false
}

// strSpecial marks the bytes that end a plain run inside a string.
var strSpecial = func() (t [256]bool) {
	for c := range 0x20 {
		t[c] = true
	}
	t['"'], t['\\'] = true, true
	return t
}()

// escape returns the length of the escape sequence at data[i] ('\\'),
// including a following low surrogate escape, or 0 if it is invalid or an
// unpaired surrogate.
func (s *fastScanner) escape(i int) int {
	if i+1 >= len(s.data) {
		return 0
	}
	switch s.data[i+1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return 2
	case 'u':
	default:
		return 0
	}
	r := hexAt(s.data, i+2)
	switch {
	case r < 0:
		return 0
	case r < 0xD800 || r > 0xDFFF:
		return 6
	case r >= 0xDC00:
		return 0
	}
	if i+7 >= len(s.data) || s.data[i+6] != '\\' || s.data[i+7] != 'u' {
		return 0
	}
	if lo := hexAt(s.data, i+8); lo < 0xDC00 || lo > 0xDFFF {
		return 0
	}
	return 12
}

// hexAt parses 4 hex digits at data[i:], or returns -1.
func hexAt(data []byte, i int) int {
	if i+4 > len(data) {
		return -1
	}
	v := 0
	for _, c := range data[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 | int(c-'0')
		case c >= 'a' && c <= 'f':
			v = v<<4 | int(c-'a'+10)
		case c >= 'A' && c <= 'F':
			v = v<<4 | int(c-'A'+10)
		default:
			return -1
		}
	}
	return v
}

func (s *fastScanner) array(ti *typeInfo, depth int) bool {
	s.i++ // '['
	elem := nilInfo
	if !ti.any {
		ti.children()
		elem = ti.elem
	}
	s.ws()
	if s.i < len(s.data) && s.data[s.i] == ']' {
		s.i++
		return true
	}
	for n := 0; ; n++ {
		if !ti.any && ti.kind == reflect.Array && n >= ti.arrayLen {
			return false
		}
		s.ws()
		if !s.value(elem, false, depth) {
			return false
		}
		s.ws()
		if s.i >= len(s.data) {
			return false
		}
		switch s.data[s.i] {
		case ',':
			s.i++
		case ']':
			s.i++
			return true
		default:
			return false
		}
	}
}

func (s *fastScanner) object(ti *typeInfo, depth int) bool {
	s.i++ // '{'
	var fields *fastFields
	elem := nilInfo
	if !ti.any {
		ti.children()
		fields, elem = ti.fields, ti.elem
		if fields != nil && fields.tooMany {
			return false
		}
	}
	var seen uint64
	var others keySet
	hint := 0
	s.ws()
	if s.i < len(s.data) && s.data[s.i] == '}' {
		s.i++
		return s.required(fields, seen)
	}
	for {
		s.ws()
		if s.i >= len(s.data) || s.data[s.i] != '"' {
			return false
		}
		key, escaped, ok := s.str()
		if !ok || escaped {
			return false // escaped keys: the slow path compares them decoded
		}
		s.ws()
		if s.i >= len(s.data) || s.data[s.i] != ':' {
			return false
		}
		s.i++
		s.ws()
		if !s.member(fields, elem, key, &seen, &others, &hint, depth) {
			return false
		}
		s.ws()
		if s.i >= len(s.data) {
			return false
		}
		switch s.data[s.i] {
		case ',':
			s.i++
		case '}':
			s.i++
			return s.required(fields, seen)
		default:
			return false
		}
	}
}

// member checks one key (for duplicates and against the struct's fields)
// and its value.
func (s *fastScanner) member(fields *fastFields, elem *typeInfo, key []byte, seen *uint64, others *keySet, hint *int, depth int) bool {
	if fields == nil {
		return others.add(key) && s.value(elem, false, depth)
	}
	f, ok := fields.lookup(key, *hint)
	if !ok {
		if !s.opts.AllowUnknownFields || fields.foldMatch(key) {
			return false
		}
		return others.add(key) && s.value(nilInfo, false, depth)
	}
	if *seen&f.bit != 0 {
		return false
	}
	*hint = f.next
	*seen |= f.bit
	if f.shallow && f.typ == rawMessageType {
		return s.skip(0)
	}
	return s.value(f.info, f.nullable, depth)
}

func (s *fastScanner) required(fields *fastFields, seen uint64) bool {
	if fields == nil || !s.opts.RequireFields {
		return true
	}
	return seen&fields.required == fields.required
}

// skip scans any well-formed value without strict checks (shallow
// fields); strings are still checked for unpaired surrogates.
func (s *fastScanner) skip(depth int) bool {
	if depth > 1000 {
		return false // far below encoding/json's own limit; let the slow path decide
	}
	s.ws()
	if s.i >= len(s.data) {
		return false
	}
	switch s.data[s.i] {
	case '{', '[':
		return s.skipComposite(depth)
	case '"':
		_, _, ok := s.str()
		return ok
	case 't':
		return s.lit("true")
	case 'f':
		return s.lit("false")
	case 'n':
		return s.lit("null")
	}
	_, ok := s.numberBytes()
	return ok
}

func (s *fastScanner) skipComposite(depth int) bool {
	obj := s.data[s.i] == '{'
	end := byte(']')
	if obj {
		end = '}'
	}
	s.i++
	s.ws()
	if s.i < len(s.data) && s.data[s.i] == end {
		s.i++
		return true
	}
	for {
		if obj && !s.skipKey() {
			return false
		}
		if !s.skip(depth + 1) {
			return false
		}
		s.ws()
		if s.i >= len(s.data) {
			return false
		}
		switch s.data[s.i] {
		case ',':
			s.i++
		case end:
			s.i++
			return true
		default:
			return false
		}
	}
}

func (s *fastScanner) skipKey() bool {
	s.ws()
	if s.i >= len(s.data) || s.data[s.i] != '"' {
		return false
	}
	if _, _, ok := s.str(); !ok {
		return false
	}
	s.ws()
	if s.i >= len(s.data) || s.data[s.i] != ':' {
		return false
	}
	s.i++
	return true
}

// numberBytes scans a JSON number at s.i.
func (s *fastScanner) numberBytes() ([]byte, bool) {
	d, start := s.data, s.i
	i := start
	if i < len(d) && d[i] == '-' {
		i++
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case i < len(d) && d[i] >= '1' && d[i] <= '9':
		i = digits(d, i)
	default:
		return nil, false
	}
	if i < len(d) && d[i] == '.' {
		j := digits(d, i+1)
		if j == i+1 {
			return nil, false
		}
		i = j
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		j := digits(d, i)
		if j == i {
			return nil, false
		}
		i = j
	}
	s.i = i
	return d[start:i], true
}

func digits(d []byte, i int) int {
	for i < len(d) && d[i] >= '0' && d[i] <= '9' {
		i++
	}
	return i
}

// number scans a number and checks that it fits the target as checkNumber
// does.
func (s *fastScanner) number(ti *typeInfo) bool {
	n, ok := s.numberBytes()
	if !ok {
		return false
	}
	if ti.any {
		return true
	}
	str := unsafe.String(unsafe.SliceData(n), len(n)) // not retained
	var err error
	switch ti.kind {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		_, err = strconv.ParseInt(str, 10, ti.bits)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		_, err = strconv.ParseUint(str, 10, ti.bits)
	case reflect.Float32, reflect.Float64:
		_, err = strconv.ParseFloat(str, ti.bits)
	default:
		return false
	}
	return err == nil
}
