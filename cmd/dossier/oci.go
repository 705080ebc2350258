package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"text/tabwriter"

	"golang.org/x/mod/sumdb/note"

	"github.com/dossier-audit/dossier/cmd/internal/cli"
	"github.com/dossier-audit/dossier/pkg/oci"
	"github.com/dossier-audit/dossier/pkg/oci/audit"
)

func init() {
	commands.Register(&cli.Command{Name: "store put", Summary: "store logged records of a run (and their attachments) in an OCI layout", Run: storePut})
	commands.Register(&cli.Command{Name: "push", Summary: "push a run with its records and attachments from a layout to a registry", Run: pushRun})
	commands.Register(&cli.Command{Name: "copy", Summary: "copy a run with all its records between registry, layout and tar (air gap)", Run: copyRun})
	commands.Register(&cli.Command{Name: "records list", Summary: "list a run's records in a layout, tar or registry", Run: recordsList})
	commands.Register(&cli.Command{Name: "store audit", Summary: "check that every logged record is in the store, byte for byte", Run: storeAudit})
}

func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt)
}

// runIDFlags selects a run by id or run file.
type runIDFlags struct{ id, file string }

func addRunFlags(fs interface {
	StringVar(*string, string, string, string)
}) *runIDFlags {
	f := &runIDFlags{}
	fs.StringVar(&f.id, "run-id", "", "run id (the store resolves tag run-<id>)")
	fs.StringVar(&f.file, "run", "", "run file from 'dossier run init' (instead of --run-id)")
	return f
}

// resolve returns the run id and, with a run file, the run root digest.
func (f *runIDFlags) resolve(required bool) (id, root string, err error) {
	switch {
	case f.file != "" && f.id != "":
		return "", "", cli.Usage("give --run or --run-id, not both")
	case f.file != "":
		r, err := loadRunFile(f.file)
		if err != nil {
			return "", "", err
		}
		return r.Registration.RunID, r.Digest(), nil
	case f.id == "" && required:
		return "", "", cli.Usage("--run-id or --run is required")
	}
	return f.id, "", nil
}

func storePut(env *cli.Env, args []string) error {
	fs := cli.FlagSet(env, "store put", "--layout DIR --run RUNFILE --log LOGDIR [--attachment FILE]... BUNDLE...")
	dir := fs.String("layout", "", "OCI image layout directory (created if missing)")
	runFile := fs.String("run", "", "run file from 'dossier run init'")
	logDir := fs.String("log", "", "log directory: each bundle must be in its published tree")
	vkey := fs.String("log-vkey", "", "verify the log checkpoint with this verifier key")
	var docs multiFlag
	fs.Var(&docs, "attachment", "document named by an attachment record (repeatable)")
	asJSON := fs.Bool("json", false, "print the stored records as JSON")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if *dir == "" || *runFile == "" || *logDir == "" || fs.NArg() == 0 {
		return cli.Usage("store put needs --layout, --run, --log and at least one bundle")
	}
	root, err := loadRunFile(*runFile)
	if err != nil {
		return err
	}
	ctx, stop := signalContext()
	defer stop()
	lg, err := readLog(ctx, *logDir, *vkey)
	if err != nil {
		return err
	}
	bundles, err := readFiles(fs.Args())
	if err != nil {
		return err
	}
	documents, err := readFiles(docs)
	if err != nil {
		return err
	}
	rc, skipped, err := oci.PackRun(root, bundles, documents, func(d string) (string, uint64, bool) {
		lf, ok := lg.Lookup(d)
		return lf.Stream, lf.Seq, ok
	})
	if err != nil {
		return storeError(err)
	}
	for _, s := range skipped {
		env.Warnf("not stored under the run: %v", s.Err)
	}
	s, err := oci.OpenLayout(*dir)
	if err != nil {
		return cli.Inconclusive(err, "")
	}
	if err := oci.WriteRun(ctx, s, rc); err != nil {
		return storeError(err)
	}
	env.Infof("stored run %s: %d records, %d attachments in %s", rc.Root.Registration.RunID, len(rc.Records), len(rc.Attachments), *dir)
	return printRecords(env, rc, *asJSON)
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func readFiles(paths []string) ([][]byte, error) {
	out := make([][]byte, 0, len(paths))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, cli.Inconclusive(err, "")
		}
		out = append(out, b)
	}
	return out, nil
}

