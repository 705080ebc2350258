package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/dossier-audit/dossier/cmd/internal/cli"
	"github.com/dossier-audit/dossier/internal/atomicfile"
	"github.com/dossier-audit/dossier/pkg/bundle"
	"github.com/dossier-audit/dossier/pkg/client"
	"github.com/dossier-audit/dossier/pkg/gate"
	"github.com/dossier-audit/dossier/pkg/keyring"
	"github.com/dossier-audit/dossier/pkg/keys"
	"github.com/dossier-audit/dossier/pkg/review"
	"github.com/dossier-audit/dossier/pkg/run"
)

func init() {
	commands.Register(&cli.Command{Name: "review", Summary: "render the canonical review document of a run (what an approval signs)", Run: runReview})
	commands.Register(&cli.Command{Name: "approve", Summary: "sign an approval (21 CFR 11.50) of a run's review document", Run: runApprove})
}

// logFlags locate a run's verified records in a log directory.
type logFlags struct {
	logDir, runFile, pin string
	keyrings             multiFlag
}

// load reads the run's facts from the log.
func (f *logFlags) load(ctx context.Context, runFile string) (*gate.Facts, error) {
	root, err := loadRunFile(runFile)
	if err != nil {
		return nil, err
	}
	envs, err := readFiles(f.keyrings)
	if err != nil {
		return nil, err
	}
	facts, err := gate.Load(ctx, f.logDir, root, envs, f.pin)
	switch {
	case errors.Is(err, gate.ErrKeyring):
		return nil, cli.Failed(err, "pass every keyring version appended to the log (--keyring, repeat) and the pinned root fingerprint")
	case errors.Is(err, gate.ErrRecord) || errors.Is(err, gate.ErrLog) && !errors.Is(err, os.ErrNotExist):
		return nil, cli.Failed(err, "the log does not verify; run 'dossier-verify' on an export for the full report")
	case err != nil:
		return nil, cli.Inconclusive(err, "check --log")
	}
	return facts, nil
}

func runReview(env *cli.Env, args []string) error {
	fs := cli.FlagSet(env, "review", "(--run RUNFILE --log DIR --keyring FILE... | --package FILE --root-fingerprint SHA256:<hex> | --server URL --run-id ID) [--previous-release RUNFILE] -o review.html")
	var f logFlags
	var prev, prevLabel, out, pkg, runID, server string
	var asJSON bool
	fs.StringVar(&f.runFile, "run", "", "run file of the run to review")
	fs.StringVar(&f.logDir, "log", "", "log directory holding the run's records")
	fs.Var(&f.keyrings, "keyring", "keyring version envelope, as appended to the log (repeat for the chain)")
	fs.StringVar(&f.pin, "root-fingerprint", "", "pinned keyring root fingerprint SHA256:<hex> (default: trust the version 1 given)")
	fs.StringVar(&pkg, "package", "", "review a run of this package file (verified with --root-fingerprint) instead of a log")
	fs.StringVar(&server, "server", "", "fetch the run's current review document from this dossierd (review listener URL)")
	fs.StringVar(&runID, "run-id", "", "with --server: the run to review; with --package: the run (default: the package's only run)")
	cf := addServerFlags(env, fs)
	fs.StringVar(&prev, "previous-release", "", "run file of the model's last approved version (same log), to show what changed")
	fs.StringVar(&prevLabel, "previous-label", "", "how to name the last approved version in the document")
	fs.StringVar(&out, "o", "", "review document to write (never overwritten)")
	fs.BoolVar(&asJSON, "json", false, "print the view digest and record digests as JSON")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	local := f.runFile != "" || f.logDir != "" || len(f.keyrings) > 0 || f.pin != "" || prev != "" || prevLabel != "" || pkg != ""
	fromServer := server != "" && runID != "" && !local
	fromLog := f.runFile != "" && f.logDir != "" && len(f.keyrings) > 0 && pkg == "" && server == ""
	fromPkg := pkg != "" && f.pin != "" && f.runFile == "" && f.logDir == "" && prev == "" && server == ""
	if !fromLog && !fromPkg && !fromServer || out == "" || fs.NArg() != 0 {
		return cli.Usage("review needs -o and either --run, --log and --keyring, or --package and --root-fingerprint (no --previous-release), or --server and --run-id (nothing else)")
	}
	if fromServer {
		cf.url = server
		return reviewFromServer(env, cf, runID, out, asJSON)
	}
	ctx := context.Background()
	var facts *gate.Facts
	var err error
	if fromPkg {
		facts, err = loadPackage(env, pkg, runID, f.pin)
	} else {
		facts, err = f.load(ctx, f.runFile)
	}
	if err != nil {
		return err
	}
	var previous *gate.Facts
	if prev != "" {
		if previous, err = f.load(ctx, prev); err != nil {
			return err
		}
	}
	in := facts.ReviewInput(previous, prevLabel)
	doc, digest, err := review.Render(in)
	if err != nil {
		return cli.Failed(err, "")
	}
	if err := writeReview(out, doc); err != nil {
		return err
	}
	reviewed, _ := review.ReviewedRecords(in)
	return printReview(env, in.RunID, digest, reviewed, out, asJSON)
}

