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

	"github.com/dossier-audit/dossier/cmd/internal/cli"
	"github.com/dossier-audit/dossier/internal/atomicfile"
	"github.com/dossier-audit/dossier/pkg/bundle"
	"github.com/dossier-audit/dossier/pkg/keyring"
	"github.com/dossier-audit/dossier/pkg/keys"
	"github.com/dossier-audit/dossier/pkg/record"
	"github.com/dossier-audit/dossier/pkg/spool"
)

func init() {
	for _, c := range []*cli.Command{
		{Name: "spool", Summary: "write a signed record into a local air-gap spool (no network)", Run: runSpool},
		{Name: "spool pack", Summary: "seal a spool into a hash-verified, signed tar to carry across the gap", Run: runSpoolPack},
		{Name: "spool verify", Summary: "check a spool tar: every digest and signature", Run: runSpoolVerify},
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
