package record

import "math/big"

// Evaluation is the predicate of kind "evaluation": the results of one
// benchmark run against a model, the thresholds the pipeline applied and
// its verdict (EU AI Act Annex IV 2(g), SR 11-7 validation, GMLP).
type Evaluation struct {
	Common
	Plan       string              `json:"plan,omitempty"`
	Benchmark  Benchmark           `json:"benchmark"`
	Model      *ResourceDescriptor `json:"model,omitempty"`
	Dataset    *ResourceDescriptor `json:"dataset,omitempty"`
	Metrics    []Metric            `json:"metrics"`
	Thresholds []MetricThreshold   `json:"thresholds,omitempty"`
	Verdict    string              `json:"verdict"`
}

// Metric is one measured value, as a decimal string.
type Metric struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	Unit  string `json:"unit,omitempty"`
}

// CommonFields returns the common fields.
func (p *Evaluation) CommonFields() Common { return p.Common }

// Validate checks the predicate; see spec/predicates/evaluation.md. A
// verdict of pass with a threshold the metrics do not meet is
// ErrInconsistent.
func (p *Evaluation) Validate() error {
	c := &checker{}
	c.common(&p.Common, true)
	c.digest("plan", p.Plan, false)
	c.benchmark("benchmark", p.Benchmark)
	if p.Model != nil {
		c.rd("model", p.Model, true)
	}
	if p.Dataset != nil {
		c.rd("dataset", p.Dataset, true)
	}
	c.count("metrics", len(p.Metrics), true, MaxList)
	values := map[string]*big.Rat{}
	for i, m := range p.Metrics {
		path := index("metrics", i)
		c.str(path+".name", m.Name, true, MaxShort)
		c.str(path+".unit", m.Unit, false, 64)
		if _, dup := values[m.Name]; dup {
			c.add(path+".name", ErrDuplicate, "metric %q listed twice", m.Name)
		}
		values[m.Name], _ = c.decimal(path+".value", m.Value, true)
	}
	c.enum("verdict", p.Verdict, true, "pass", "fail", "inconclusive")
	c.count("thresholds", len(p.Thresholds), false, MaxList)
	for i, t := range p.Thresholds {
		c.applied(index("thresholds", i), t, values, p.Verdict)
	}
	return c.err()
}

// applied checks one threshold against the measured metrics and verdict.
func (c *checker) applied(path string, t MetricThreshold, values map[string]*big.Rat, verdict string) {
	c.threshold(path, t)
	v, known := values[t.Metric]
	if !known {
		c.add(path+".metric", ErrInconsistent, "%q is not in metrics", t.Metric)
		return
	}
	limit, ok := new(big.Rat).SetString(t.Threshold)
	if v == nil || !ok || !reDecimal.MatchString(t.Threshold) || !reMetricOp.MatchString(t.Op) {
		return
	}
	if verdict == "pass" && !meets(v, t.Op, limit) {
		c.add(path, ErrInconsistent, "verdict is pass but %s %s %s does not hold for value %s",
			t.Metric, t.Op, t.Threshold, v.FloatString(6))
	}
}

func meets(v *big.Rat, op string, limit *big.Rat) bool {
	cmp := v.Cmp(limit)
	switch op {
	case ">=":
		return cmp >= 0
	case ">":
		return cmp > 0
	case "<=":
		return cmp <= 0
	case "<":
		return cmp < 0
	}
	return cmp == 0
}

const evaluationTemplate = `{
 "runId": "llama3-ft-2026-11-27-001", "attempt": 1, "producedAt": "2026-11-27T20:03:11Z",
 "producer": {"id": "workload:pipeline/eval", "name": "evaluation pipeline", "kind": "workload"},
 "timeEvidence": {"digest": "sha256:4d7a9e1c3b5f2a6d8e0c1b3a5f7e9d2c4b6a8f0e1d3c5b7a9f2e4d6c8b0a1f3e"},
 "plan": "sha256:c3ab8ff13720e8ad9047dd39466b3c8974e592c2fa383d4a3960714caef0c4f2",
 "benchmark": {"name": "support-qa-de", "version": "3"},
 "model": {"name": "adapter_model.safetensors", "digest": {"sha256": "18ac3e7343f016890c510e93f935261169d9e3f565436429830faf0934f4f8e4"}},
 "dataset": {"name": "support-qa-de-test.jsonl", "digest": {"sha256": "2e7d2c03a9507ae265ecf5b5356885a53393a2029d241394997265a1a25aefc6"}},
 "metrics": [{"name": "exact_match", "value": "0.873"}, {"name": "latency_p95", "value": "412", "unit": "ms"}],
 "thresholds": [{"metric": "exact_match", "op": ">=", "threshold": "0.85"}],
 "verdict": "pass"
}`
