package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/dossier-audit/dossier/cmd/internal/cli"
	"github.com/dossier-audit/dossier/cmd/internal/progress"
	"github.com/dossier-audit/dossier/pkg/anchor/anchorer"
	"github.com/dossier-audit/dossier/pkg/dossier"
	"github.com/dossier-audit/dossier/pkg/keys"
	"github.com/dossier-audit/dossier/pkg/record"
	"github.com/dossier-audit/dossier/pkg/tlog"
)

func init() {
	commands.Register(&cli.Command{Name: "export", Summary: "export runs as an offline-verifiable compliance package (tar)", Run: runExport})
}

type exportFlags struct {
	logDir, logKey, watermark, exporterKey, passFile string
	keyrings, runs                                   multiFlag
	purpose, requestedBy, recipient, producer, at    string
	policy, packageID, out                           string
	json, release                                    bool
	anchors                                          anchorFlags
}

func runExport(env *cli.Env, args []string) error {
	fs := cli.FlagSet(env, "export", "--log DIR --log-key F --exporter-key K --keyring FILE... --run RUNFILE... --purpose TEXT --requested-by ID:NAME --recipient ORG[:CONTACT] [--at RFC3339] [--anchor-store DIR [--tsa N=URL]... [--witness N=URL]...] -o PACKAGE.tar")
	var f exportFlags
	fs.StringVar(&f.logDir, "log", "", "log directory")
	fs.StringVar(&f.logKey, "log-key", "", "log signer key file (the export and sealed records are appended)")
	fs.StringVar(&f.watermark, "watermark", "", "signed-checkpoint watermark file (default DIR/.dossier/signed)")
	fs.StringVar(&f.exporterKey, "exporter-key", "", "exporter private key file (signed deterministically) or KMS URI")
	fs.StringVar(&f.passFile, "password-file", "", "file whose first line is the exporter key's password")
	fs.Var(&f.keyrings, "keyring", "keyring version envelope, as appended to the log (repeat for the chain)")
	fs.Var(&f.runs, "run", "run file of a run to export (repeat)")
	fs.StringVar(&f.purpose, "purpose", "", "why the package is made (e.g. the authority's request reference)")
	fs.StringVar(&f.requestedBy, "requested-by", "", "who asked: ID:NAME, e.g. person:e30211:Erika Musterfrau")
	fs.StringVar(&f.recipient, "recipient", "", "who receives it: ORG[:CONTACT]")
	fs.StringVar(&f.producer, "producer", "", "who exports: ID:NAME (default: --requested-by)")
	fs.StringVar(&f.at, "at", "", "export time, RFC 3339 UTC (default now; pass it to make the export reproducible)")
	fs.StringVar(&f.policy, "policy", "", "verification policy JSON to propose (default: spec/package.md §5)")
	fs.StringVar(&f.packageID, "package-id", "", "package id (default derived from the record list and time)")
	fs.StringVar(&f.out, "o", "", "package file to create (never overwritten)")
	fs.BoolVar(&f.json, "json", false, "print the result as JSON")
	fs.BoolVar(&f.release, "release", false, "a release export: refused (exit 1, nothing logged) unless the runs satisfy --policy's release rules; without it a policy the records do not meet makes a package marked \"for review\"")
	exportAnchorFlags(fs, &f.anchors)
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if f.logDir == "" || f.logKey == "" || f.exporterKey == "" || len(f.keyrings) == 0 || len(f.runs) == 0 ||
		f.purpose == "" || f.requestedBy == "" || f.recipient == "" || f.out == "" || fs.NArg() != 0 {
		return cli.Usage("export needs --log, --log-key, --exporter-key, --keyring, --run, --purpose, --requested-by, --recipient and -o")
	}
	req, err := exportRequest(env, &f)
	if err != nil {
		return err
	}
	signer, err := exporterSigner(env, f.exporterKey, f.passFile)
	if err != nil {
		return err
	}
	f.anchors.logDir = f.logDir
	src, err := exportAnchorSource(env, &f.anchors, req.Keyring[len(req.Keyring)-1])
	if err != nil {
		return err
	}
	res, err := exportWithLog(env, &f, req, signer, src)
	if err != nil {
		return err
	}
	if src != nil {
		reportExportAnchors(env, src)
	}
	return printExport(env, res, f.json)
}

func exportRequest(env *cli.Env, f *exportFlags) (dossier.ExportRequest, error) {
	req := dossier.ExportRequest{Purpose: f.purpose, Output: f.out, PackageID: f.packageID}
	var err error
	if req.At, err = timeFlag(env, f.at, "--at"); err != nil {
		return req, err
	}
	if f.at == "" {
		env.Warnf("no --at: the export time is now, so the package cannot be reproduced byte for byte")
	}
	id, name, ok := cutLast(f.requestedBy)
	if !ok {
		return req, cli.Usage("--requested-by %q: want ID:NAME", f.requestedBy)
	}
	req.RequestedBy = record.Party{ID: id, Name: name}
	req.Producer = record.Producer{ID: id, Name: name, Kind: partyKind(id)}
	if f.producer != "" {
		if id, name, ok = cutLast(f.producer); !ok {
			return req, cli.Usage("--producer %q: want ID:NAME", f.producer)
		}
		req.Producer = record.Producer{ID: id, Name: name, Kind: partyKind(id)}
	}
	org, contact, _ := strings.Cut(f.recipient, ":")
	req.Recipient = record.Recipient{Organisation: org, Contact: contact}
	if req.Keyring, err = readFiles(f.keyrings); err != nil {
		return req, cli.Inconclusive(err, "")
	}
	for _, path := range f.runs {
		root, err := loadRunFile(path)
		if err != nil {
			return req, err
		}
		req.Runs = append(req.Runs, root)
	}
	if f.policy != "" {
		if req.Policy, err = os.ReadFile(f.policy); err != nil {
			return req, cli.Inconclusive(err, "")
		}
	}
	if f.release {
		if f.policy == "" {
			return req, cli.Usage("--release needs --policy: the release rules the runs must satisfy")
		}
		req.Release, req.RequirePolicy = true, true
	}
	return req, nil
}

