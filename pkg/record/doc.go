// Package record is Dossier's record model: the in-toto Statement v1
// profile every record uses, and one typed, strictly parsed and validated
// predicate per record kind (dataset, training-run, evaluation-plan,
// evaluation, model-release, approval, export, time-evidence, run-closed,
// correction, attachment, deployment).
//
// The normative description of each predicate is spec/predicates/<kind>.md
// with its JSON Schema beside it; the tests check that schema and code agree.
//
// Parsing is strict (see pkg/internal/strictjson): duplicate keys, keys in
// the wrong case, unknown fields, wrong types, missing required fields,
// invalid UTF-8, trailing data and oversize input are rejected. Validation
// then checks formats (sha256 digests, RFC 3339 UTC times with Z, decimal
// strings), enumerations, limits and cross-field rules, and reports every
// problem at once as *FieldError values joined with errors.Join, each with
// the JSON path of the offending value. Findings flattens them for display.
//
// The package depends on the standard library only; it neither signs nor
// fetches anything.
package record
