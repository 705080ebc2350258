package record

// RunClosed is the predicate of kind "run-closed": the end of a run, with
// its outcome. Failed and aborted runs are closed too, so the set of runs
// is complete (FDA data-integrity guidance, SR 11-7).
type RunClosed struct {
	Common
	Status   string `json:"status"`
	Reason   string `json:"reason,omitempty"`
	ExitCode *int   `json:"exitCode,omitempty"`
}

// CommonFields returns the common fields.
func (p *RunClosed) CommonFields() Common { return p.Common }

// Validate checks the predicate; see spec/predicates/run-closed.md. A run
// that did not complete needs a reason.
func (p *RunClosed) Validate() error {
	c := &checker{}
	c.common(&p.Common, true)
	c.enum("status", p.Status, true, "completed", "failed", "aborted")
	c.str("reason", p.Reason, p.Status == "failed" || p.Status == "aborted", MaxText)
	if p.ExitCode != nil {
		c.intRange("exitCode", int64(*p.ExitCode), -(1 << 31), 1<<31-1)
	}
	return c.err()
}

const runClosedTemplate = `{
 "runId": "llama3-ft-2026-11-27-001", "attempt": 1, "producedAt": "2026-11-27T20:15:00Z",
 "producer": {"id": "workload:pipeline/train", "name": "training pipeline", "kind": "workload"},
 "timeEvidence": {"digest": "sha256:4d7a9e1c3b5f2a6d8e0c1b3a5f7e9d2c4b6a8f0e1d3c5b7a9f2e4d6c8b0a1f3e"},
 "status": "completed", "reason": "all epochs finished; evaluation recorded", "exitCode": 0
}`
