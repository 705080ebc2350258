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
		Run:     runSubmitApproval})
}

func runSubmitApproval(env *cli.Env, args []string) error {
	fs := cli.FlagSet(env, "submit approval", "[--url URL] [--json] APPROVAL.json\n"+submitEnvHelp)
	cf := addClientFlags(env, fs)
	asJSON := fs.Bool("json", false, "print the daemon's answer as JSON")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return cli.Usage("submit approval takes one approval file (from 'dossier approve')")
	}
	b, err := readInput(env, fs.Arg(0))
	if err != nil {
		return err
	}
	runID, err := approvalRun(b)
	if err != nil {
		return cli.Usage("%s: %v", fs.Arg(0), err)
	}
	cf.outbox = "" // an approval is never queued: the reviewer must see a refusal
	c, err := cf.client(env)
	if err != nil {
		return err
	}
	res, err := c.SubmitApproval(context.Background(), runID, b)
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

// approvalRun returns the run id of an approval bundle (the daemon checks
// its signature; this only routes it).
func approvalRun(b []byte) (string, error) {
	bun, err := bundle.Parse(b)
	if err != nil {
		return "", err
	}
	st, err := record.ParseStatement(bun.Payload())
	if err != nil {
		return "", err
	}
	a, ok := st.Parsed().(*record.Approval)
	if !ok {
		return "", errors.New("not an approval record")
	}
	return a.RunID, nil
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