func readLog(ctx context.Context, dir, vkeyFile string) (*audit.Log, error) {
	var v note.Verifier
	if vkeyFile != "" {
		var err error
		if v, err = readVerifier(vkeyFile); err != nil {
			return nil, err
		}
	}
	lg, err := audit.ReadLog(ctx, dir, v)
	if errors.Is(err, audit.ErrLogMismatch) {
		return nil, cli.Failed(err, "the log directory was altered: check it with 'dossier log' tools")
	}
	if err != nil {
		return nil, cli.Inconclusive(err, "pass the log directory (--log) written by the appender")
	}
	return lg, nil
}

func pushRun(env *cli.Env, args []string) error {
	fs := cli.FlagSet(env, "push", "--layout DIR (--run-id ID | --run RUNFILE) HOST[:PORT]/REPO")
	dir := fs.String("layout", "", "OCI image layout directory holding the run")
	rf := addRunFlags(fs)
	reg := addRegistryFlags(fs)
	asJSON := fs.Bool("json", false, "print the pushed records as JSON")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if *dir == "" || fs.NArg() != 1 {
		return cli.Usage("push needs --layout and one registry repository HOST[:PORT]/REPO")
	}
	return transfer(env, "layout:"+*dir, fs.Arg(0), rf, reg, *asJSON)
}

func copyRun(env *cli.Env, args []string) error {
	fs := cli.FlagSet(env, "copy", "(--run-id ID | --run RUNFILE) SRC DST\n  "+locationHelp)
	rf := addRunFlags(fs)
	reg := addRegistryFlags(fs)
	asJSON := fs.Bool("json", false, "print the copied records as JSON")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return cli.Usage("copy needs a source and a destination; %s", locationHelp)
	}
	return transfer(env, fs.Arg(0), fs.Arg(1), rf, reg, *asJSON)
}

// transfer reads a run from src, verifying everything, and writes it to dst.
func transfer(env *cli.Env, src, dst string, rf *runIDFlags, reg *registryFlags, asJSON bool) error {
	id, root, err := rf.resolve(true)
	if err != nil {
		return err
	}
	ctx, stop := signalContext()
	defer stop()
	rc, err := readRun(ctx, env, src, reg, id, root)
	if err != nil {
		return err
	}
	out, err := openStore(env, dst, reg, true)
	if err != nil {
		return err
	}
	err = oci.WriteRun(ctx, out.Writer, rc)
	if ferr := out.finish(err == nil); err == nil {
		err = ferr
	}
	if err != nil {
		return storeError(err)
	}
	env.Infof("copied run %s (root %s): %d records, %d attachments to %s", id, rc.Root.Digest(), len(rc.Records), len(rc.Attachments), dst)
	return printRecords(env, rc, asJSON)
}

// readRun reads and verifies a whole run; any problem is an error.
func readRun(ctx context.Context, env *cli.Env, loc string, reg *registryFlags, id, root string) (*oci.RunContent, error) {
	in, err := openStore(env, loc, reg, false)
	if err != nil {
		return nil, err
	}
	defer in.finish(false)
	rc, problems, err := oci.ReadRun(ctx, in.Reader, id)
	if err != nil {
		return nil, storeError(err)
	}
	for _, p := range problems {
		env.Warnf("%s: %v", p.Digest, p.Err)
	}
	if len(problems) > 0 {
		return nil, cli.Failed(fmt.Errorf("%d stored artifacts of run %s failed verification", len(problems), id), "run 'dossier store audit' on the source")
	}
	if root != "" && rc.Root.Digest() != root {
		return nil, cli.Failed(fmt.Errorf("%s holds run root %s for %s, the run file says %s", loc, rc.Root.Digest(), id, root), "")
	}
	return rc, nil
}

func recordsList(env *cli.Env, args []string) error {
	fs := cli.FlagSet(env, "records list", "(--run-id ID | --run RUNFILE) STORE\n  "+locationHelp)
	rf := addRunFlags(fs)
	reg := addRegistryFlags(fs)
	asJSON := fs.Bool("json", false, "print the records as JSON")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return cli.Usage("records list needs one store; %s", locationHelp)
	}
	id, root, err := rf.resolve(true)
	if err != nil {
		return err
	}
	ctx, stop := signalContext()
	defer stop()
	rc, err := readRun(ctx, env, fs.Arg(0), reg, id, root)
	if err != nil {
		return err
	}
	return printRecords(env, rc, *asJSON)
}

