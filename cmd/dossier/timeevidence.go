package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/dossier-audit/dossier/cmd/internal/cli"
	"github.com/dossier-audit/dossier/internal/atomicfile"
	"github.com/dossier-audit/dossier/pkg/bundle"
	"github.com/dossier-audit/dossier/pkg/record"
	"github.com/dossier-audit/dossier/pkg/timecheck"
)

// writeTimeEvidence signs r as a time-evidence record (SPEC.md "Time
// evidence") with the time key and writes the bundle to out.
func writeTimeEvidence(env *cli.Env, r timecheck.Result, out, keyRef, passFile string) error {
	pred, err := json.Marshal(r)
	if err != nil {
		return cli.Inconclusive(err, "")
	}
	pt := record.PredicateTypePrefix + "time-evidence/v1"
	subjects, err := record.Subjects(pt, pred, nil)
	if err != nil {
		return cli.Inconclusive(fmt.Errorf("time evidence does not validate: %w", err), "")
	}
	stmt, err := record.NewStatement(subjects, pt, pred)
	if err != nil {
		return cli.Inconclusive(fmt.Errorf("time evidence does not validate: %w", err), "")
	}
	signer, err := loadSignerFlag(env, keyRef, passFile)
	if err != nil {
		return err
	}
	b, err := bundle.Sign(context.Background(), signer, bundle.PayloadTypeInToto, stmt)
	if err != nil {
		return cli.Inconclusive(fmt.Errorf("signing time evidence: %w", err), "")
	}
	if err := atomicfile.WriteNew(out, b, 0o644); err != nil {
		return cli.Inconclusive(err, "choose another --record file; records are never overwritten")
	}
	bun, _ := bundle.Parse(b)
	env.Infof("time evidence %s (%s) written to %s", bun.Digest(), r.Verdict, out)
	return nil
}
