// Package strictjson decodes JSON the way signed documents must be read:
// strictly, with explicit limits, and with errors that name the JSON path of
// the offending value.
//
// encoding/json matches object keys to struct fields case-insensitively, lets
// the last of two duplicate keys win, silently replaces invalid UTF-8 and
// accepts null for any field. Two readers of the same signed bytes could
// therefore see different documents. Decode rejects all of that before it
// lets encoding/json fill the target:
//
//   - input larger than Limits.MaxBytes (ErrTooLarge);
//   - invalid UTF-8 anywhere in the input, including \u escapes of unpaired
//     UTF-16 surrogates (ErrInvalidUTF8);
//   - syntax errors and empty input (ErrSyntax);
//   - a second value after the first (ErrTrailingData);
//   - objects and arrays nested deeper than Limits.MaxDepth (ErrTooDeep);
//   - a key that appears twice in one object, at any depth (ErrDuplicateKey);
//   - a key that matches no field of the target struct, or matches one only
//     case-insensitively ("RunId" for `json:"runId"`) (ErrUnknownField);
//   - with Limits.RequireFields, a missing key for a field whose tag lacks
//     omitempty (ErrMissingField);
//   - a value whose JSON type does not fit the target, including null for a
//     non-pointer scalar or struct (with Limits.RejectNull: for anything
//     not tagged strictjson:"nullable"), and fractions for integers (ErrType).
//
// Values decoded into json.RawMessage, interfaces or types with their own
// UnmarshalJSON are checked for syntax, UTF-8, depth and duplicate keys only.
// A json.RawMessage field tagged strictjson:"shallow" is only checked to be
// well-formed JSON: use the tag only when the caller decodes that value
// strictly itself (as a statement parser does with its predicate), so the
// same bytes are not walked twice.
//
// Speed: a byte-level pass (fast.go) makes all of these checks at once and
// only answers "accepted"; anything else is decided, and its error built,
// by the original token walk (walk.go). Accepted input for a target of
// plain types (fill.go) is then filled in the same style, exactly as
// encoding/json would fill it; other targets go through encoding/json.
package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"unicode/utf8"
)

// Default limits used when a Limits field is zero.
const (
	DefaultMaxBytes = 4 << 20
	DefaultMaxDepth = 64
)

// Sentinel errors. Every error returned by Decode is an *Error wrapping one
// of them; branch with errors.Is.
var (
	ErrTooLarge     = errors.New("input too large")
	ErrInvalidUTF8  = errors.New("invalid utf-8")
	ErrSyntax       = errors.New("invalid json")
	ErrTrailingData = errors.New("trailing data after json value")
	ErrTooDeep      = errors.New("json nested too deeply")
	ErrDuplicateKey = errors.New("duplicate key")
	ErrUnknownField = errors.New("unknown field")
	ErrType         = errors.New("wrong json type")
	ErrMissingField = errors.New("missing required field")
)

// Limits bounds what Decode accepts. The zero value means the defaults and
// unknown fields rejected.
type Limits struct {
	// MaxBytes is the largest accepted input; 0 means DefaultMaxBytes.
	MaxBytes int
	// MaxDepth is the deepest accepted nesting of objects and arrays;
	// 0 means DefaultMaxDepth.
	MaxDepth int
	// AllowUnknownFields accepts object keys that match no struct field
	// (they are still checked for duplicates). Keys that match a field only
	// case-insensitively are rejected even then.
	AllowUnknownFields bool
	// RequireFields makes every struct field whose json tag has neither
	// omitempty nor omitzero mandatory: an object that lacks its key is
	// rejected with ErrMissingField (null counts as present).
	RequireFields bool
	// RejectNull rejects null for every typed value (pointers, slices and
	// maps included) except fields tagged strictjson:"nullable"; values
	// decoded into interfaces, json.RawMessage or custom unmarshalers may
	// still be null. Without it, null is accepted where encoding/json
	// would leave the value unchanged: pointers, slices, maps.
	RejectNull bool
}

func (l Limits) maxBytes() int {
	if l.MaxBytes <= 0 {
		return DefaultMaxBytes
	}
	return l.MaxBytes
}

func (l Limits) maxDepth() int {
	if l.MaxDepth <= 0 {
		return DefaultMaxDepth
	}
	return l.MaxDepth
}

// Error is the error returned by Decode: what went wrong (Err, wrapping a
// sentinel) and where (Path, e.g. "predicate.datasets[2].licence"; empty for
// the whole document).
type Error struct {
	Path string
	Err  error
}

func (e *Error) Error() string {
	if e.Path == "" {
		return e.Err.Error()
	}
	return e.Path + ": " + e.Err.Error()
}

// Unwrap returns the wrapped error.
func (e *Error) Unwrap() error { return e.Err }

func newError(path string, sentinel error, format string, args ...any) *Error {
	if format == "" {
		return &Error{Path: path, Err: sentinel}
	}
	return &Error{Path: path, Err: fmt.Errorf("%w: "+format, append([]any{sentinel}, args...)...)}
}

// Decode parses data into v (a non-nil pointer) after the strict checks
// listed in the package documentation. On error v may be partly filled only
// if the final encoding/json pass failed; the strict checks run before it.
func Decode(data []byte, v any, opts Limits) error {
	if len(data) > opts.maxBytes() {
		return newError("", ErrTooLarge, "%d bytes, limit %d", len(data), opts.maxBytes())
	}
	if !utf8.Valid(data) {
		return newError("", ErrInvalidUTF8, "at byte offset %d", invalidUTF8Offset(data))
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer && !rv.IsNil() && accepts(data, rv.Type().Elem(), opts) {
		if p := plainPlan(rv.Type().Elem()); p != nil {
			(&filler{data: data}).value(rv.Elem(), p)
			return nil
		}
		return unmarshal(data, v, opts)
	}
	if err := slowChecks(data, rv, v, opts); err != nil {
		return err
	}
	return unmarshal(data, v, opts)
}

// slowChecks runs the original checks one by one (surrogates, target,
// token walk); they decide whenever the fast path does not accept, and
// build the error.
func slowChecks(data []byte, rv reflect.Value, v any, opts Limits) error {
	if off := loneSurrogate(data); off >= 0 {
		return newError("", ErrInvalidUTF8, "unpaired surrogate escape at byte offset %d", off)
	}
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return newError("", ErrType, "decode target must be a non-nil pointer, got %T", v)
	}
	return walk(data, rv.Type().Elem(), opts)
}

func invalidUTF8Offset(data []byte) int {
	for i := 0; i < len(data); {
		r, n := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return -1
}

// unmarshal runs encoding/json as the last pass; after walk it should only
// fail for types with custom unmarshalers.
func unmarshal(data []byte, v any, opts Limits) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if !opts.AllowUnknownFields {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return newError(te.Field, ErrType, "got %s, want %s", te.Value, te.Type)
		}
		return &Error{Err: fmt.Errorf("%w: %v", ErrSyntax, err)}
	}
	return nil
}
