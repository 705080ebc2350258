// Command conformance runs a package verifier, as a black box, on every
// test vector and checks its exit code and failure class
// (spec/package.md §6, the conformance CLI protocol).
//
//	go run ./conformance -verifier "bin/dossier-verify" [-vectors testvectors/v1] [-xfail FILE] [-json] [-timeout 60s] [-run REGEXP]
//
// It never imports the implementation: any verifier, in any language, that
// follows the protocol can be measured with it.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"time"
)

// Exit codes of the runner itself.
const (
	exitOK         = 0
	exitUnexpected = 1 // some vector had an unexpected result
	exitUsage      = 2
	exitSetup      = 3 // vectors or xfail list unreadable
)

type options struct {
	verifier []string
	vectors  string
	xfail    string
	json     bool
	timeout  time.Duration
	run      *regexp.Regexp
	jobs     int
}

func main() {
	os.Exit(runMain(os.Args[1:], os.Stdout, os.Stderr))
}

func runMain(args []string, stdout, stderr io.Writer) int {
	opt, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		fmt.Fprintln(stderr, "conformance:", err)
		return exitUsage
	}
	vs, err := loadVectors(opt.vectors, opt.run)
	if err != nil {
		fmt.Fprintln(stderr, "conformance:", err)
		return exitSetup
	}
	xf, err := loadXfail(opt.xfail)
	if err != nil {
		fmt.Fprintln(stderr, "conformance:", err)
		return exitSetup
	}
	results := runAll(context.Background(), opt, vs, xf)
	for _, pat := range xf.unused(vs, opt.run != nil) {
		fmt.Fprintf(stderr, "conformance: warning: xfail entry %q matches no vector\n", pat)
	}
	var sum summary
	if opt.json {
		sum = renderJSON(stdout, opt, results)
	} else {
		sum = renderTable(stdout, results)
	}
	if sum.Fail > 0 || sum.XPass > 0 {
		return exitUnexpected
	}
	return exitOK
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	fs := flag.NewFlagSet("conformance", flag.ContinueOnError)
	fs.SetOutput(stderr)
	verifier := fs.String("verifier", "", "verifier command and leading arguments, split on white space (required)")
	opt := &options{}
	fs.StringVar(&opt.vectors, "vectors", "testvectors/v1", "directory of vector directories")
	fs.StringVar(&opt.xfail, "xfail", "", "file of expected failures: one `NAME-or-GLOB reason...` per line, # comments")
	fs.BoolVar(&opt.json, "json", false, "print a JSON report instead of the table")
	fs.DurationVar(&opt.timeout, "timeout", 60*time.Second, "time limit per vector")
	fs.IntVar(&opt.jobs, "j", 4, "vectors run in parallel")
	run := fs.String("run", "", "only vectors whose name matches this regular expression")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	opt.verifier = strings.Fields(*verifier)
	if len(opt.verifier) == 0 {
		return nil, errors.New("-verifier is required (the verifier command, e.g. -verifier bin/dossier-verify)")
	}
	if opt.jobs < 1 {
		opt.jobs = 1
	}
	if *run != "" {
		re, err := regexp.Compile(*run)
		if err != nil {
			return nil, fmt.Errorf("-run: %w", err)
		}
		opt.run = re
	}
	return opt, nil
}

// report is the -json output.
type report struct {
	MediaType string   `json:"mediaType"`
	Verifier  string   `json:"verifier"`
	Vectors   string   `json:"vectors"`
	Results   []result `json:"results"`
	Summary   summary  `json:"summary"`
}

func renderJSON(w io.Writer, opt *options, rs []result) summary {
	s := summarize(rs)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(report{MediaType: "application/vnd.dossier.conformance-report.v1+json",
		Verifier: strings.Join(opt.verifier, " "), Vectors: opt.vectors, Results: rs, Summary: s})
	return s
}
