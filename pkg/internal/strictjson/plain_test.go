package strictjson_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
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

// TestRecordFillMatchesEncodingJSON checks the fast fill on the real
// record types: every predicate template and its statement decode to
// exactly what encoding/json gives.
func TestRecordFillMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	statements := 0
	for _, k := range record.Kinds() {
		tmpl := record.Template(k.Name)
		p, err := record.ParsePredicate(k.PredicateType, tmpl)
		if err != nil {
			t.Fatalf("%s: %v", k.Name, err)
		}
		want := reflect.New(reflect.TypeOf(p).Elem()).Interface()
		if err := json.Unmarshal(tmpl, want); err != nil || !reflect.DeepEqual(p, want) {
			t.Errorf("%s: fill gives %+v, encoding/json %+v (%v)", k.Name, p, want, err)
		}
		root := record.RunSubject(p.CommonFields().RunID, strings.Repeat("ab", 32))
		subjects, err := record.Subjects(k.PredicateType, tmpl, &root)
		if err != nil {
			t.Fatalf("%s subjects: %v", k.Name, err)
		}
		st, err := record.NewStatement(subjects, k.PredicateType, tmpl)
		if err != nil {
			continue // the template needs a particular run root (model-release)
		}
		statements++
		got, err := record.ParseStatement(st)
		if err != nil {
			t.Fatalf("%s ParseStatement: %v", k.Name, err)
		}
		var ws record.Statement
		if err := json.Unmarshal(st, &ws); err != nil {
			t.Fatal(err)
		}
		if got.Type != ws.Type || got.PredicateType != ws.PredicateType || !bytes.Equal(got.Predicate, ws.Predicate) ||
			!reflect.DeepEqual(got.Subject, ws.Subject) {
			t.Errorf("%s statement: fill gives %+v, encoding/json %+v", k.Name, got, &ws)
		}
	}
	if statements < len(record.Kinds())/2 {
		t.Errorf("only %d statements compared", statements)
	}
}
