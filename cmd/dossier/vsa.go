package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/dossier-audit/dossier/cmd/internal/cli"
	"github.com/dossier-audit/dossier/internal/atomicfile"
	"github.com/dossier-audit/dossier/pkg/bundle"
	"github.com/dossier-audit/dossier/pkg/gate"
)

func init() {
	commands.Register(&cli.Command{Name: "vsa", Summary: "issue a signed SLSA verification summary about a release's weights when it satisfies its policy", Run: runVSA})
}

func runVSA(env *cli.Env, args []string) error {
	fs := cli.FlagSet(env, "vsa", "--policy FILE (--log DIR --run RUNFILE --keyring FILE... | --package FILE --root-fingerprint PIN) --key KEY --verifier-id URI --resource-uri URI -o vsa.json")
	var f checkFlags
	var key, passFile, verifierID, resourceURI, policyURI, out string
	var levels multiFlag
	f.define(fs)
	fs.Var(&f.keyrings, "keyring", "keyring version envelope, as appended to the log (repeat for the chain)")
	fs.StringVar(&key, "key", "", "private key file or KMS URI that signs the summary")
	fs.StringVar(&passFile, "password-file", "", "file holding the key password")
	fs.StringVar(&verifierID, "verifier-id", "", "verifier.id of the summary, e.g. https://dossier.example/gate")
	fs.StringVar(&resourceURI, "resource-uri", "", "resourceUri: where the weights are deployed from, e.g. oci://registry/model@sha256:...")
	fs.StringVar(&policyURI, "policy-uri", "", "policy.uri of the summary (default: the --policy path)")
	fs.Var(&levels, "level", "verifiedLevels entry (repeat; default "+gate.DefaultVerifiedLevel+")")
	fs.StringVar(&out, "o", "", "summary bundle to write (never overwritten)")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if f.policy == "" || !f.source() || key == "" || verifierID == "" || resourceURI == "" || out == "" || fs.NArg() != 0 {
		return cli.Usage("vsa needs --policy, --key, --verifier-id, --resource-uri, -o and either --run, --log and --keyring, or --package and --root-fingerprint")
	}
	facts, rep, raw, err := f.evaluate(env)
	if err != nil {
		return err
	}
	if policyURI == "" {
		policyURI = f.policy
	}
	stmt, err := gate.NewVSA(facts, rep, gate.VSARequest{VerifierID: verifierID, ResourceURI: resourceURI, PolicyURI: policyURI,
		Policy: raw, VerifiedLevels: levels, At: f.when})
	switch {
	case errors.Is(err, gate.ErrNotApproved):
		printReport(env, rep)
		return cli.Failed(err, "no summary is issued for a release that fails its policy: 'dossier policy check' lists the rules")
	case err != nil:
		return cli.Failed(err, "")
	}
	signer, err := loadSignerFlag(env, key, passFile)
	if err != nil {
		return err
	}
	b, err := gate.SignVSA(context.Background(), signer, stmt)
	if err != nil {
		return cli.Inconclusive(fmt.Errorf("signing: %w", err), "")
	}
	if err := atomicfile.WriteNew(out, b, 0o644); err != nil {
		return cli.Inconclusive(err, "choose another -o file")
	}
	bun, _ := bundle.Parse(b)
	fmt.Fprintf(env.Stdout, "%s verification-summary %s\n", bun.Digest(), out)
	env.Infof("summary PASSED for run %s; verify with: cosign verify-blob-attestation --bundle %s --key KEY.pub --insecure-ignore-tlog --type %s --digest <weights hex> --digestAlg sha256",
		rep.RunID, out, gate.VSAPredicateType)
	return nil
}
