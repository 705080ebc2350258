package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/dossier-audit/dossier/cmd/internal/cli"
	"github.com/dossier-audit/dossier/pkg/bundle"
	"github.com/dossier-audit/dossier/pkg/client"
	"github.com/dossier-audit/dossier/pkg/record"
)

func init() {
	commands.Register(&cli.Command{Name: "submit approval",
		Summary: "send an approval signed with 'dossier approve' (e.g. offline) to dossierd's review API, which checks and logs it",
		Run:     func(env *cli.Env, args []string) error { return runSubmitReviewed(env, "approval", args) }})
	commands.Register(&cli.Command{Name: "submit plan",
		Summary: "send an evaluation plan signed by a validator's reviewer key to dossierd's review API",
		Run:     func(env *cli.Env, args []string) error { return runSubmitReviewed(env, "evaluation-plan", args) }})
}

// runSubmitReviewed sends a record signed by a reviewer key (an approval
// or an evaluation plan) to the daemon's review API.
func runSubmitReviewed(env *cli.Env, kind string, args []string) error {
	name := map[string]string{"approval": "submit approval", "evaluation-plan": "submit plan"}[kind]
	fs := cli.FlagSet(env, name, "[--url URL] [--json] FILE\n"+submitEnvHelp)
	cf := addClientFlags(env, fs)
	asJSON := fs.Bool("json", false, "print the daemon's answer as JSON")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return cli.Usage("%s takes one %s record file", name, kind)
	}
	b, err := readInput(env, fs.Arg(0))
	if err != nil {
		return err
	}
	runID, err := reviewedRun(b, kind)
	if err != nil {
		return cli.Usage("%s: %v", fs.Arg(0), err)
	}
	cf.outbox = "" // never queued: the reviewer must see a refusal
	c, err := cf.client(env)
	if err != nil {
		return err
	}
	submit := c.SubmitApproval
	if kind == "evaluation-plan" {
		submit = c.SubmitPlan
	}
	res, err := submit(context.Background(), runID, b)
	if err != nil {
		return approvalSubmitError(err)
	}
	if *asJSON {
		out, _ := json.MarshalIndent(res, "", "  ")
		_, err := fmt.Fprintf(env.Stdout, "%s\n", out)
		return err
	}
	_, err = fmt.Fprintf(env.Stdout, "logged %s at log index %d (run %s), receipt %s\n", res.Record, res.LogIndex, runID, res.Receipt)
	return err
}

// reviewedRun returns the run id of a bundle of this kind (the daemon
// checks its signature; this only routes it).
func reviewedRun(b []byte, kind string) (string, error) {
	bun, err := bundle.Parse(b)
	if err != nil {
		return "", err
	}
	st, err := record.ParseStatement(bun.Payload())
	if err != nil {
		return "", err
	}
	if k, _ := st.Kind(); k.Name != kind {
		return "", fmt.Errorf("a %s record, want %s", k.Name, kind)
	}
	return st.Parsed().CommonFields().RunID, nil
}

func approvalSubmitError(err error) error {
	var pe *client.ProblemError
	switch {
	case errors.As(err, &pe) && pe.Code == "approval-refused":
		return cli.Failed(err, "render the review again ('dossier review'), sign it with 'dossier approve' and send that")
	case errors.As(err, &pe) && pe.Status < 500:
		return cli.Failed(err, "")
	}
	return cli.Inconclusive(err, "the approval was not logged; send it again later")
}
