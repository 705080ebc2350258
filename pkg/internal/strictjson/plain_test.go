package strictjson_test

import (
	"reflect"
	"testing"

	"github.com/dossier-audit/dossier/pkg/internal/strictjson"
	"github.com/dossier-audit/dossier/pkg/record"
)

// TestRecordTypesPlain guards the fast fill for the hot types: every
// record predicate and the statement must stay plain, or verification
// falls back to encoding/json and loses its speed.
func TestRecordTypesPlain(t *testing.T) {
	t.Parallel()
	if !strictjson.IsPlain(reflect.TypeFor[record.Statement]()) {
		t.Error("record.Statement is not plain")
	}
	for _, k := range record.Kinds() {
		p, err := record.ParsePredicate(k.PredicateType, record.Template(k.Name))
		if err != nil {
			t.Fatalf("%s template: %v", k.Name, err)
		}
		if typ := reflect.TypeOf(p).Elem(); !strictjson.IsPlain(typ) {
			t.Errorf("%s: %s is not plain", k.Name, typ)
		}
	}
}
