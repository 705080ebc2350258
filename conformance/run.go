package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
)

// Verdicts of one vector.
const (
	verdictPass  = "PASS"
	verdictFail  = "FAIL"
	verdictXFail = "XFAIL" // failed, and listed as expected to fail
	verdictXPass = "XPASS" // passed, but listed as expected to fail
)

type result struct {
	Vector   string   `json:"vector"`
	Expected expected `json:"expected"`
	Exit     int      `json:"exit"`
	Outcome  string   `json:"outcome,omitempty"`
	Classes  []string `json:"classes"`
	Verdict  string   `json:"verdict"`
	Problem  string   `json:"problem,omitempty"`
	Xfail    string   `json:"xfailReason,omitempty"`
	Stderr   string   `json:"stderr,omitempty"`
}

type summary struct {
	Total int `json:"total"`
	Pass  int `json:"pass"`
	Fail  int `json:"fail"`
	XFail int `json:"xfail"`
	XPass int `json:"xpass"`
}

func runAll(ctx context.Context, opt *options, vs []vector, xf *xfail) []result {
	out := make([]result, len(vs))
	sem := make(chan struct{}, opt.jobs)
	var wg sync.WaitGroup
	for i, v := range vs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			out[i] = runOne(ctx, opt, v, xf)
		}()
	}
	wg.Wait()
	return out
}

// verifyResult is the part of the verifier's result document we check.
type verifyResult struct {
	MediaType string `json:"mediaType"`
	Outcome   string `json:"outcome"`
	Failures  []struct {
		Class string `json:"class"`
		Step  string `json:"step"`
	} `json:"failures"`
}

func runOne(ctx context.Context, opt *options, v vector, xf *xfail) result {
	r := result{Vector: v.Name, Expected: v.Want, Classes: []string{}}
	ctx, cancel := context.WithTimeout(ctx, opt.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, opt.verifier[0], append(slices.Clone(opt.verifier[1:]), v.args()...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r.Stderr = tail(stderr.String(), 400)
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		r.Exit, r.Problem = -1, fmt.Sprintf("timed out after %s", opt.timeout)
	case errors.As(err, &ee):
		r.Exit = ee.ExitCode()
	case err != nil:
		r.Exit, r.Problem = -1, "cannot run verifier: "+err.Error()
	}
	if r.Problem == "" {
		r.Problem = check(&r, v, stdout.Bytes())
	}
	r.Verdict = verdictPass
	if r.Problem != "" {
		r.Verdict = verdictFail
	}
	if reason, ok := xf.match(v.Name); ok {
		r.Xfail = reason
		r.Verdict = map[string]string{verdictPass: verdictXPass, verdictFail: verdictXFail}[r.Verdict]
	}
	return r
}

// check applies spec/package.md §6: the exit code matches the outcome, and
// for a rejection the expected class is among failures[].class. The
// verifier must print exactly one result document on stdout.
func check(r *result, v vector, stdout []byte) string {
	doc, perr := parseResult(stdout)
	if doc != nil {
		r.Outcome = doc.Outcome
		for _, f := range doc.Failures {
			if !slices.Contains(r.Classes, f.Class) {
				r.Classes = append(r.Classes, f.Class)
			}
		}
	}
	want := wantExit[v.Want.Outcome]
	switch {
	case r.Exit != want:
		return fmt.Sprintf("exit %d, want %d (%s)", r.Exit, want, v.Want.Outcome)
	case perr != nil:
		return "result document: " + perr.Error()
	case doc.Outcome != v.Want.Outcome:
		return fmt.Sprintf("result outcome %q, want %q", doc.Outcome, v.Want.Outcome)
	case v.Want.Outcome == "rejected" && !slices.Contains(r.Classes, v.Want.Class):
		return fmt.Sprintf("failure class %q not reported", v.Want.Class)
	}
	return ""
}

func parseResult(stdout []byte) (*verifyResult, error) {
	dec := json.NewDecoder(bytes.NewReader(stdout))
	var doc verifyResult
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("not one JSON document on stdout: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return &doc, errors.New("more than one JSON value on stdout")
	}
	if doc.MediaType != "application/vnd.dossier.verify-result.v1+json" {
		return &doc, fmt.Errorf("mediaType %q, want application/vnd.dossier.verify-result.v1+json", doc.MediaType)
	}
	return &doc, nil
}

func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

func summarize(rs []result) summary {
	s := summary{Total: len(rs)}
	for _, r := range rs {
		switch r.Verdict {
		case verdictPass:
			s.Pass++
		case verdictFail:
			s.Fail++
		case verdictXFail:
			s.XFail++
		case verdictXPass:
			s.XPass++
		}
	}
	return s
}

func renderTable(w io.Writer, rs []result) summary {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "VECTOR\tEXPECTED\tGOT\tRESULT")
	for _, r := range rs {
		exp := r.Expected.Outcome
		if r.Expected.Class != "" {
			exp += " " + r.Expected.Class + " (step " + r.Expected.Step + ")"
		}
		got := fmt.Sprintf("exit %d", r.Exit)
		if len(r.Classes) > 0 {
			got += " " + strings.Join(r.Classes, ",")
		}
		line := r.Verdict
		if r.Problem != "" {
			line += ": " + r.Problem
		}
		if r.Xfail != "" {
			line += " [xfail: " + r.Xfail + "]"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Vector, exp, got, line)
	}
	tw.Flush()
	s := summarize(rs)
	fmt.Fprintf(w, "\n%d vectors: %d passed, %d failed, %d expected failures, %d unexpected passes\n", s.Total, s.Pass, s.Fail, s.XFail, s.XPass)
	if s.XPass > 0 {
		fmt.Fprintln(w, "unexpected passes: remove them from the xfail list")
	}
	return s
}
