package verify

import (
	"bytes"
	"encoding/json"
	"reflect"

	"github.com/dossier-audit/dossier/pkg/internal/strictjson"
)

// decodeStrict decodes b into v (a pointer to a fresh value) strictly.
//
// Fast path: when encoding/json decodes b and re-encodes v to exactly b,
// b is canonical — no duplicate, unknown, case-variant or missing member,
// no invalid UTF-8, no insignificant space — so it is unambiguous and the
// strict walk would accept it with the same meaning. Writers of packages
// produce that form (Go encoding/json of the same types). Anything else
// takes the full strictjson path.
func decodeStrict(b []byte, v any, lim strictjson.Limits) error {
	if len(b) <= lim.MaxBytes && json.Unmarshal(b, v) == nil {
		if again, err := json.Marshal(v); err == nil && bytes.Equal(again, b) {
			return nil
		}
	}
	reflect.ValueOf(v).Elem().SetZero()
	return strictjson.Decode(b, v, lim)
}
