package verify

import (
	"github.com/dossier-audit/dossier/pkg/internal/strictjson"
)

// decodeStrict decodes b into v (a pointer to a fresh value) strictly:
// no duplicate, unknown, case-variant or missing member, valid UTF-8,
// within the limits. strictjson accepts well-formed input in one pass and
// re-runs its precise checks only to report a problem, which measured
// faster than the former canonical re-encoding fast path.
func decodeStrict(b []byte, v any, lim strictjson.Limits) error {
	return strictjson.Decode(b, v, lim)
}
