package record

// EvaluationPlan is the predicate of kind "evaluation-plan": which model
// is to be evaluated on which benchmarks, with which pass thresholds, fixed
// and signed before any result exists (EU AI Act Annex IV 2(g), FDA
// credibility plan, SR 11-7 effective challenge).
type EvaluationPlan struct {
	Common
	Scope        PlanScope         `json:"scope"`
	Benchmarks   []Benchmark       `json:"benchmarks"`
	Metrics      []MetricThreshold `json:"metrics"`
	SignedByRole string            `json:"signedByRole"`
}

// PlanScope names what the plan evaluates.
type PlanScope struct {
	ModelID string              `json:"modelId"`
	Model   *ResourceDescriptor `json:"model,omitempty"`
}

// Benchmark is one benchmark, optionally with its dataset.
type Benchmark struct {
	Name    string              `json:"name"`
	Version string              `json:"version,omitempty"`
	Dataset *ResourceDescriptor `json:"dataset,omitempty"`
}

// MetricThreshold is a pass criterion: metric Op Threshold, e.g.
// exact_match >= 0.85.
type MetricThreshold struct {
	Benchmark string `json:"benchmark,omitempty"`
	Metric    string `json:"metric"`
	Op        string `json:"op"`
	Threshold string `json:"threshold"`
}

// CommonFields returns the common fields.
func (p *EvaluationPlan) CommonFields() Common { return p.Common }

// Validate checks the predicate; see spec/predicates/evaluation-plan.md.
func (p *EvaluationPlan) Validate() error {
	c := &checker{}
	c.common(&p.Common, true)
	c.str("scope.modelId", p.Scope.ModelID, true, MaxShort)
	if p.Scope.Model != nil {
		c.rd("scope.model", p.Scope.Model, true)
	}
	c.count("benchmarks", len(p.Benchmarks), true, 256)
	names := map[string]bool{}
	for i, b := range p.Benchmarks {
		path := index("benchmarks", i)
		c.benchmark(path, b)
		if names[b.Name] {
			c.add(path+".name", ErrDuplicate, "benchmark %q listed twice", b.Name)
		}
		names[b.Name] = true
	}
	c.count("metrics", len(p.Metrics), true, MaxList)
	for i, m := range p.Metrics {
		path := index("metrics", i)
		c.threshold(path, m)
		if m.Benchmark != "" && !names[m.Benchmark] {
			c.add(path+".benchmark", ErrInconsistent, "%q is not in benchmarks", m.Benchmark)
		}
	}
	c.match("signedByRole", p.SignedByRole, true, 64, reRole, "a role name like reviewer")
	return c.err()
}

func (c *checker) benchmark(path string, b Benchmark) {
	c.str(path+".name", b.Name, true, MaxShort)
	c.str(path+".version", b.Version, false, MaxShort)
	if b.Dataset != nil {
		c.rd(path+".dataset", b.Dataset, true)
	}
}

func (c *checker) threshold(path string, m MetricThreshold) {
	c.str(path+".benchmark", m.Benchmark, false, MaxShort)
	c.str(path+".metric", m.Metric, true, MaxShort)
	c.match(path+".op", m.Op, true, 2, reMetricOp, "one of >= > <= < ==")
	c.decimal(path+".threshold", m.Threshold, true)
}

const evaluationPlanTemplate = `{
 "runId": "llama3-ft-2026-11-27-001", "attempt": 1, "producedAt": "2026-11-26T16:00:00Z",
 "producer": {"id": "person:e12345", "name": "Jane Q. Doe", "kind": "person"},
 "scope": {"modelId": "support-assistant-de",
  "model": {"name": "adapter_model.safetensors", "digest": {"sha256": "18ac3e7343f016890c510e93f935261169d9e3f565436429830faf0934f4f8e4"}}},
 "benchmarks": [
  {"name": "support-qa-de", "version": "3", "dataset": {"name": "support-qa-de-test.jsonl", "digest": {"sha256": "2e7d2c03a9507ae265ecf5b5356885a53393a2029d241394997265a1a25aefc6"}}},
  {"name": "toxicity-de", "version": "1"}],
 "metrics": [
  {"benchmark": "support-qa-de", "metric": "exact_match", "op": ">=", "threshold": "0.85"},
  {"benchmark": "toxicity-de", "metric": "toxic_rate", "op": "<=", "threshold": "0.001"}],
 "signedByRole": "reviewer"
}`
