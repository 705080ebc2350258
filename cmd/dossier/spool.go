package main

import (
	"bytes"
	"context"
	"crypto"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/dossier-audit/dossier/cmd/internal/cli"
	"github.com/dossier-audit/dossier/internal/atomicfile"
	"github.com/dossier-audit/dossier/pkg/bundle"
	"github.com/dossier-audit/dossier/pkg/keyring"
	"github.com/dossier-audit/dossier/pkg/keys"
	"github.com/dossier-audit/dossier/pkg/oci"
	"github.com/dossier-audit/dossier/pkg/record"
	"github.com/dossier-audit/dossier/pkg/spool"
	"github.com/dossier-audit/dossier/pkg/tlog"
)

func init() {
	for _, c := range []*cli.Command{
		{Name: "spool", Summary: "write a signed record into a local air-gap spool (no network)", Run: runSpool},
		{Name: "spool pack", Summary: "seal a spool into a hash-verified, signed tar to carry across the gap", Run: runSpoolPack},
		{Name: "spool verify", Summary: "check a spool tar: every digest and signature", Run: runSpoolVerify},
		{Name: "import", Summary: "import a spool tar into a local log and layout, logging who carried it", Run: runImport},
	} {
		commands.Register(c)
	}
}

func runSpool(env *cli.Env, args []string) error {
	fs := cli.FlagSet(env, "spool", "--dir DIR --run RUNFILE (--type KIND --predicate FILE --key KEY | --bundle FILE...) [--id ID --origin ORIGIN]")
	dir := fs.String("dir", "", "spool directory (created on first use)")
	runFile := fs.String("run", "", "run file from 'dossier run init'")
	kindFlag := fs.String("type", "", "record kind to sign")
	predFile := fs.String("predicate", "", "predicate JSON file, or - for stdin")
	keyRef := fs.String("key", "", "private key file or KMS URI (a producer key)")
	passFile := fs.String("password-file", "", "file holding the key password")
	var bundles multiFlag
	fs.Var(&bundles, "bundle", "an already signed record bundle to add (repeatable)")
	id := fs.String("id", "", "spool id when creating (default spool-<host>-<time>)")
	origin := fs.String("origin", "", "where the spool is written when creating (default the host name)")
	asJSON := fs.Bool("json", false, "print the spool entries as JSON lines")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	signing := *kindFlag != "" || *predFile != "" || *keyRef != ""
	if *dir == "" || *runFile == "" || fs.NArg() != 0 || signing == (len(bundles) > 0) {
		return cli.Usage("spool needs --dir, --run and either --type/--predicate/--key or --bundle")
	}
	root, err := loadRunFile(*runFile)
	if err != nil {
		return err
	}
	recs := [][]byte(nil)
	if signing {
		b, err := signForSpool(env, *kindFlag, *predFile, *runFile, *keyRef, *passFile)
		if err != nil {
			return err
		}
		recs = append(recs, b)
	} else if recs, err = readFiles(bundles); err != nil {
		return err
	}
	d, err := openSpoolDir(env, *dir, *id, *origin)
	if err != nil {
		return err
	}
	for _, b := range recs {
		e, err := d.Add(context.Background(), root, b)
		if err != nil {
			return spoolError(err)
		}
		printEntry(env, e, *asJSON)
	}
	return nil
}

// signForSpool signs a predicate as 'record create' does.
func signForSpool(env *cli.Env, kindName, predFile, runFile, keyRef, passFile string) ([]byte, error) {
	if kindName == "" || predFile == "" || keyRef == "" {
		return nil, cli.Usage("signing a record needs --type, --predicate and --key")
	}
	kind, ok := record.LookupKind(kindName)
	if !ok {
		return nil, unknownKind(kindName)
	}
	pred, err := readInput(env, predFile)
	if err != nil {
		return nil, err
	}
	subjects, err := subjectsFor(kind, runFile, pred)
	if err != nil {
		return nil, err
	}
	stmt, err := record.NewStatement(subjects, kind.PredicateType, pred)
	if err != nil {
		return nil, lintFailure(predFile, err)
	}
	signer, err := loadSignerFlag(env, keyRef, passFile)
	if err != nil {
		return nil, err
	}
	b, err := bundle.Sign(context.Background(), signer, bundle.PayloadTypeInToto, stmt)
	if err != nil {
		return nil, cli.Inconclusive(fmt.Errorf("signing: %w", err), "")
	}
	return b, nil
}