// writeReview writes a review document to a new file.
func writeReview(out string, doc []byte) error {
	if err := atomicfile.WriteNew(out, doc, 0o644); err != nil {
		return cli.Inconclusive(err, "choose another -o file; review documents are never overwritten")
	}
	return nil
}

// printReview prints what an approval of the document signs: the view
// digest and the reviewed records' digests.
func printReview(env *cli.Env, runID, digest string, reviewed []string, out string, asJSON bool) error {
	if asJSON {
		return json.NewEncoder(env.Stdout).Encode(map[string]any{"runId": runID, "view": digest, "reviewedRecords": reviewed, "path": out})
	}
	fmt.Fprintf(env.Stdout, "view %s\n", digest)
	for _, d := range reviewed {
		fmt.Fprintf(env.Stdout, "record %s\n", d)
	}
	env.Infof("wrote %s: run %s, %d records to review", out, runID, len(reviewed))
	return nil
}

// addServerFlags adds the connection flags of 'dossier review --server':
// dossier submit's token and mTLS flags with the same DOSSIER_*
// defaults, but no outbox (a review is read, never queued).
func addServerFlags(env *cli.Env, fs *flag.FlagSet) *clientFlags {
	f := &clientFlags{token: env.Getenv("DOSSIER_TOKEN")}
	fs.StringVar(&f.tokenFile, "token-file", env.Getenv("DOSSIER_TOKEN_FILE"), "with --server: file holding a reviewer's bearer token ($DOSSIER_TOKEN_FILE; or $DOSSIER_TOKEN)")
	fs.StringVar(&f.ca, "ca", env.Getenv("DOSSIER_CA_FILE"), "with --server: CA bundle for the daemon's certificate ($DOSSIER_CA_FILE)")
	fs.StringVar(&f.cert, "cert", env.Getenv("DOSSIER_CERT_FILE"), "with --server: client certificate for mTLS ($DOSSIER_CERT_FILE)")
	fs.StringVar(&f.key, "client-key", env.Getenv("DOSSIER_KEY_FILE"), "with --server: client certificate key ($DOSSIER_KEY_FILE)")
	return f
}

// reviewFromServer fetches the run's current review document from the
// daemon (its bytes checked against the Dossier-View-Digest header) and
// writes it to a new file.
func reviewFromServer(env *cli.Env, cf *clientFlags, runID, out string, asJSON bool) error {
	c, err := cf.client(env)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rv, err := c.Review(ctx, runID)
	if err != nil {
		return reviewFetchError(err)
	}
	m, err := review.ParseManifest(rv.Document)
	if err != nil {
		return cli.Failed(fmt.Errorf("the daemon's review document: %w", err), "")
	}
	if m.RunID != runID {
		return cli.Failed(fmt.Errorf("the daemon's review document is of run %q, want %q", m.RunID, runID), "")
	}
	if err := writeReview(out, rv.Document); err != nil {
		return err
	}
	return printReview(env, runID, rv.ViewDigest, m.ReviewedRecords, out, asJSON)
}

