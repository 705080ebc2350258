package record

import (
	"errors"
	"strings"
	"testing"
)

// predicateCase is an invalid predicate: the template of kind changed by
// edit, rejected with sentinel at path. schema says whether the JSON Schema
// can express the rule too (the schema test checks those agree).
type predicateCase struct {
	name     string
	kind     string
	edit     func(m map[string]any)
	sentinel error
	path     string
	schema   bool
}

func set(path string, v any) func(map[string]any) {
	return func(m map[string]any) {
		keys := strings.Split(path, ".")
		for _, k := range keys[:len(keys)-1] {
			m = m[k].(map[string]any)
		}
		m[keys[len(keys)-1]] = v
	}
}

func del(path string) func(map[string]any) {
	return func(m map[string]any) {
		keys := strings.Split(path, ".")
		for _, k := range keys[:len(keys)-1] {
			m = m[k].(map[string]any)
		}
		delete(m, keys[len(keys)-1])
	}
}

var predicateCases = []predicateCase{
	// common fields
	{"producer kind", "dataset", set("producer.kind", "robot"), ErrEnum, "producer.kind", true},
	{"attempt zero", "training-run", set("attempt", 0), ErrMissing, "attempt", true},
	{"attempt missing", "evaluation", del("attempt"), ErrMissing, "attempt", true},
	{"run id with space", "approval", set("runId", "run 1"), ErrFormat, "runId", true},
	{"run id in export", "export", set("runId", "r1"), ErrUnknownField, "runId", true},
	{"time evidence digest", "dataset", set("timeEvidence.digest", "sha256:XYZ"), ErrDigest, "timeEvidence.digest", true},
	{"producedAt with offset", "dataset", set("producedAt", "2026-11-27T10:00:00+00:00"), ErrTime, "producedAt", true},
	{"producedAt impossible date", "dataset", set("producedAt", "2026-02-30T10:00:00Z"), ErrTime, "producedAt", false},
	{"name too long", "dataset", set("name", strings.Repeat("n", MaxShort+1)), ErrTooLong, "name", true},
	{"external ref without id", "dataset", set("externalRefs", []any{map[string]any{"system": "mlflow"}}), ErrMissing, "externalRefs[0].id", true},
	// dataset
	{"dataset no sources", "dataset", set("sources", []any{}), ErrMissing, "sources", true},
	{"dataset empty licence", "dataset", set("licence", map[string]any{}), ErrMissing, "licence", true},
	{"dataset spdx", "dataset", set("licence", map[string]any{"spdx": "MIT OR"}), ErrFormat, "licence.spdx", true},
	{"dataset personal data without basis", "dataset", del("legalBasis"), ErrMissing, "legalBasis", true},
	{"dataset present missing", "dataset", del("personalData.present"), ErrMissing, "personalData.present", true},
	{"dataset deidentification", "dataset", set("personalData.deidentification", "hashed"), ErrEnum, "personalData.deidentification", true},
	{"dataset records decimal", "dataset", set("statistics.records", "1.2e6"), ErrDecimal, "statistics.records", true},
	{"dataset records number", "dataset", set("statistics.records", 1284113), ErrType, "statistics.records", true},
	{"dataset collection period", "dataset", set("sources", []any{map[string]any{"uri": "u",
		"collectionPeriod": map[string]any{"from": "2026-01-02T00:00:00Z", "to": "2026-01-01T00:00:00Z"}}}), ErrInconsistent, "sources[0].collectionPeriod", false},
	{"dataset content size", "dataset", set("content", []any{map[string]any{"name": "a",
		"digest": map[string]any{"sha256": rootHex}, "annotations": map[string]any{"size": -1}}}), ErrType, "content[0].annotations.size", true},
	// training-run
	{"training method", "training-run", set("method", "magic"), ErrEnum, "method", true},
	{"training flops", "training-run", set("compute.flops", "6.1x"), ErrDecimal, "compute.flops", true},
	{"training commit", "training-run", set("code.commit", "9fceb02"), ErrFormat, "code.commit", true},
	{"training hyperparameter type", "training-run", set("hyperparameters", map[string]any{"lr": 0.1}), ErrType, "hyperparameters.lr", true},
	{"training image digest", "training-run", set("containerImage.digest", "registry/x:latest"), ErrDigest, "containerImage.digest", true},
	{"training base model", "training-run", set("baseModel", map[string]any{}), ErrMissing, "baseModel", true},
	{"training no datasets", "training-run", set("datasets", []any{}), ErrMissing, "datasets", true},
	{"training nodes", "training-run", set("hardware.nodes", 0), ErrRange, "hardware.nodes", true},
	// evaluation-plan
	{"plan op", "evaluation-plan", set("metrics", []any{map[string]any{"metric": "m", "op": "=>", "threshold": "1"}}), ErrFormat, "metrics[0].op", true},
	{"plan unknown benchmark", "evaluation-plan", set("metrics", []any{map[string]any{"benchmark": "other", "metric": "m", "op": ">=", "threshold": "1"}}), ErrInconsistent, "metrics[0].benchmark", false},
	{"plan role", "evaluation-plan", set("signedByRole", "Reviewer"), ErrFormat, "signedByRole", true},
	// evaluation
	{"evaluation verdict", "evaluation", set("verdict", "passed"), ErrEnum, "verdict", true},
	{"evaluation value", "evaluation", set("metrics", []any{map[string]any{"name": "exact_match", "value": "0.8.7"}}), ErrDecimal, "metrics[0].value", true},
	{"evaluation pass below threshold", "evaluation", set("metrics", []any{map[string]any{"name": "exact_match", "value": "0.849"}}), ErrInconsistent, "thresholds[0]", false},
	{"evaluation plan digest", "evaluation", set("plan", "c3ab8ff1"), ErrDigest, "plan", true},
	// model-release
	{"release no weights", "model-release", set("weights", []any{}), ErrMissing, "weights", true},
	{"release duplicate run", "model-release", set("runs", []any{"sha256:" + rootHex, "sha256:" + rootHex}), ErrDuplicate, "runs[1]", true},
	{"release no attempt", "model-release", del("attempt"), ErrMissing, "attempt", true},
	{"release no runId", "model-release", del("runId"), ErrMissing, "runId", true},
	// approval
	{"approval meaning", "approval", set("meaning", "blessing"), ErrEnum, "meaning", true},
	{"approval decision", "approval", set("decision", "approved"), ErrEnum, "decision", true},
	{"approval conditions missing", "approval", del("conditions"), ErrMissing, "conditions", true},
	{"approval printed name", "approval", set("signer.printedName", ""), ErrMissing, "signer.printedName", true},
	{"approval unsorted", "approval", set("reviewedRecords", []any{"sha256:" + strings.Repeat("b", 64), "sha256:" + strings.Repeat("a", 64)}), ErrNotSorted, "reviewedRecords", false},
	{"approval duplicate", "approval", set("reviewedRecords", []any{"sha256:" + rootHex, "sha256:" + rootHex}), ErrDuplicate, "reviewedRecords[1]", true},
	{"approval expiry", "approval", set("expiresAt", "2026-11-28T09:05:12Z"), ErrInconsistent, "expiresAt", false},
	{"approval withdraw without target", "approval", func(m map[string]any) { m["decision"] = "withdraw"; delete(m, "conditions") }, ErrMissing, "withdraws", true},
	// export
	{"export count", "export", set("recordCount", 0), ErrRange, "recordCount", true},
	{"transfer spool digest", "transfer", set("spool", "sha256:00"), ErrDigest, "spool", true},
	{"transfer carrier", "transfer", del("carriedBy.name"), ErrMissing, "carriedBy.name", true},
	{"transfer imported > count", "transfer", set("imported", 7), ErrRange, "imported", false},
	{"transfer runId", "transfer", set("runId", "r"), ErrUnknownField, "runId", true},
	{"export list digest", "export", set("recordListDigest", "sha512:00"), ErrDigest, "recordListDigest", true},
	{"export recipient", "export", del("recipient.organisation"), ErrMissing, "recipient.organisation", true},
	// export-sealed, package
	{"sealed root hash", "export-sealed", set("checkpoint.rootHash", "abc"), ErrFormat, "checkpoint.rootHash", true},
	{"sealed package digest", "export-sealed", set("package", "sha256:00"), ErrDigest, "package", true},
	{"package tree size", "package", set("checkpoint.size", 0), ErrRange, "checkpoint.size", true},
	{"package runId", "package", set("runId", "r"), ErrUnknownField, "runId", true},
	{"package index digest", "package", del("packageIndex"), ErrMissing, "packageIndex", true},
	// time-evidence
	{"time verdict", "time-evidence", set("verdict", "ok"), ErrEnum, "verdict", true},
	{"time offset type", "time-evidence", set("offsetNs", "-412000"), ErrType, "offsetNs", true},
	{"time checkedAt", "time-evidence", set("checkedAt", "2026-11-27 09:00:00Z"), ErrTime, "checkedAt", true},
	{"time runId", "time-evidence", set("runId", "r"), ErrUnknownField, "runId", true},
	{"time source missing t1", "time-evidence", func(m map[string]any) {
		delete(m["sources"].([]any)[0].(map[string]any), "t1")
	}, ErrMissing, "sources[0].t1", true},
	{"time leap", "time-evidence", func(m map[string]any) {
		m["sources"].([]any)[2].(map[string]any)["leap"] = 7
	}, ErrRange, "sources[2].leap", true},
	// run-closed
	{"run-closed status", "run-closed", set("status", "done"), ErrEnum, "status", true},
	{"run-closed failed without reason", "run-closed", func(m map[string]any) { m["status"] = "failed"; delete(m, "reason") }, ErrMissing, "reason", true},
	{"run-closed exit code", "run-closed", set("exitCode", 1.5), ErrType, "exitCode", true},
	// correction
	{"correction supersedes", "correction", set("supersedes", ""), ErrMissing, "supersedes", true},
	{"correction self", "correction", set("replacement", "sha256:a1fce4363854ff888cff4b8e7875d600c2682390412a8cf79b37d0b11148b0fa"), ErrInconsistent, "replacement", false},
	{"correction field without value", "correction", set("fields", []any{map[string]any{"path": "x"}}), ErrMissing, "fields[0].value", true},
	// attachment
	{"attachment kind", "attachment", set("documentKind", "report"), ErrEnum, "documentKind", true},
	{"attachment size", "attachment", del("document.annotations"), ErrMissing, "document.annotations.size", true},
	{"attachment media type", "attachment", del("document.mediaType"), ErrMissing, "document.mediaType", true},
	// deployment
	{"deployment time", "deployment", set("deployedAt", "2026-12-01T07:29:41"), ErrTime, "deployedAt", true},
	{"deployment weights", "deployment", set("weights", "18ac3e73"), ErrDigest, "weights", true},
	{"deployment environment", "deployment", set("environment", "Prod Env"), ErrFormat, "environment", true},
}

func TestPredicateErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range predicateCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			k, ok := LookupKind(tc.kind)
			if !ok {
				t.Fatalf("kind %s", tc.kind)
			}
			_, err := ValidatePredicate(k.PredicateType, mutate(t, tc.kind, tc.edit))
			if !errors.Is(err, tc.sentinel) || !hasFinding(err, tc.sentinel, tc.path) {
				t.Fatalf("ValidatePredicate = %v, want %v at %q", err, tc.sentinel, tc.path)
			}
		})
	}
}

func TestValidatePredicateUnknownType(t *testing.T) {
	t.Parallel()
	if _, err := ValidatePredicate("https://dossier.dev/predicates/keyring/v1", []byte(`{}`)); !errors.Is(err, ErrUnknownPredicateType) {
		t.Fatalf("got %v, want ErrUnknownPredicateType", err)
	}
}
