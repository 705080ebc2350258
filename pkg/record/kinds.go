package record

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/dossier-audit/dossier/pkg/internal/strictjson"
)

// PredicateTypePrefix is the common prefix of Dossier predicate type URIs:
// kind K has the type PredicateTypePrefix + K + "/v1".
const PredicateTypePrefix = "https://dossier.dev/predicates/"

// Predicate is implemented by the typed predicate of every kind. Validate
// reports every problem found, each a *FieldError, joined.
type Predicate interface {
	Validate() error
	// CommonFields returns the fields shared by all kinds (for
	// time-evidence: ProducedAt = checkedAt, nothing else).
	CommonFields() Common
}

// Kind describes one record kind.
type Kind struct {
	Name          string `json:"kind"`
	PredicateType string `json:"predicateType"`
	Summary       string `json:"summary"`
	// RunScoped kinds carry runId and attempt, and their statement's
	// subject[0] is the run root "run:<runId>".
	RunScoped bool `json:"runScoped"`

	newPredicate func() Predicate
	template     string
	// subject derives subject[0] from the predicate for kinds that are not
	// run-scoped.
	subject func(raw []byte, p Predicate) (ResourceDescriptor, error)
	// extra derives the required subject[1..] from the predicate; nil when
	// further subjects are free (the statement profile allows them).
	extra func(p Predicate) []ResourceDescriptor
	// runCheck checks the run root subject[0] of a run-scoped kind against
	// the predicate beyond its name.
	runCheck func(c *checker, root ResourceDescriptor, p Predicate)
}

func predicateType(kind string) string { return PredicateTypePrefix + kind + "/v1" }

var kinds = []Kind{
	{Name: "dataset", Summary: "provenance of one dataset: sources, licence, legal basis, preprocessing, content digests", RunScoped: true,
		newPredicate: func() Predicate { return new(Dataset) }, template: datasetTemplate},
	{Name: "training-run", Summary: "how a run trained: base model, method, hyper-parameters, code, environment, compute, data, outputs", RunScoped: true,
		newPredicate: func() Predicate { return new(TrainingRun) }, template: trainingRunTemplate},
	{Name: "evaluation-plan", Summary: "benchmarks and pass thresholds fixed before evaluation", RunScoped: true,
		newPredicate: func() Predicate { return new(EvaluationPlan) }, template: evaluationPlanTemplate},
	{Name: "evaluation", Summary: "results of one benchmark with the thresholds applied and a verdict", RunScoped: true,
		newPredicate: func() Predicate { return new(Evaluation) }, template: evaluationTemplate},
	{Name: "model-release", Summary: "a released model version: weights, runs it comes from, risk tier, intended use", RunScoped: true,
		newPredicate: func() Predicate { return new(ModelRelease) }, template: modelReleaseTemplate,
		extra: releaseSubjects, runCheck: releaseRunListed},
	{Name: "approval", Summary: "an electronic signature (21 CFR 11.50) over a set of records: who, when, meaning, decision", RunScoped: true,
		newPredicate: func() Predicate { return new(Approval) }, template: approvalTemplate},
	{Name: "export", Summary: "an export of records to a recipient: who, why, which runs, which records",
		newPredicate: func() Predicate { return new(Export) }, template: exportTemplate, subject: exportSubject},
	{Name: "time-evidence", Summary: "an NTP time-quality check: sources, offsets, error bound, verdict",
		newPredicate: func() Predicate { return new(TimeEvidence) }, template: timeEvidenceTemplate, subject: timeEvidenceSubject},
	{Name: "run-closed", Summary: "the end of a run: completed, failed or aborted", RunScoped: true,
		newPredicate: func() Predicate { return new(RunClosed) }, template: runClosedTemplate},
	{Name: "correction", Summary: "supersedes an earlier record of the run (never deletes it), with the reason", RunScoped: true,
		newPredicate: func() Predicate { return new(Correction) }, template: correctionTemplate},
	{Name: "attachment", Summary: "a content-addressed document attached to a run (report, datasheet, licence, ...)", RunScoped: true,
		newPredicate: func() Predicate { return new(Attachment) }, template: attachmentTemplate},
	{Name: "export-sealed", Summary: "a sealed export: the package digest and the checkpoint its proofs are against",
		newPredicate: func() Predicate { return new(ExportSealed) }, template: exportSealedTemplate, subject: exportSealedSubject},
	{Name: "package", Summary: "the package attestation: binds a package index to its export record and checkpoint",
		newPredicate: func() Predicate { return new(Package) }, template: packageTemplate, subject: packageSubject},
	{Name: "deployment", Summary: "a released model deployed to an environment",
		newPredicate: func() Predicate { return new(Deployment) }, template: deploymentTemplate, subject: deploymentSubject},
	{Name: "receipt", Summary: "the ingest daemon's receipt for an accepted record: stream position, receipt time, time verdict, submitter",
		newPredicate: func() Predicate { return new(Receipt) }, template: receiptTemplate, subject: receiptSubject},
	{Name: "transfer", Summary: "an air-gap spool imported: who carried which records, packed where and when, imported by whom", newPredicate: func() Predicate { return new(Transfer) }, template: transferTemplate, subject: transferSubject},
}