type recordJSON struct {
	Seq           uint64 `json:"seq"`
	Kind          string `json:"kind"`
	PredicateType string `json:"predicateType"`
	Signer        string `json:"signer"`
	Created       string `json:"created"`
	Bundle        string `json:"bundle"`
	Manifest      string `json:"manifest"`
}

func printRecords(env *cli.Env, rc *oci.RunContent, asJSON bool) error {
	list := make([]recordJSON, 0, len(rc.Records))
	for _, r := range rc.Records {
		list = append(list, recordJSON{Seq: r.Seq, Kind: r.Kind, PredicateType: r.PredicateType, Signer: r.Bundle.KeyID(),
			Created: r.Created, Bundle: r.BundleDigest(), Manifest: r.Descriptor.Digest.String()})
	}
	if asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"runId": rc.Root.Registration.RunID, "root": rc.Root.Digest(), "records": list})
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tKIND\tSIGNER\tCREATED\tRECORD")
	for _, r := range list {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", r.Seq, r.Kind, r.Signer, r.Created, r.Bundle)
	}
	return tw.Flush()
}

func storeAudit(env *cli.Env, args []string) error {
	fs := cli.FlagSet(env, "store audit", "--log LOGDIR [--run-id ID | --run RUNFILE] STORE\n  "+locationHelp)
	logDir := fs.String("log", "", "log directory")
	vkey := fs.String("log-vkey", "", "verify the log checkpoint with this verifier key")
	rf := addRunFlags(fs)
	reg := addRegistryFlags(fs)
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if *logDir == "" || fs.NArg() != 1 {
		return cli.Usage("store audit needs --log and one store; %s", locationHelp)
	}
	id, root, err := rf.resolve(false)
	if err != nil {
		return err
	}
	ctx, stop := signalContext()
	defer stop()
	lg, err := readLog(ctx, *logDir, *vkey)
	if err != nil {
		return err
	}
	in, err := openStore(env, fs.Arg(0), reg, false)
	if err != nil {
		return err
	}
	defer in.finish(false)
	runs := []audit.Run{{ID: id, Root: root}}
	if id == "" {
		if runs, err = storeRuns(ctx, in); err != nil {
			return storeError(err)
		}
	}
	rep, err := audit.Audit(ctx, in.Reader, lg, runs, id == "")
	if err != nil {
		return storeError(err)
	}
	if err := printAudit(env, rep, *asJSON); err != nil {
		return err
	}
	if !rep.OK() {
		return cli.Failed(fmt.Errorf("%d findings: the store does not hold exactly what the log says", len(rep.Findings)), "")
	}
	return nil
}

// tagLister is implemented by stores that can list their run tags.
type tagLister interface {
	Tags(ctx context.Context, prefix string) ([]string, error)
}

func storeRuns(ctx context.Context, s *store) ([]audit.Run, error) {
	tl, ok := s.Reader.(tagLister)
	if !ok {
		return nil, errors.New("this store cannot list its runs")
	}
	tags, err := tl.Tags(ctx, "run-")
	if err != nil {
		return nil, err
	}
	runs := make([]audit.Run, 0, len(tags))
	for _, t := range tags {
		runs = append(runs, audit.Run{ID: strings.TrimPrefix(t, "run-")})
	}
	return runs, nil
}

func printAudit(env *cli.Env, rep *audit.Report, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	if !rep.LogVerified {
		env.Warnf("log checkpoint signature not verified (pass --log-vkey)")
	}
	for _, r := range rep.Runs {
		fmt.Fprintf(env.Stdout, "run %s %s: %d logged, %d stored\n", r.RunID, r.Root, r.Logged, r.Stored)
	}
	for _, f := range rep.Findings {
		seq := "-"
		if f.Seq != nil {
			seq = fmt.Sprint(*f.Seq)
		}
		fmt.Fprintf(env.Stdout, "%-8s run %s seq %s bundle %s manifest %s: %s\n", f.Kind, f.RunID, seq, f.Bundle, f.Manifest, f.Detail)
	}
	if rep.OK() {
		fmt.Fprintf(env.Stdout, "OK: the store holds every record the log holds (%d log entries)\n", rep.LogSize)
	}
	return nil
}
