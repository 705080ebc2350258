package verify

import (
	"errors"
	"fmt"
	"sort"
)

// ResultMediaType is the media type of a Result document (spec/package.md
// §6, schema spec/verify-result.schema.json).
const ResultMediaType = "application/vnd.dossier.verify-result.v1+json"

// Outcome is the verdict of VerifyPackage.
type Outcome string

// Outcomes. Verified only when every mandatory check ran and passed.
const (
	Verified     Outcome = "verified"
	Rejected     Outcome = "rejected"
	Inconclusive Outcome = "inconclusive"
)

// Status is the status of one check.
type Status string

// Check statuses. NotChecked marks a check that could not run because a
// check it depends on failed.
const (
	Pass       Status = "pass"
	Fail       Status = "fail"
	NotChecked Status = "not-checked"
)

// Result is the outcome of VerifyPackage: one versioned document serving
// the library, the CLI's --json output and the tests.
type Result struct {
	MediaType string  `json:"mediaType"`
	Outcome   Outcome `json:"outcome"`
	// Failures lists every failed check, in step order.
	Failures []FailureEntry `json:"failures"`
	// Checks lists every check. Checks repeated per record are reported
	// once per step and class with a Count; each failing record adds its
	// own entry naming it in Subject.
	Checks  []Check `json:"checks"`
	Summary Summary `json:"summary"`
}

// FailureEntry is one failed check.
type FailureEntry struct {
	Class   Failure `json:"class"`
	Step    string  `json:"step"`
	Subject string  `json:"subject,omitempty"`
	Message string  `json:"message"`
	// Rule names the failed rule of a v2 policy (spec/policy.md §3).
	Rule string `json:"rule,omitempty"`
}

// Check is one check of spec/package.md §4.
type Check struct {
	Step    string  `json:"step"`
	Class   Failure `json:"class"`
	Status  Status  `json:"status"`
	Subject string  `json:"subject,omitempty"`
	Message string  `json:"message,omitempty"`
	// Count is how many items a pass covers (records, proofs); 0 when the
	// check is about one thing.
	Count int `json:"count,omitempty"`
}

// Summary is what a human auditor needs beside the verdict.
type Summary struct {
	PackageID    string             `json:"packageId,omitempty"`
	Created      string             `json:"created,omitempty"`
	At           string             `json:"at,omitempty"`
	PolicySource string             `json:"policySource"`
	Runs         []RunSummary       `json:"runs"`
	RecordCount  int                `json:"recordCount"`
	Kinds        map[string]int     `json:"kinds"`
	Checkpoint   *CheckpointSummary `json:"checkpoint,omitempty"`
	Keyring      []KeyringSummary   `json:"keyring"`
	// TimeVerdicts counts time-evidence records by verdict.
	TimeVerdicts map[string]int `json:"timeVerdicts"`
	// Verified lists what was checked cryptographically; Asserted what
	// signers state and the verifier cannot check (their word only);
	// NotChecked what this verifier did not check.
	Verified   []string `json:"verified"`
	Asserted   []string `json:"asserted"`
	NotChecked []string `json:"notChecked"`
	// Anchors says per record whether its time is anchored or asserted;
	// nil when the checkpoint did not verify.
	Anchors *AnchorSummary `json:"anchors,omitempty"`
}

// RunSummary describes one run of the package.
type RunSummary struct {
	RunID   string         `json:"runId"`
	Root    string         `json:"root"`
	Records int            `json:"records"`
	Kinds   map[string]int `json:"kinds"`
}

// CheckpointSummary describes the package checkpoint.
type CheckpointSummary struct {
	Origin   string `json:"origin"`
	Size     uint64 `json:"size"`
	RootHash string `json:"rootHash"`
}

// KeyringSummary describes one keyring version.
type KeyringSummary struct {
	Version  int    `json:"version"`
	Digest   string `json:"digest"`
	IssuedAt string `json:"issuedAt"`
	Keys     int    `json:"keys"`
}

// collector accumulates checks; it is the only writer of a Result.
type collector struct {
	res    *Result
	counts map[[2]string]int
	order  [][2]string
	// ioErr is the first read error met: the result is inconclusive.
	ioErr error
}

