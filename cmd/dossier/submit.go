package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/dossier-audit/dossier/cmd/internal/cli"
	"github.com/dossier-audit/dossier/pkg/client"
	"github.com/dossier-audit/dossier/pkg/record"
	"github.com/dossier-audit/dossier/pkg/run"
)

func init() {
	for _, c := range []*cli.Command{
		{Name: "submit", Summary: "send a record to dossierd (queued in the outbox when the daemon is unavailable)", Run: runSubmit},
		{Name: "submit register", Summary: "register a run with dossierd", Run: runSubmitRegister},
		{Name: "submit close", Summary: "send a run's run-closed record (completed, failed, aborted)", Run: runSubmitClose},
		{Name: "submit flush", Summary: "deliver the outbox to dossierd, in order", Run: runSubmitFlush},
	} {
		commands.Register(c)
	}
}

const submitEnvHelp = `environment: DOSSIER_URL, DOSSIER_TOKEN or DOSSIER_TOKEN_FILE, DOSSIER_OUTBOX, DOSSIER_RUN_ID,
DOSSIER_ATTEMPT, DOSSIER_CA_FILE, DOSSIER_CERT_FILE, DOSSIER_KEY_FILE, DOSSIER_PRODUCER_ID/_NAME/_KIND`

// clientFlags are the connection flags shared by the submit commands; each
// defaults to its DOSSIER_* variable (the Python client reads the same).
type clientFlags struct {
	url, token, tokenFile, outbox, ca, cert, key, producer string
	attempt                                                int
}

func addClientFlags(env *cli.Env, fs *flag.FlagSet) *clientFlags {
	f := &clientFlags{}
	get := env.Getenv
	fs.StringVar(&f.url, "url", get("DOSSIER_URL"), "dossierd URL, e.g. https://dossierd.dmz:8443 ($DOSSIER_URL)")
	fs.StringVar(&f.tokenFile, "token-file", get("DOSSIER_TOKEN_FILE"), "file holding the bearer token ($DOSSIER_TOKEN_FILE; or $DOSSIER_TOKEN)")
	fs.StringVar(&f.outbox, "outbox", firstSet(get("DOSSIER_OUTBOX"), defaultOutbox(env)), "outbox directory ($DOSSIER_OUTBOX)")
	fs.StringVar(&f.ca, "ca", get("DOSSIER_CA_FILE"), "CA bundle for the daemon's certificate ($DOSSIER_CA_FILE)")
	fs.StringVar(&f.cert, "cert", get("DOSSIER_CERT_FILE"), "client certificate for mTLS ($DOSSIER_CERT_FILE)")
	fs.StringVar(&f.key, "client-key", get("DOSSIER_KEY_FILE"), "client certificate key ($DOSSIER_KEY_FILE)")
	fs.StringVar(&f.producer, "producer", producerFromEnv(env), "producer of the records: ID:NAME ($DOSSIER_PRODUCER_ID/_NAME)")
	att, _ := strconv.Atoi(get("DOSSIER_ATTEMPT"))
	fs.IntVar(&f.attempt, "attempt", max(att, 1), "attempt number ($DOSSIER_ATTEMPT)")
	f.token = get("DOSSIER_TOKEN")
	return f
}

