package strictjson

import "reflect"

// IsPlain reports whether Decode fills t itself (see fill.go).
func IsPlain(t reflect.Type) bool { return plainPlan(t) != nil }
