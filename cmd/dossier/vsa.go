package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/dossier-audit/dossier/cmd/internal/cli"
	"github.com/dossier-audit/dossier/internal/atomicfile"
	"github.com/dossier-audit/dossier/pkg/bundle"
	"github.com/dossier-audit/dossier/pkg/gate"
	"github.com/dossier-audit/dossier/pkg/record"
)

func init() {
	commands.Register(&cli.Command{Name: "vsa", Summary: "issue a signed SLSA verification summary about a release's weights when it satisfies its policy", Run: runVSA})
	commands.Register(&cli.Command{Name: "vsa attach", Summary: "attach a verification summary to the model's OCI artifact (a referrer cosign verify-attestation reads)", Run: runVSAAttach})
}

func runVSA(env *cli.Env, args []string) error {
	fs := cli.FlagSet(env, "vsa", "--policy FILE (--log DIR --run RUNFILE --keyring FILE... | --package FILE --root-fingerprint PIN) --key KEY --verifier-id URI --resource-uri URI [--artifact STORE --artifact-tag TAG] -o vsa.json")
	var f checkFlags
	var key, passFile, verifierID, resourceURI, policyURI, out, artifact, artifactTag string
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
	fs.StringVar(&artifact, "artifact", "", "store holding the weights' OCI artifact (layout:DIR or HOST[:PORT]/REPO): its manifest digest becomes a subject, so cosign verify-attestation accepts the summary attached to it")
	fs.StringVar(&artifactTag, "artifact-tag", "", "tag of the weights' OCI artifact in --artifact")
	reg := addRegistryFlags(fs)
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if (artifact == "") != (artifactTag == "") {
		return cli.Usage("--artifact and --artifact-tag go together")
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
	var artifacts []record.ResourceDescriptor
	if artifact != "" {
		sub, err := modelSubject(env, artifact, artifactTag, reg, facts)
		if err != nil {
			return err
		}
		artifacts = append(artifacts, sub)
	}
	stmt, err := gate.NewVSA(facts, rep, gate.VSARequest{VerifierID: verifierID, ResourceURI: resourceURI, PolicyURI: policyURI,
		Policy: raw, VerifiedLevels: levels, At: f.when, Artifacts: artifacts})
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

// modelSubject reads the weights' OCI artifact and returns its manifest as
// a summary subject named STORE:TAG.
func modelSubject(env *cli.Env, loc, tag string, reg *registryFlags, facts *gate.Facts) (record.ResourceDescriptor, error) {
	ctx, cancel := signalContext()
	defer cancel()
	s, err := openStore(env, loc, reg, false)
	if err != nil {
		return record.ResourceDescriptor{}, err
	}
	defer s.finish(false)
	sub, err := gate.ModelSubject(ctx, s, tag, strings.TrimPrefix(loc, "layout:")+":"+tag, facts)
	switch {
	case errors.Is(err, gate.ErrArtifact):
		return sub, cli.Failed(err, "the artifact must hold the released weights as layers: push them to it first")
	case err != nil:
		return sub, cli.Failed(err, "")
	}
	return sub, nil
}

func runVSAAttach(env *cli.Env, args []string) error {
	fs := cli.FlagSet(env, "vsa attach", "--tag TAG STORE vsa.json (STORE: layout:DIR or HOST[:PORT]/REPO)")
	tag := fs.String("tag", "", "tag of the weights' OCI artifact the summary is about")
	reg := addRegistryFlags(fs)
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if *tag == "" || fs.NArg() != 2 || strings.HasPrefix(fs.Arg(0), "tar:") {
		return cli.Usage("vsa attach needs --tag, a store (layout:DIR or HOST[:PORT]/REPO) and the summary file")
	}
	vsa, err := os.ReadFile(fs.Arg(1))
	if err != nil {
		return cli.Inconclusive(err, "")
	}
	ctx, cancel := signalContext()
	defer cancel()
	s, err := openStore(env, fs.Arg(0), reg, true)
	if err != nil {
		return err
	}
	defer s.finish(false)
	desc, err := gate.Attach(ctx, s, *tag, vsa)
	switch {
	case errors.Is(err, gate.ErrArtifact):
		return cli.Failed(err, "issue the summary with 'dossier vsa --artifact STORE --artifact-tag TAG' so that it names the artifact")
	case err != nil:
		return storeError(err)
	}
	fmt.Fprintf(env.Stdout, "%s %s:%s\n", desc.Digest, fs.Arg(0), *tag)
	env.Infof("verify with: cosign verify-attestation --key KEY.pub --insecure-ignore-tlog --type %s %s", gate.VSAPredicateType, cosignRef(fs.Arg(0), *tag))
	return nil
}

// cosignRef is how cosign names the artifact: --local-image DIR or REPO:TAG.
func cosignRef(loc, tag string) string {
	if dir, ok := strings.CutPrefix(loc, "layout:"); ok {
		return "--local-image " + dir
	}
	return loc + ":" + tag
}