func newCollector() *collector {
	return &collector{res: &Result{MediaType: ResultMediaType, Failures: []FailureEntry{}, Checks: []Check{},
		Summary: Summary{Runs: []RunSummary{}, Kinds: map[string]int{}, Keyring: []KeyringSummary{},
			TimeVerdicts: map[string]int{}, Verified: []string{}, Asserted: []string{}, NotChecked: []string{}}},
		counts: map[[2]string]int{}}
}

// pass records a passed check about one thing.
func (c *collector) pass(step string, class Failure, subject, msg string) {
	c.res.Checks = append(c.res.Checks, Check{Step: step, Class: class, Status: Pass, Subject: subject, Message: msg})
}

// passN counts a passed per-item check; flush reports it once.
func (c *collector) passN(step string, class Failure) {
	k := [2]string{step, string(class)}
	if _, ok := c.counts[k]; !ok {
		c.order = append(c.order, k)
	}
	c.counts[k]++
}

// fail records a failed check.
func (c *collector) fail(e *Error, subject string) {
	var ie *ioError
	if errors.As(e.Err, &ie) {
		if c.ioErr == nil {
			c.ioErr = ie
		}
		return
	}
	msg := e.Err.Error()
	c.res.Checks = append(c.res.Checks, Check{Step: e.Step, Class: e.Class, Status: Fail, Subject: subject, Message: msg})
	c.res.Failures = append(c.res.Failures, FailureEntry{Class: e.Class, Step: e.Step, Subject: subject, Message: msg})
}

// failRule records a failed rule of a v2 policy.
func (c *collector) failRule(class Failure, step, subject, rule, msg string) {
	c.res.Checks = append(c.res.Checks, Check{Step: step, Class: class, Status: Fail, Subject: subject, Message: msg})
	c.res.Failures = append(c.res.Failures, FailureEntry{Class: class, Step: step, Subject: subject, Message: msg, Rule: rule})
}

// failf records a failed check from a class, step and message.
func (c *collector) failf(class Failure, step, subject, format string, args ...any) {
	c.fail(fail(class, step, fmt.Errorf(format, args...)), subject)
}

// skip records a check that could not run.
func (c *collector) skip(step string, class Failure, reason string) {
	c.skipSubject(step, class, "", reason)
}

// skipSubject records a check about one thing that could not run.
func (c *collector) skipSubject(step string, class Failure, subject, reason string) {
	c.res.Checks = append(c.res.Checks, Check{Step: step, Class: class, Status: NotChecked, Subject: subject, Message: reason})
}

// result flushes counted checks, sorts by step and decides the outcome.
func (c *collector) result(ioErr error) *Result {
	if ioErr == nil {
		ioErr = c.ioErr
	}
	for _, k := range c.order {
		c.res.Checks = append(c.res.Checks, Check{Step: k[0], Class: Failure(k[1]), Status: Pass, Count: c.counts[k]})
	}
	c.order, c.counts = nil, map[[2]string]int{}
	sort.SliceStable(c.res.Checks, func(i, j int) bool { return stepLess(c.res.Checks[i].Step, c.res.Checks[j].Step) })
	sort.SliceStable(c.res.Failures, func(i, j int) bool { return stepLess(c.res.Failures[i].Step, c.res.Failures[j].Step) })
	c.res.Outcome = c.outcome(ioErr)
	return c.res
}

func (c *collector) outcome(ioErr error) Outcome {
	if ioErr != nil {
		c.res.Failures = append(c.res.Failures, FailureEntry{Class: FailIO, Step: "1", Message: ioErr.Error()})
		return Inconclusive
	}
	if len(c.res.Failures) > 0 {
		return Rejected
	}
	for _, ch := range c.res.Checks {
		if ch.Status != Pass {
			return Inconclusive
		}
	}
	return Verified
}

// stepLess orders steps numerically by their leading number ("6.2" after "6").
func stepLess(a, b string) bool {
	na, nb := leadingInt(a), leadingInt(b)
	if na != nb {
		return na < nb
	}
	return a < b
}

func leadingInt(s string) int {
	n := 0
	for i := 0; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

// InconclusiveResult is the result of a verification that could not read
// its input (the package file cannot be opened): outcome inconclusive,
// one failure of class io.
func InconclusiveResult(err error) *Result {
	return newCollector().result(err)
}