func reviewFetchError(err error) error {
	var pe *client.ProblemError
	switch {
	case errors.Is(err, client.ErrViewDigest):
		return cli.Failed(err, "the document was altered on its way or the daemon is faulty; nothing was written. Fetch it again, or review a controlled export (--package)")
	case errors.As(err, &pe) && (pe.Status == 401 || pe.Status == 403):
		return cli.Failed(err, "pass a token or client certificate holding the reviewer role on the daemon's review listener")
	case errors.As(err, &pe) && pe.Status == 404:
		return cli.Failed(err, "check --run-id and that --server is the daemon's review listener")
	case errors.As(err, &pe) && !pe.Retryable():
		return cli.Failed(err, "")
	case errors.As(err, new(*tls.CertificateVerificationError)):
		return cli.Inconclusive(err, "pass --ca with the CA bundle of the daemon's certificate")
	}
	return cli.Inconclusive(err, "the daemon is unavailable; try again later")
}

// loadPackage reads a run's facts from a package file.
func loadPackage(env *cli.Env, path, runID, pin string) (*gate.Facts, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, cli.Inconclusive(err, "")
	}
	defer file.Close()
	st, err := file.Stat()
	if err != nil {
		return nil, cli.Inconclusive(err, "")
	}
	facts, res, err := gate.LoadPackage(file, st.Size(), runID, pin)
	if err != nil {
		return nil, cli.Failed(err, "run 'dossier-verify' on the package for the full report")
	}
	if res.Outcome != "verified" {
		env.Warnf("the package fails its policy (a review copy before approvals?): %d policy failure(s)", len(res.Failures))
	}
	return facts, nil
}

type approveFlags struct {
	runFile, reviewFile, key, passFile, name, signerID, function string
	meaning, decision, statement, expires, withdraws, at, out    string
	conditions, findings, keyrings                               multiFlag
}

func runApprove(env *cli.Env, args []string) error {
	fs := cli.FlagSet(env, "approve", `[--run RUNFILE] --review review.html --key KEY --name "Printed Name" --meaning approval --decision approve -o approval.json`)
	var f approveFlags
	fs.StringVar(&f.runFile, "run", "", "run file of the reviewed run (default: the run the review document names)")
	fs.StringVar(&f.reviewFile, "review", "", "review document from 'dossier review' (its digest is signed)")
	fs.StringVar(&f.key, "key", "", "reviewer's private key file or KMS URI")
	fs.StringVar(&f.passFile, "password-file", "", "file holding the key password")
	fs.StringVar(&f.name, "name", "", "printed name of the signer (21 CFR 11.50(a)(1))")
	fs.StringVar(&f.signerID, "signer-id", "", "the signer's person id as the keyring binds it to the key (default: looked up in --keyring)")
	fs.Var(&f.keyrings, "keyring", "keyring version envelopes to look the signer id up in (repeat)")
	fs.StringVar(&f.function, "function", "", "the signer's function, e.g. Head of Model Validation")
	fs.StringVar(&f.meaning, "meaning", "", "meaning of the signature: review, approval, authorship or responsibility")
	fs.StringVar(&f.decision, "decision", "", "approve, approve-with-conditions, reject or withdraw")
	fs.StringVar(&f.statement, "statement", "", "statement text the signer agrees to (default: a sentence naming the review)")
	fs.Var(&f.conditions, "condition", "condition of an approve-with-conditions decision (repeat)")
	fs.Var(&f.findings, "finding", "review finding (repeat)")
	fs.StringVar(&f.expires, "expires", "", "expiry or next-review date, RFC 3339")
	fs.StringVar(&f.withdraws, "withdraws", "", "digest of the approval withdrawn (decision withdraw)")
	fs.StringVar(&f.at, "at", "", "signing time, RFC 3339 (default now)")
	fs.StringVar(&f.out, "o", "", "approval bundle to write (never overwritten)")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if f.reviewFile == "" || f.key == "" || f.name == "" || f.meaning == "" || f.decision == "" || f.out == "" || fs.NArg() != 0 {
		return cli.Usage("approve needs --review, --key, --name, --meaning, --decision and -o")
	}
	req, err := approvalRequest(env, &f)
	if err != nil {
		return err
	}
	signer, err := loadSignerFlag(env, f.key, f.passFile)
	if err != nil {
		return err
	}
	if req.SignerID == "" {
		if req.SignerID, err = signerIDFromKeyring(signer, f.keyrings); err != nil {
			return err
		}
	}
	a, err := gate.NewApproval(req)
	if err != nil {
		return cli.Failed(err, "render the review with 'dossier review' for this run; see spec/predicates/approval.md")
	}
	runRoot := ""
	if req.Run != nil {
		runRoot = req.Run.Digest()
	} else if m, err := review.ParseManifest(req.Review); err == nil {
		runRoot = m.RunRoot
	}
	b, err := gate.SignApproval(context.Background(), signer, runRoot, a)
	if err != nil {
		return cli.Inconclusive(fmt.Errorf("signing: %w", err), "")
	}
	if err := atomicfile.WriteNew(f.out, b, 0o644); err != nil {
		return cli.Inconclusive(err, "choose another -o file; records are never overwritten")
	}
	bun, _ := bundle.Parse(b)
	fmt.Fprintf(env.Stdout, "%s approval %s\n", bun.Digest(), f.out)
	env.Infof("%s signed %q (%s) over %d records and view %s; append it to the run's stream with 'dossier log append'",
		a.Signer.PrintedName, a.Decision, a.Meaning, len(a.ReviewedRecords), a.RenderedViewDigest)
	return nil
}