func firstSet(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func defaultOutbox(env *cli.Env) string {
	if x := env.Getenv("XDG_CACHE_HOME"); x != "" {
		return filepath.Join(x, "dossier", "outbox")
	}
	if h := env.Getenv("HOME"); h != "" {
		return filepath.Join(h, ".cache", "dossier", "outbox")
	}
	return ""
}

func producerFromEnv(env *cli.Env) string {
	id := env.Getenv("DOSSIER_PRODUCER_ID")
	if id == "" {
		return ""
	}
	return id + ":" + firstSet(env.Getenv("DOSSIER_PRODUCER_NAME"), id)
}

func (f *clientFlags) client(env *cli.Env) (*client.Client, error) {
	if f.url == "" {
		return nil, cli.Usage("no daemon: pass --url or set DOSSIER_URL")
	}
	opts := client.Options{Token: f.token, OutboxDir: f.outbox, Now: env.Now, Attempt: f.attempt}
	if f.tokenFile != "" {
		b, err := os.ReadFile(f.tokenFile)
		if err != nil {
			return nil, cli.Inconclusive(err, "")
		}
		opts.Token = strings.TrimSpace(string(b))
	}
	if f.producer != "" {
		id, name, ok := cutLast(f.producer)
		if !ok {
			return nil, cli.Usage("--producer %q: want ID:NAME", f.producer)
		}
		opts.Producer = &record.Producer{ID: id, Name: name, Kind: firstSet(env.Getenv("DOSSIER_PRODUCER_KIND"), partyKind(id))}
	}
	tc, err := f.tlsConfig()
	if err != nil {
		return nil, err
	}
	opts.TLS = tc
	c, err := client.New(f.url, opts)
	if err != nil {
		return nil, cli.Usage("%v", err)
	}
	return c, nil
}

func (f *clientFlags) tlsConfig() (*tls.Config, error) {
	if f.ca == "" && f.cert == "" {
		return nil, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if f.ca != "" {
		b, err := os.ReadFile(f.ca)
		if err != nil {
			return nil, cli.Inconclusive(err, "")
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(b) {
			return nil, cli.Usage("--ca %s holds no PEM certificate", f.ca)
		}
	}
	if f.cert != "" {
		c, err := tls.LoadX509KeyPair(f.cert, f.key)
		if err != nil {
			return nil, cli.Usage("--cert/--client-key: %v", err)
		}
		tc.Certificates = []tls.Certificate{c}
	}
	return tc, nil
}

func runSubmit(env *cli.Env, args []string) error {
	fs := cli.FlagSet(env, "submit", "--run-id ID (--type KIND --predicate FILE | --bundle FILE) [--step S]\n"+submitEnvHelp)
	cf := addClientFlags(env, fs)
	runID := fs.String("run-id", env.Getenv("DOSSIER_RUN_ID"), "the run ($DOSSIER_RUN_ID)")
	kind := fs.String("type", "", "record kind of an unsigned predicate (the daemon signs it)")
	pred := fs.String("predicate", "", "predicate JSON file, or - for stdin")
	bundleFile := fs.String("bundle", "", "a record bundle already signed by a pipeline key")
	step := fs.String("step", "", "names the event within the run for the idempotency key (default: the kind)")
	asJSON := fs.Bool("json", false, "print the daemon's answer as JSON")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if *runID == "" || fs.NArg() != 0 || (*bundleFile == "") == (*kind == "" || *pred == "") {
		return cli.Usage("submit needs --run-id and either --type with --predicate, or --bundle")
	}
	c, err := cf.client(env)
	if err != nil {
		return err
	}
	var opts []client.SubmitOption
	if *step != "" {
		opts = append(opts, client.WithStep(*step))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var res *client.Result
	if *bundleFile != "" {
		b, rerr := readInput(env, *bundleFile)
		if rerr != nil {
			return rerr
		}
		res, err = c.SubmitBundle(ctx, *runID, b, opts...)
	} else {
		b, rerr := readInput(env, *pred)
		if rerr != nil {
			return rerr
		}
		res, err = c.Submit(ctx, *runID, *kind, b, opts...)
	}
	return printSubmit(env, res, err, cf.outbox, *asJSON)
}

func printSubmit(env *cli.Env, res *client.Result, err error, outbox string, asJSON bool) error {
	if err != nil {
		return submitError(err, outbox)
	}
	if asJSON {
		return writeJSONLine(env.Stdout, res)
	}
	if res.Queued {
		fmt.Fprintf(env.Stdout, "queued %s\n", res.Key)
		env.Infof("the daemon is unavailable; the record is safe in %s and is delivered by 'dossier submit flush'", outbox)
		return nil
	}
	fmt.Fprintf(env.Stdout, "%s seq %d log %d %s\n", res.Record, res.Seq, res.LogIndex, res.TimeVerdict)
	return nil
}

func submitError(err error, outbox string) error {
	var perr *client.ProblemError
	var nerr *client.NetError
	switch {
	case errors.As(err, &perr) && !perr.Retryable():
		hint := "the daemon refused the record for good; it is kept in " + filepath.Join(outbox, "dead")
		if perr.Status == 401 || perr.Status == 403 {
			hint = "check the token or client certificate and its roles (producer)"
		}
		return cli.Failed(err, hint)
	case errors.As(err, &nerr), errors.As(err, &perr):
		return cli.Inconclusive(err, "the daemon is unavailable; pass --outbox (or set DOSSIER_OUTBOX) to queue records instead")
	case errors.Is(err, client.ErrUnknownKind), errors.Is(err, client.ErrInvalidPredicate), errors.Is(err, run.ErrInvalid):
		return cli.Usage("%v", err)
	}
	return cli.Inconclusive(err, "")
}

func runSubmitRegister(env *cli.Env, args []string) error {
	fs := cli.FlagSet(env, "submit register", "--run RUNFILE\n"+submitEnvHelp)
	cf := addClientFlags(env, fs)
	runFile := fs.String("run", "", "run file from 'dossier run init'")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if *runFile == "" || fs.NArg() != 0 {
		return cli.Usage("submit register needs --run RUNFILE")
	}
	root, err := loadRunFile(*runFile)
	if err != nil {
		return err
	}
	c, err := cf.client(env)
	if err != nil {
		return err
	}
	r, err := c.RegisterRun(context.Background(), root.Registration)
	if err != nil {
		return submitError(err, cf.outbox)
	}
	state := "registered"
	if r.Queued {
		state = "queued"
	}
	fmt.Fprintf(env.Stdout, "%s %s %s %s\n", state, r.RunID, r.Digest, r.Tag)
	return nil
}

func runSubmitClose(env *cli.Env, args []string) error {
	fs := cli.FlagSet(env, "submit close", "--run-id ID --status completed|failed|aborted [--reason TEXT]\n"+submitEnvHelp)
	cf := addClientFlags(env, fs)
	runID := fs.String("run-id", env.Getenv("DOSSIER_RUN_ID"), "the run ($DOSSIER_RUN_ID)")
	status := fs.String("status", "", "completed, failed or aborted")
	reason := fs.String("reason", "", "why (required for failed and aborted), e.g. from a Slurm epilog")
	asJSON := fs.Bool("json", false, "print the daemon's answer as JSON")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	switch {
	case *runID == "" || fs.NArg() != 0:
		return cli.Usage("submit close needs --run-id and --status")
	case *status != "completed" && *status != "failed" && *status != "aborted":
		return cli.Usage("--status %q: want completed, failed or aborted", *status)
	case *status != "completed" && *reason == "":
		return cli.Usage("--status %s needs --reason", *status)
	}
	c, err := cf.client(env)
	if err != nil {
		return err
	}
	res, err := c.CloseRun(context.Background(), *runID, *status, *reason)
	return printSubmit(env, res, err, cf.outbox, *asJSON)
}

func runSubmitFlush(env *cli.Env, args []string) error {
	fs := cli.FlagSet(env, "submit flush", "[--wait DURATION]\n"+submitEnvHelp)
	cf := addClientFlags(env, fs)
	wait := fs.Duration("wait", 0, "keep retrying until the outbox is empty or this long has passed")
	asJSON := fs.Bool("json", false, "print the flush report as JSON")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return cli.Usage("submit flush takes no arguments")
	}
	c, err := cf.client(env)
	if err != nil {
		return err
	}
	rep, err := flushUntil(c, *wait)
	if *asJSON {
		_ = writeJSONLine(env.Stdout, rep)
	} else {
		fmt.Fprintf(env.Stdout, "delivered %d, refused %d, pending %d\n", rep.Delivered, rep.Dead, rep.Pending)
	}
	if err != nil && rep.Pending > 0 {
		return cli.Inconclusive(err, "the records stay in "+cf.outbox+"; run 'dossier submit flush' again later")
	}
	if rep.Dead > 0 {
		return cli.Failed(fmt.Errorf("%d records refused for good", rep.Dead), "see "+filepath.Join(cf.outbox, "dead")+" for the records and the daemon's answers")
	}
	return nil
}

func flushUntil(c *client.Client, wait time.Duration) (client.FlushReport, error) {
	deadline := time.Now().Add(wait)
	var total client.FlushReport
	for {
		rep, err := c.Flush(context.Background())
		total.Delivered += rep.Delivered
		total.Dead += rep.Dead
		total.Pending = rep.Pending
		if err == nil || time.Now().After(deadline) {
			return total, err
		}
		time.Sleep(min(2*time.Second, time.Until(deadline)))
	}
}