func init() {
	for i := range kinds {
		kinds[i].PredicateType = predicateType(kinds[i].Name)
	}
}

// Kinds lists every record kind, in a fixed order.
func Kinds() []Kind { return append([]Kind(nil), kinds...) }

// KindOf returns the kind whose predicate type URI is predicateType.
func KindOf(predicateType string) (Kind, bool) {
	for _, k := range kinds {
		if k.PredicateType == predicateType {
			return k, true
		}
	}
	return Kind{}, false
}

// LookupKind finds a kind by its name ("dataset") or its predicate type URI.
func LookupKind(nameOrType string) (Kind, bool) {
	for _, k := range kinds {
		if k.Name == nameOrType || k.PredicateType == nameOrType {
			return k, true
		}
	}
	return Kind{}, false
}

// KindNames returns the names of all kinds, in the order of Kinds.
func KindNames() []string {
	names := make([]string, len(kinds))
	for i, k := range kinds {
		names[i] = k.Name
	}
	return names
}

// ParsePredicate strictly decodes and validates a predicate of the given
// type and returns it typed (*Dataset, *TrainingRun, ...). Every field
// whose JSON tag lacks omitempty is required.
func ParsePredicate(predicateType string, predicate []byte) (Predicate, error) {
	k, ok := KindOf(predicateType)
	if !ok {
		return nil, fieldErr("", ErrUnknownPredicateType, "%q", predicateType)
	}
	return k.parse(predicate)
}

func (k Kind) parse(predicate []byte) (Predicate, error) {
	p := k.newPredicate()
	limits := strictjson.Limits{MaxBytes: MaxStatementBytes, RequireFields: true, RejectNull: true}
	if err := strictjson.Decode(predicate, p, limits); err != nil {
		return nil, fromStrict("", err)
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return p, nil
}

// ValidatePredicate checks a predicate of the given type and returns its
// common fields.
func ValidatePredicate(predicateType string, predicate []byte) (Common, error) {
	p, err := ParsePredicate(predicateType, predicate)
	if err != nil {
		return Common{}, err
	}
	return p.CommonFields(), nil
}

// Template returns a realistic, valid example predicate of kind (a name or
// a predicate type URI), indented, ending in a newline; nil for an unknown
// kind.
func Template(kind string) []byte {
	k, ok := LookupKind(kind)
	if !ok {
		return nil
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, []byte(strings.TrimSpace(k.template)), "", "  "); err != nil {
		panic(fmt.Sprintf("record: template of %s is not JSON: %v", k.Name, err))
	}
	buf.WriteByte('\n')
	return buf.Bytes()
}
