package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/dossier-audit/dossier/cmd/internal/cli"
	"github.com/dossier-audit/dossier/pkg/gate"
	"github.com/dossier-audit/dossier/pkg/policy"
)

func init() {
	commands.Register(&cli.Command{Name: "policy lint", Summary: "check a policy file (spec/policy.md)", Run: runPolicyLint})
	commands.Register(&cli.Command{Name: "policy check", Summary: "evaluate a policy over a run's records in a log (exit 1 names the failed rules)", Run: runPolicyCheck})
}

func readPolicy(path string) (*policy.Policy, []byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, cli.Inconclusive(err, "")
	}
	p, err := policy.Parse(b)
	if err != nil {
		return nil, nil, cli.Failed(fmt.Errorf("%s: %w", path, err), "see spec/policy.md")
	}
	return p, b, nil
}

func runPolicyLint(env *cli.Env, args []string) error {
	fs := cli.FlagSet(env, "policy lint", "FILE")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return cli.Usage("policy lint needs one policy file")
	}
	p, _, err := readPolicy(fs.Arg(0))
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "%s: valid %s\n", fs.Arg(0), p.MediaType)
	return nil
}

type checkFlags struct {
	logFlags
	policy, at string
	pkg, runID string
	release    bool
	json       bool
	when       time.Time // --at, parsed by evaluate
}

func (f *checkFlags) define(fs interface {
	StringVar(*string, string, string, string)
	BoolVar(*bool, string, bool, string)
}) {
	fs.StringVar(&f.policy, "policy", "", "policy file (v1 or v2)")
	fs.StringVar(&f.runFile, "run", "", "run file of the run")
	fs.StringVar(&f.pkg, "package", "", "read the run from this package file (verified with --root-fingerprint) instead of a log")
	fs.StringVar(&f.runID, "run-id", "", "with --package: the run (default: the package's only run)")
	fs.StringVar(&f.logDir, "log", "", "log directory holding the run's records")
	fs.StringVar(&f.pin, "root-fingerprint", "", "pinned keyring root fingerprint SHA256:<hex> (default: trust the version 1 given)")
	fs.StringVar(&f.at, "at", "", "evaluation time for approval expiry, RFC 3339 (default now)")
	fs.BoolVar(&f.release, "release", false, "apply the release rules even if the run has no model-release record")
	fs.BoolVar(&f.json, "json", false, "print the report as JSON")
}

// source reports whether exactly one source of records is given: a log
// (--run, --log, --keyring) or a package (--package, --root-fingerprint).
func (f *checkFlags) source() bool {
	fromLog := f.runFile != "" && f.logDir != "" && len(f.keyrings) > 0 && f.pkg == ""
	fromPkg := f.pkg != "" && f.pin != "" && f.runFile == "" && f.logDir == "" && len(f.keyrings) == 0
	return fromLog || fromPkg
}

// evaluate loads the run and evaluates the policy.
func (f *checkFlags) evaluate(env *cli.Env) (*gate.Facts, policy.Report, []byte, error) {
	p, raw, err := readPolicy(f.policy)
	if err != nil {
		return nil, policy.Report{}, nil, err
	}
	at := env.Now()
	if f.at != "" {
		if at, err = time.Parse(time.RFC3339, f.at); err != nil {
			return nil, policy.Report{}, nil, cli.Usage("--at: %v", err)
		}
	}
	f.when = at
	var facts *gate.Facts
	if f.pkg != "" {
		facts, err = loadPackage(env, f.pkg, f.runID, f.pin)
	} else {
		facts, err = f.load(context.Background(), f.runFile)
	}
	if err != nil {
		return nil, policy.Report{}, nil, err
	}
	return facts, policy.Evaluate(facts.PolicyInput(p, at, f.release)), raw, nil
}

func runPolicyCheck(env *cli.Env, args []string) error {
	fs := cli.FlagSet(env, "policy check", "--policy FILE (--log DIR --run RUNFILE --keyring FILE... | --package FILE --root-fingerprint SHA256:<hex>)")
	var f checkFlags
	f.define(fs)
	fs.Var(&f.keyrings, "keyring", "keyring version envelope, as appended to the log (repeat for the chain)")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if f.policy == "" || !f.source() || fs.NArg() != 0 {
		return cli.Usage("policy check needs --policy and either --run, --log and --keyring, or --package and --root-fingerprint")
	}
	_, rep, _, err := f.evaluate(env)
	if err != nil {
		return err
	}
	if f.json {
		if err := json.NewEncoder(env.Stdout).Encode(rep); err != nil {
			return err
		}
	} else {
		printReport(env, rep)
	}
	if !rep.OK() {
		return cli.Failed(fmt.Errorf("policy: run %s fails %s", rep.RunID, strings.Join(rep.Failed(), ", ")), "")
	}
	return nil
}

func printReport(env *cli.Env, rep policy.Report) {
	for _, r := range rep.Results {
		subject := ""
		if r.Subject != "" {
			subject = " [" + r.Subject + "]"
		}
		fmt.Fprintf(env.Stdout, "%-4s %s%s: %s\n", r.Status, r.Rule, subject, r.Message)
	}
	verdict := "PASSED"
	if !rep.OK() {
		verdict = "FAILED"
	}
	fmt.Fprintf(env.Stdout, "policy %s for run %s (release rules applied: %v)\n", verdict, rep.RunID, rep.Release)
}
