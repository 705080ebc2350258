package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/dossier-audit/dossier/cmd/internal/cli"
	"github.com/dossier-audit/dossier/internal/atomicfile"
	"github.com/dossier-audit/dossier/pkg/bundle"
	"github.com/dossier-audit/dossier/pkg/keys"
	"github.com/dossier-audit/dossier/pkg/record"
)

func init() {
	commands.Register(&cli.Command{Name: "record create", Summary: "sign a predicate as a record of a run (Sigstore bundle)", Run: recordCreate})
	commands.Register(&cli.Command{Name: "record verify", Summary: "verify record bundles with a public key (also other in-toto attestations: SLSA provenance, VSA)", Run: recordVerify})
	commands.Register(&cli.Command{Name: "record inspect", Summary: "show what a record bundle says (does not verify)", Run: recordInspect})
}

// maxInput bounds files read by the record commands (the bundle limit).
const maxInput = bundle.MaxSize

func readInput(env *cli.Env, path string) ([]byte, error) {
	var r io.Reader = env.Stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, cli.Inconclusive(err, "")
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, maxInput+1))
	if err != nil {
		return nil, cli.Inconclusive(fmt.Errorf("reading %s: %w", path, err), "")
	}
	if len(b) > maxInput {
		return nil, cli.Failed(fmt.Errorf("%s: larger than %d bytes", path, maxInput), "")
	}
	return b, nil
}

func recordCreate(env *cli.Env, args []string) error {
	fs := cli.FlagSet(env, "record create", "--type KIND --predicate FILE --key KEY [--run RUNFILE] [-o OUT]")
	kindFlag := fs.String("type", "", "record kind or predicate type URI (see 'dossier predicate list')")
	predFile := fs.String("predicate", "", "predicate JSON file, or - for stdin")
	runFile := fs.String("run", "", "run file from 'dossier run init' (required for run-scoped kinds)")
	keyRef := fs.String("key", "", "private key file or KMS URI (hashivault://..., sigstore-kms-...)")
	passFile := fs.String("password-file", "", "file holding the key password (else $"+keys.PasswordEnv+" or a prompt)")
	out := fs.String("o", "", "write the bundle to this file (default stdout); never overwrites")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if *kindFlag == "" || *predFile == "" || *keyRef == "" || fs.NArg() != 0 {
		return cli.Usage("record create needs --type, --predicate and --key, and no arguments")
	}
	kind, ok := record.LookupKind(*kindFlag)
	if !ok {
		return &cli.Error{Code: cli.ExitUsage, Err: fmt.Errorf("unknown record kind %q", *kindFlag),
			Hint: "run 'dossier predicate list' for the kinds"}
	}
	pred, err := readInput(env, *predFile)
	if err != nil {
		return err
	}
	subjects, err := subjectsFor(kind, *runFile, pred)
	if err != nil {
		return err
	}
	stmt, err := record.NewStatement(subjects, kind.PredicateType, pred)
	if err != nil {
		return lintFailure(*predFile, err)
	}
	signer, err := loadSignerFlag(env, *keyRef, *passFile)
	if err != nil {
		return err
	}
	b, err := bundle.Sign(context.Background(), signer, bundle.PayloadTypeInToto, stmt)
	if err != nil {
		return cli.Inconclusive(fmt.Errorf("signing: %w", err), "")
	}
	if *out == "" {
		_, err = env.Stdout.Write(b)
		return err
	}
	if err := atomicfile.WriteNew(*out, b, 0o644); err != nil {
		return cli.Inconclusive(err, "choose another -o file; records are never overwritten")
	}
	bun, _ := bundle.Parse(b)
	env.Infof("%s %s %s", bun.Digest(), kind.Name, *out)
	return nil
}

// subjectsFor returns the subjects of a new record: the run root first for
// run-scoped kinds (whose predicate must name the same run), else the
// subject the kind derives from its predicate, then any subjects the kind
// requires (record.Subjects).
func subjectsFor(kind record.Kind, runFile string, pred []byte) ([]record.ResourceDescriptor, error) {
	var root *record.ResourceDescriptor
	if kind.RunScoped {
		if runFile == "" {
			return nil, cli.Usage("%s records are run-scoped: pass --run RUNFILE", kind.Name)
		}
		r, err := runRootFor(kind, runFile, pred)
		if err != nil {
			return nil, err
		}
		root = &r
	}
	s, err := record.Subjects(kind.PredicateType, pred, root)
	if err != nil {
		return nil, lintFailure("predicate", err)
	}
	return s, nil
}

// runRootFor returns the run root subject of runFile after checking that
// the predicate names that run.
func runRootFor(kind record.Kind, runFile string, pred []byte) (record.ResourceDescriptor, error) {
	root, err := loadRunFile(runFile)
	if err != nil {
		return record.ResourceDescriptor{}, err
	}
	c, err := record.ValidatePredicate(kind.PredicateType, pred)
	if err != nil {
		return record.ResourceDescriptor{}, lintFailure("predicate", err)
	}
	if c.RunID != root.Registration.RunID {
		return record.ResourceDescriptor{}, cli.Failed(
			fmt.Errorf("predicate runId %q is not the run of %s (%q)", c.RunID, runFile, root.Registration.RunID),
			"set runId in the predicate to the run's id, or pass the right --run")
	}
	return record.RunSubject(root.Registration.RunID, root.Digest()), nil
}

// lintFailure turns validation errors into one exit-1 error listing every
// finding.
func lintFailure(name string, err error) error {
	msg := fmt.Sprintf("%s is not valid", name)
	for _, f := range record.Findings(err) {
		msg += fmt.Sprintf("\n  %s: %s", f.Path, f.Message)
	}
	return cli.Failed(errors.New(msg), "check it with 'dossier predicate lint'")
}
