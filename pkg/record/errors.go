package record

import (
	"errors"
	"fmt"

	"github.com/dossier-audit/dossier/pkg/internal/strictjson"
)

// Sentinels of strict decoding. Every parse or validation error of this
// package wraps one of the sentinels below in a *FieldError (several are
// joined with errors.Join when a document has more than one problem);
// branch with errors.Is and find the location with errors.As or Findings.
var (
	ErrTooLarge     = strictjson.ErrTooLarge     // document over its size limit
	ErrInvalidUTF8  = strictjson.ErrInvalidUTF8  // bytes that are not UTF-8
	ErrSyntax       = strictjson.ErrSyntax       // not JSON, or empty
	ErrTrailingData = strictjson.ErrTrailingData // a second value after the document
	ErrTooDeep      = strictjson.ErrTooDeep      // nesting deeper than the limit
	ErrDuplicateKey = strictjson.ErrDuplicateKey // a key twice in one object
	ErrUnknownField = strictjson.ErrUnknownField // a key the format does not define (or with the wrong case)
	ErrType         = strictjson.ErrType         // a value of the wrong JSON type
	ErrMissing      = strictjson.ErrMissingField // a required field absent or empty
)

// Sentinels of validation.
var (
	ErrStatementType        = errors.New("not an in-toto v1 statement")
	ErrNoSubject            = errors.New("statement has no subject")
	ErrTooManySubjects      = errors.New("too many subjects")
	ErrSubjectMismatch      = errors.New("subject does not match the predicate")
	ErrUnknownPredicateType = errors.New("unknown predicate type")
	ErrWrongPredicateType   = errors.New("unexpected predicate type") // known, but not the one the caller asked for
	ErrUnknownKind          = errors.New("unknown record kind")
	ErrRunScoped            = errors.New("kind is run-scoped")
	ErrTooLong              = errors.New("value too long")
	ErrTooMany              = errors.New("too many entries")
	ErrDigest               = errors.New("invalid digest")
	ErrTime                 = errors.New("invalid time")
	ErrDecimal              = errors.New("invalid decimal string")
	ErrEnum                 = errors.New("value not allowed")
	ErrFormat               = errors.New("invalid format")
	ErrRange                = errors.New("value out of range")
	ErrDuplicate            = errors.New("duplicate entry")
	ErrNotSorted            = errors.New("entries not sorted")
	ErrInconsistent         = errors.New("fields contradict each other")
)

// FieldError locates a problem in a statement or predicate: Path is a JSON
// path such as "predicate.datasets[2].licence" (empty for the whole
// document) and Err wraps one of the sentinels.
type FieldError struct {
	Path string
	Err  error
}

func (e *FieldError) Error() string {
	if e.Path == "" {
		return e.Err.Error()
	}
	return e.Path + ": " + e.Err.Error()
}

// Unwrap returns the wrapped error.
func (e *FieldError) Unwrap() error { return e.Err }

// Finding is one problem of a document in a form fit for reports and JSON
// output.
type Finding struct {
	Path    string `json:"path"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

var codes = []struct {
	err  error
	code string
}{
	{ErrTooLarge, "too-large"}, {ErrInvalidUTF8, "invalid-utf8"}, {ErrSyntax, "syntax"},
	{ErrTrailingData, "trailing-data"}, {ErrTooDeep, "too-deep"}, {ErrDuplicateKey, "duplicate-key"},
	{ErrUnknownField, "unknown-field"}, {ErrType, "type"}, {ErrMissing, "missing"},
	{ErrStatementType, "statement-type"}, {ErrNoSubject, "no-subject"},
	{ErrTooManySubjects, "too-many-subjects"}, {ErrSubjectMismatch, "subject-mismatch"},
	{ErrUnknownPredicateType, "unknown-predicate-type"},
	{ErrWrongPredicateType, "wrong-predicate-type"}, {ErrUnknownKind, "unknown-kind"}, {ErrRunScoped, "run-scoped"},
	{ErrTooLong, "too-long"}, {ErrTooMany, "too-many"}, {ErrDigest, "digest"}, {ErrTime, "time"},
	{ErrDecimal, "decimal"}, {ErrEnum, "enum"}, {ErrFormat, "format"}, {ErrRange, "range"},
	{ErrDuplicate, "duplicate"}, {ErrNotSorted, "not-sorted"}, {ErrInconsistent, "inconsistent"},
}

// Findings flattens an error returned by this package (possibly several
// joined) into one Finding per problem, in order. A nil error has none.
func Findings(err error) []Finding {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []Finding
		for _, e := range j.Unwrap() {
			out = append(out, Findings(e)...)
		}
		return out
	}
	f := Finding{Message: err.Error(), Code: "invalid"}
	var fe *FieldError
	if errors.As(err, &fe) {
		f.Path, f.Message = fe.Path, fe.Err.Error()
	}
	for _, c := range codes {
		if errors.Is(err, c.err) {
			f.Code = c.code
			break
		}
	}
	return []Finding{f}
}

// fromStrict converts a strictjson error into a FieldError under prefix.
func fromStrict(prefix string, err error) error {
	var se *strictjson.Error
	if errors.As(err, &se) {
		return &FieldError{Path: joinPath(prefix, se.Path), Err: se.Err}
	}
	return &FieldError{Path: prefix, Err: err}
}

// prefixed re-roots every FieldError in err under prefix.
func prefixed(prefix string, err error) error {
	if err == nil || prefix == "" {
		return err
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var errs []error
		for _, e := range j.Unwrap() {
			errs = append(errs, prefixed(prefix, e))
		}
		return errors.Join(errs...)
	}
	var fe *FieldError
	if errors.As(err, &fe) {
		return &FieldError{Path: joinPath(prefix, fe.Path), Err: fe.Err}
	}
	return &FieldError{Path: prefix, Err: err}
}

func joinPath(prefix, path string) string {
	switch {
	case prefix == "":
		return path
	case path == "":
		return prefix
	case path[0] == '[':
		return prefix + path
	}
	return prefix + "." + path
}

func fieldErr(path string, sentinel error, format string, args ...any) *FieldError {
	if format == "" {
		return &FieldError{Path: path, Err: sentinel}
	}
	return &FieldError{Path: path, Err: fmt.Errorf("%w: "+format, append([]any{sentinel}, args...)...)}
}