func openSpoolDir(env *cli.Env, dir, id, origin string) (*spool.Dir, error) {
	if _, err := os.Stat(filepath.Join(dir, "spool.json")); err == nil {
		d, err := spool.Open(dir, env.Now)
		return d, spoolError(err)
	}
	host, _ := os.Hostname()
	if origin == "" {
		origin = host
	}
	if id == "" {
		id = "spool-" + host + "-" + env.Now().UTC().Format("20060102T150405Z")
	}
	d, err := spool.Create(dir, id, origin, env.Now)
	if err != nil {
		return nil, spoolError(err)
	}
	env.Infof("created spool %s (%s) in %s", id, origin, dir)
	return d, nil
}

func printEntry(env *cli.Env, e spool.Entry, asJSON bool) {
	if asJSON {
		_ = writeJSONLine(env.Stdout, e)
		return
	}
	fmt.Fprintf(env.Stdout, "%d %s %s %s\n", e.Seq, e.Record, e.RunID, e.Kind)
}

func runSpoolPack(env *cli.Env, args []string) error {
	fs := cli.FlagSet(env, "spool pack", "--dir DIR --key KEY --packed-by ID:NAME -o SPOOL.tar")
	dir := fs.String("dir", "", "spool directory")
	keyRef := fs.String("key", "", "key that signs the spool document (a producer key the importer trusts)")
	passFile := fs.String("password-file", "", "file holding the key password")
	packedBy := fs.String("packed-by", "", "who seals the spool: ID:NAME, e.g. workload:slurm/llama-ft:llama-ft job")
	out := fs.String("o", "", "spool tar to write (never overwritten)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	pid, pname, ok := cutLast(*packedBy)
	if *dir == "" || *keyRef == "" || *out == "" || !ok || fs.NArg() != 0 {
		return cli.Usage("spool pack needs --dir, --key, --packed-by ID:NAME and -o")
	}
	d, err := spool.Open(*dir, env.Now)
	if err != nil {
		return spoolError(err)
	}
	signer, err := loadSignerFlag(env, *keyRef, *passFile)
	if err != nil {
		return err
	}
	ds, err := keyring.NewSigner(context.Background(), signer)
	if err != nil {
		return cli.Inconclusive(err, "")
	}
	var buf bytes.Buffer
	p, err := d.Pack(context.Background(), &buf, spool.PackOptions{PackedBy: record.Party{ID: pid, Name: pname}, Signer: ds, Now: env.Now})
	if err != nil {
		return spoolError(err)
	}
	if err := atomicfile.WriteNew(*out, buf.Bytes(), 0o444); err != nil {
		return cli.Inconclusive(err, "choose another -o; spool tars are never overwritten")
	}
	if *asJSON {
		return writeJSONLine(env.Stdout, p)
	}
	fmt.Fprintf(env.Stdout, "%s %d records %d runs %s\n", p.Digest, p.Document.RecordCount, len(p.Document.Runs), *out)
	env.Infof("carry %s across the gap; check it there with 'dossier spool verify' and import it with 'dossier import'", *out)
	return nil
}

// trustFlags name the keys a spool must be signed by.
type trustFlags struct {
	trust, keyringFiles multiFlag
	root                string
}

func addTrustFlags(fs *flag.FlagSet) *trustFlags {
	t := &trustFlags{}
	fs.Var(&t.trust, "trust", "public key (PEM) trusted to sign spools and their records (repeatable)")
	fs.Var(&t.keyringFiles, "keyring", "keyring version file (repeatable): trust its producer keys")
	fs.StringVar(&t.root, "keyring-root", "", "pinned root fingerprint of the keyring (with --keyring)")
	return t
}

func (t *trustFlags) keys() (spool.Keys, error) {
	if len(t.trust) > 0 == (len(t.keyringFiles) > 0) {
		return nil, cli.Usage("pass either --trust PUBKEY... or --keyring FILE... with --keyring-root")
	}
	if len(t.trust) > 0 {
		var pubs []crypto.PublicKey
		for _, f := range t.trust {
			b, err := os.ReadFile(f)
			if err != nil {
				return nil, cli.Inconclusive(err, "")
			}
			pub, err := keys.ParsePublicKey(b)
			if err != nil {
				return nil, cli.Usage("--trust %s: %v", f, err)
			}
			pubs = append(pubs, pub)
		}
		ks, err := spool.NewKeySet(pubs...)
		if err != nil {
			return nil, cli.Usage("%v", err)
		}
		return ks, nil
	}
	return t.keyringKeys()
}

func (t *trustFlags) keyringKeys() (spool.Keys, error) {
	if t.root == "" {
		return nil, cli.Usage("--keyring needs --keyring-root (the pinned root fingerprint)")
	}
	envs, err := readFiles(t.keyringFiles)
	if err != nil {
		return nil, err
	}
	sorted, err := keyring.SortEnvelopes(envs)
	if err != nil {
		return nil, cli.Failed(err, "")
	}
	c, err := keyring.VerifyChain(t.root, sorted...)
	if err != nil {
		return nil, cli.Failed(err, "check the keyring files and the pinned fingerprint")
	}
	return spool.KeyringKeys(c.Latest()), nil
}

// readSpoolTar reads and verifies a spool tar.
func readSpoolTar(path string, t *trustFlags) (*spool.Verified, error) {
	k, err := t.keys()
	if err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, cli.Inconclusive(err, "")
	}
	defer f.Close()
	tr, err := spool.Read(f, spool.Limits{})
	if err != nil {
		return nil, spoolError(err)
	}
	v, err := spool.Verify(tr, k)
	return v, spoolError(err)
}