// cutLast splits "ID:NAME" at the last colon (ids such as person:e1 hold
// colons).
func cutLast(s string) (string, string, bool) {
	i := strings.LastIndex(s, ":")
	if i <= 0 || i == len(s)-1 {
		return "", "", false
	}
	return s[:i], s[i+1:], true
}

func partyKind(id string) string {
	if strings.HasPrefix(id, "workload:") {
		return "workload"
	}
	return "person"
}

// exporterSigner loads a file key for deterministic signing; KMS keys go
// through sigstore (valid, not reproducible).
func exporterSigner(env *cli.Env, ref, passFile string) (signature.Signer, error) {
	if keys.IsKMSRef(ref) {
		env.Warnf("%s is a KMS key: the package is valid but its bytes cannot be reproduced", ref)
		return loadSignerFlag(env, ref, passFile)
	}
	data, err := os.ReadFile(ref)
	if err != nil {
		return nil, keyError(err, ref)
	}
	pass := keys.PasswordSource{Getenv: env.Getenv, File: passFile, Prompt: env.ReadPassword}.PassFunc()
	priv, err := keys.ParsePrivateKey(data, pass, false)
	if errors.Is(err, keys.ErrUnencrypted) {
		env.Warnf("%s is not encrypted; anyone who can read it can sign as you", ref)
		priv, err = keys.ParsePrivateKey(data, nil, true)
	}
	if err != nil {
		return nil, keyError(err, ref)
	}
	s, err := dossier.DeterministicSigner(priv)
	if err != nil {
		return nil, cli.Usage("%s: %v", ref, err)
	}
	return s, nil
}

func exportWithLog(env *cli.Env, f *exportFlags, req dossier.ExportRequest, signer signature.Signer, anchors *anchorer.Export) (*dossier.Result, error) {
	quietTessera()
	logSigner, err := readSigner(f.logKey)
	if err != nil {
		return nil, err
	}
	ctx := context.Background()
	l, err := tlog.Open(ctx, f.logDir, tlog.Options{Signer: logSigner, Watermark: f.watermark})
	if err != nil {
		return nil, logError(err)
	}
	bar := progress.New(env.Stderr, env.StderrIsTTY && !f.json, 0, "proving")
	last := 0
	deps := dossier.Deps{Log: l, Exporter: signer, Progress: func(stage string, done, total int) {
		if stage == "prove" {
			bar.SetTotal(int64(total))
			bar.Add(int64(done - last))
			last = done
		}
	}}
	if anchors != nil {
		deps.Anchors = anchors
	}
	res, err := dossier.Export(ctx, req, deps)
	bar.Done()
	if cerr := l.Close(ctx); err == nil && cerr != nil {
		return nil, cli.Inconclusive(cerr, "")
	}
	return res, exportError(err)
}

func exportError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, dossier.ErrRequest):
		return &cli.Error{Code: cli.ExitUsage, Err: err}
	case errors.Is(err, dossier.ErrNotLogged):
		return cli.Failed(err, "append the run's records, the time evidence they cite and the keyring versions to the log first ('dossier log append'; keyring: --stream keyring)")
	case errors.Is(err, dossier.ErrKeyring):
		return cli.Failed(err, "the exporter key needs the exporter role in the newest keyring version; the keyring needs exactly one log key")
	case errors.Is(err, dossier.ErrRecord):
		return cli.Failed(err, "")
	case errors.Is(err, dossier.ErrPolicy):
		return cli.Failed(err, "nothing was logged; 'dossier policy check' shows what the release still lacks, or export without --release for a package marked \"for review\"")
	case errors.Is(err, anchorer.ErrFork):
		return cli.Failed(err, "the log signed two trees of one size: keep both checkpoints (the anchor store and the log) as evidence")
	case errors.Is(err, os.ErrExist):
		return cli.Inconclusive(err, "choose another -o file; packages are never overwritten")
	}
	return cli.Inconclusive(err, "")
}

func printExport(env *cli.Env, res *dossier.Result, asJSON bool) error {
	if asJSON {
		b, _ := json.MarshalIndent(res, "", "  ")
		_, err := fmt.Fprintf(env.Stdout, "%s\n", b)
		return err
	}
	for _, r := range res.ForReview {
		env.Warnf("for review only, the policy is not met: %s", r)
	}
	fmt.Fprintf(env.Stdout, "package %s\ndigest %s\nsize %d\nid %s\nrecords %d\nexport record %s\nsealed record %s\ncheckpoint size %d\nearlier exports %d\nanchored checkpoints %d\n",
		res.Path, res.Package, res.Size, res.PackageID, res.RecordCount, res.ExportRecord, res.SealedRecord, res.TreeSize, res.LedgerHeads, res.Anchors)
	return nil
}