func approvalRequest(env *cli.Env, f *approveFlags) (gate.ApprovalRequest, error) {
	var root *run.Root
	if f.runFile != "" {
		var err error
		if root, err = loadRunFile(f.runFile); err != nil {
			return gate.ApprovalRequest{}, err
		}
	}
	doc, err := os.ReadFile(f.reviewFile)
	if err != nil {
		return gate.ApprovalRequest{}, cli.Inconclusive(err, "")
	}
	at := env.Now()
	if f.at != "" {
		if at, err = time.Parse(time.RFC3339, f.at); err != nil {
			return gate.ApprovalRequest{}, cli.Usage("--at: %v", err)
		}
	}
	var exp time.Time
	if f.expires != "" {
		if exp, err = time.Parse(time.RFC3339, f.expires); err != nil {
			return gate.ApprovalRequest{}, cli.Usage("--expires: %v", err)
		}
	}
	return gate.ApprovalRequest{Run: root, Review: doc, PrintedName: f.name, SignerID: f.signerID, Function: f.function,
		Meaning: f.meaning, Decision: f.decision, StatementText: f.statement, Conditions: f.conditions, Findings: f.findings,
		ExpiresAt: exp, Withdraws: f.withdraws, At: at}, nil
}

// signerIDFromKeyring finds the person id the newest of the given keyring
// versions binds to the signer's key.
func signerIDFromKeyring(signer signature.Signer, paths []string) (string, error) {
	if len(paths) == 0 {
		return "", cli.Usage("pass --signer-id, or --keyring to look it up")
	}
	envs, err := readFiles(paths)
	if err != nil {
		return "", err
	}
	pub, err := keys.PublicKey(context.Background(), signer)
	if err != nil {
		return "", cli.Inconclusive(err, "")
	}
	fp, id, newest := keys.Fingerprint(pub), "", 0
	for i, b := range envs {
		v, err := keyring.Parse(b)
		if err != nil {
			return "", cli.Failed(fmt.Errorf("%s: %w", paths[i], err), "")
		}
		if k, ok := v.Document.Key(fp); ok && v.Document.Version > newest {
			id, newest = k.Owner.PersonID, v.Document.Version
		}
	}
	if id == "" {
		return "", cli.Failed(fmt.Errorf("key %s is in none of the keyring versions given", fp), "pass --signer-id or add the key with 'dossier keyring create'")
	}
	return id, nil
}