func runSpoolVerify(env *cli.Env, args []string) error {
	fs := cli.FlagSet(env, "spool verify", "(--trust PUBKEY... | --keyring FILE... --keyring-root FP) SPOOL.tar")
	t := addTrustFlags(fs)
	asJSON := fs.Bool("json", false, "print the spool document as JSON")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return cli.Usage("spool verify needs one spool tar")
	}
	v, err := readSpoolTar(fs.Arg(0), t)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSONLine(env.Stdout, map[string]any{"spool": v.Digest, "size": v.Size, "packerKey": v.PackerKey, "document": v.Document})
	}
	d := v.Document
	fmt.Fprintf(env.Stdout, "verified spool %s (%s)\n  digest %s\n  origin %s\n  packed %s by %s (%s), key %s\n  %d records, %d runs\n",
		d.SpoolID, fs.Arg(0), v.Digest, d.Origin, d.PackedAt, d.PackedBy.Name, d.PackedBy.ID, v.PackerKey, d.RecordCount, len(d.Runs))
	return nil
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

func spoolError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, spool.ErrUntrusted):
		return cli.Failed(err, "the spool or a record is not signed by a trusted producer key; nothing was imported")
	case errors.Is(err, spool.ErrTar), errors.Is(err, spool.ErrLimit):
		return cli.Failed(err, "the tar is not the one 'dossier spool pack' wrote (damaged or altered in transit); nothing was imported")
	case errors.Is(err, spool.ErrRecord):
		return cli.Failed(err, "")
	case errors.Is(err, spool.ErrSpool):
		return cli.Inconclusive(err, strings.TrimSpace("check the spool directory; create one with 'dossier spool --dir DIR ...'"))
	}
	return cli.Inconclusive(err, "")
}
