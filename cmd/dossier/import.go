package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/dossier-audit/dossier/cmd/internal/cli"
	"github.com/dossier-audit/dossier/pkg/client"
	"github.com/dossier-audit/dossier/pkg/oci"
	"github.com/dossier-audit/dossier/pkg/record"
	"github.com/dossier-audit/dossier/pkg/spool"
	"github.com/dossier-audit/dossier/pkg/tlog"
)

func init() {
	commands.Register(&cli.Command{Name: "import", Summary: "import a spool tar into a local log and layout (or through dossierd), logging who carried it", Run: runImport})
}

func runImport(env *cli.Env, args []string) error {
	fs := cli.FlagSet(env, "import", "--log DIR --log-key F --key KEY --carried-by ID:NAME [--layout DIR] (--trust PUBKEY... | --keyring FILE... --keyring-root FP) SPOOL.tar\n"+
		"   or: dossier import --url URL --carried-by ID:NAME SPOOL.tar   (through dossierd's POST /v1/import)")
	logDir := fs.String("log", "", "log directory")
	logKey := fs.String("log-key", "", "log signer key file")
	layout := fs.String("layout", "", "OCI layout to store the run roots and records in (optional)")
	state := fs.String("state", "", "directory remembering imported spools (default LOG/imports)")
	keyRef := fs.String("key", "", "importer's key: signs the transfer record")
	passFile := fs.String("password-file", "", "file holding the key password")
	carriedBy := fs.String("carried-by", "", "who carried the medium: ID:NAME, e.g. person:m41877:Max Mustermann")
	importer := fs.String("importer", "", "who imports: ID:NAME (default: the key's owner as person:<user>)")
	t := addTrustFlags(fs)
	cf := addClientFlags(env, fs)
	asJSON := fs.Bool("json", false, "print the import report as JSON")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	cid, cname, ok := cutLast(*carriedBy)
	if flagSet(fs, "url") {
		if !ok || fs.NArg() != 1 {
			return cli.Usage("import --url needs --carried-by ID:NAME and one spool tar")
		}
		return importRemote(env, cf, fs.Arg(0), record.Party{ID: cid, Name: cname}, *asJSON)
	}
	if *logDir == "" || *logKey == "" || *keyRef == "" || !ok || fs.NArg() != 1 {
		return cli.Usage("import needs --log, --log-key, --key, --carried-by ID:NAME and one spool tar (or --url to import through dossierd)")
	}
	imp, err := importerParty(env, *importer)
	if err != nil {
		return err
	}
	v, err := readSpoolTar(fs.Arg(0), t)
	if err != nil {
		return err
	}
	signer, err := loadSignerFlag(env, *keyRef, *passFile)
	if err != nil {
		return err
	}
	if *state == "" {
		*state = filepath.Join(*logDir, "imports")
	}
	opts := spool.ImportOptions{CarriedBy: record.Party{ID: cid, Name: cname}, Importer: imp, Now: env.Now}
	rep, err := importLocal(v, *logDir, *logKey, *layout, *state, signer, opts)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSONLine(env.Stdout, rep)
	}
	fmt.Fprintf(env.Stdout, "imported %d of %d records from spool %s (%d already in the log)\ntransfer %s\n",
		rep.Imported, rep.Records, rep.SpoolID, rep.AlreadyPresent, rep.Transfer)
	if rep.TransferExisting && rep.Imported == 0 {
		env.Infof("this spool was imported before: nothing changed")
	}
	return nil
}

// flagSet reports whether the flag was given on the command line (the url
// flag's default comes from DOSSIER_URL, which must not switch modes).
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// importRemote sends the tar to dossierd's POST /v1/import, which verifies
// it with its own keyring and appends with receipts.
func importRemote(env *cli.Env, cf *clientFlags, path string, carriedBy record.Party, asJSON bool) error {
	c, err := cf.client(env)
	if err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return cli.Inconclusive(err, "")
	}
	defer f.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	rep, err := c.ImportSpool(ctx, f, carriedBy)
	var perr *client.ProblemError
	if errors.As(err, &perr) && perr.Status == 403 {
		return cli.Failed(err, "importing needs the operator role on the daemon's ingest listener")
	}
	if err != nil {
		return submitError(err, cf.outbox)
	}
	if asJSON {
		return writeJSONLine(env.Stdout, rep)
	}
	fmt.Fprintf(env.Stdout, "imported %d of %d records from spool %s (%d already in the log)\ntransfer %s\n",
		rep.Imported, rep.Records, rep.SpoolID, rep.AlreadyPresent, rep.Transfer)
	return nil
}

func importerParty(env *cli.Env, s string) (record.Producer, error) {
	if s == "" {
		u := env.Getenv("USER")
		if u == "" {
			u = "unknown"
		}
		return record.Producer{ID: "person:" + u, Name: u, Kind: "person"}, nil
	}
	id, name, ok := cutLast(s)
	if !ok {
		return record.Producer{}, cli.Usage("--importer %q: want ID:NAME", s)
	}
	return record.Producer{ID: id, Name: name, Kind: partyKind(id)}, nil
}

func importLocal(v *spool.Verified, logDir, logKey, layoutDir, state string, signer signature.Signer, opts spool.ImportOptions) (*spool.Report, error) {
	quietTessera()
	ls, err := readSigner(logKey)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	l, err := tlog.Open(ctx, logDir, tlog.Options{Signer: ls})
	if err != nil {
		return nil, logError(err)
	}
	defer l.Close(context.Background())
	sink := &spool.LocalSink{Log: l, Signer: signer, StateDir: state}
	if layoutDir != "" {
		if sink.Layout, err = oci.OpenLayout(layoutDir); err != nil {
			return nil, cli.Inconclusive(err, "")
		}
	}
	rep, err := spool.Import(ctx, v, sink, opts)
	if err != nil {
		return rep, cli.Inconclusive(err, "run the same import again: records already imported are skipped")
	}
	return rep, nil
}
