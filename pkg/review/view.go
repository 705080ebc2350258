package review

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/dossier-audit/dossier/pkg/policy"
	"github.com/dossier-audit/dossier/pkg/record"
)

// view is the document's model; everything in it is ordered.
type view struct {
	RunID, RunRoot, PreviousLabel string
	Reviewed                      []string
	Records                       []row
	Releases                      []*record.ModelRelease
	Datasets                      []*record.Dataset
	Training                      []training
	Plans                         []plan
	Evaluations                   []evalRow
	Time                          []*record.TimeEvidence
	Attachments                   []*record.Attachment
	Approvals                     []*record.Approval
	Diff                          []change
	HasPrevious                   bool
	Manifest                      string
	Full                          []full
}

type row struct {
	Index                        uint64
	Kind, Digest, Signer, Signed string
}

type training struct {
	*record.TrainingRun
	Hyper []kv
}

type kv struct{ Key, Value string }

type plan struct {
	Digest string
	*record.EvaluationPlan
}

// evalRow is one measured metric of one evaluation, judged against the
// plan that governs the evaluation.
type evalRow struct {
	Digest, Benchmark, Metric, Value, Plan, Pipeline, Result string
}

// full is a record shown whole: its predicate as indented JSON.
type full struct {
	Digest, Kind string
	Predicate    record.Predicate
}

func build(in Input) (*view, error) {
	if err := check(in); err != nil {
		return nil, err
	}
	recs := slices.Clone(in.Records)
	slices.SortStableFunc(recs, func(a, b policy.Record) int { return cmp.Compare(a.LogIndex, b.LogIndex) })
	v := &view{RunID: in.RunID, RunRoot: in.RunRoot, PreviousLabel: in.PreviousLabel,
		Reviewed: reviewed(recs), HasPrevious: len(in.Previous) > 0}
	plans := slices.DeleteFunc(slices.Clone(recs), func(r policy.Record) bool {
		_, ok := r.Predicate.(*record.EvaluationPlan)
		return !ok
	})
	owners := map[string]string{}
	v.Records = make([]row, 0, len(recs))
	v.Full = make([]full, 0, len(recs))
	for _, r := range recs {
		signed, ok := owners[r.Signer]
		if !ok {
			signed = signedBy(in, r.Signer)
			owners[r.Signer] = signed
		}
		v.Records = append(v.Records, row{Index: r.LogIndex, Kind: r.Kind, Digest: r.Digest, Signer: r.Signer, Signed: signed})
		v.add(plans, r)
	}
	diff, err := diffRecords(in.Previous, recs)
	if err != nil {
		return nil, err
	}
	v.Diff = diff
	if v.Manifest, err = manifestJSON(v); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInput, err)
	}
	return v, nil
}

func signedBy(in Input, fp string) string {
	o, ok := in.Owners[fp]
	if !ok {
		return "(owner not given)"
	}
	return o.Name + " (" + o.PersonID + ", team " + o.Team + ")"
}

// add files one record under its section and its full predicate; plans
// are the evaluation plans among recs.
func (v *view) add(plans []policy.Record, r policy.Record) {
	v.Full = append(v.Full, full{Digest: r.Digest, Kind: r.Kind, Predicate: r.Predicate})
	switch p := r.Predicate.(type) {
	case *record.ModelRelease:
		v.Releases = append(v.Releases, p)
	case *record.Dataset:
		v.Datasets = append(v.Datasets, p)
	case *record.TrainingRun:
		v.Training = append(v.Training, training{TrainingRun: p, Hyper: sortedKV(p.Hyperparameters)})
	case *record.EvaluationPlan:
		v.Plans = append(v.Plans, plan{Digest: r.Digest, EvaluationPlan: p})
	case *record.Evaluation:
		v.Evaluations = append(v.Evaluations, evalRows(plans, r, p)...)
	case *record.TimeEvidence:
		v.Time = append(v.Time, p)
	case *record.Attachment:
		v.Attachments = append(v.Attachments, p)
	case *record.Approval:
		v.Approvals = append(v.Approvals, p)
	}
}

func sortedKV(m map[string]string) []kv {
	var out []kv
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, kv{k, m[k]})
	}
	return out
}

// evalRows judges each metric of an evaluation against its governing plan
// (the plan it cites, else the newest plan logged before it); plans are
// the run's evaluation plans in log order.
func evalRows(plans []policy.Record, r policy.Record, ev *record.Evaluation) []evalRow {
	var governing *record.EvaluationPlan
	for _, p := range plans {
		pl, ok := p.Predicate.(*record.EvaluationPlan)
		if ok && p.LogIndex < r.LogIndex && (ev.Plan == "" || ev.Plan == p.Digest) {
			governing = pl
		}
	}
	var out []evalRow
	for _, m := range ev.Metrics {
		row := evalRow{Digest: r.Digest, Benchmark: ev.Benchmark.Name, Metric: m.Name, Value: m.Value + unit(m.Unit),
			Plan: "not in the plan", Pipeline: thresholdText(ev.Thresholds, "", m.Name), Result: "-"}
		if governing == nil {
			row.Plan, row.Result = "no signed plan logged before this evaluation", "NOT CHECKED"
		} else if t := findThreshold(governing.Metrics, ev.Benchmark.Name, m.Name); t != nil {
			row.Plan, row.Result = t.Op+" "+t.Threshold, "FAILS"
			if policy.Meets(m.Value, t.Op, t.Threshold) {
				row.Result = "meets"
			}
		}
		out = append(out, row)
	}
	return out
}

func unit(u string) string {
	if u == "" {
		return ""
	}
	return " " + u
}

func findThreshold(ts []record.MetricThreshold, benchmark, metric string) *record.MetricThreshold {
	for i, t := range ts {
		if t.Metric == metric && (t.Benchmark == "" || t.Benchmark == benchmark) {
			return &ts[i]
		}
	}
	return nil
}

func thresholdText(ts []record.MetricThreshold, benchmark, metric string) string {
	var parts []string
	for _, t := range ts {
		if t.Metric == metric && (benchmark == "" || t.Benchmark == "" || t.Benchmark == benchmark) {
			parts = append(parts, t.Op+" "+t.Threshold)
		}
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}
