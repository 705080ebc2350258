package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/dossier-audit/dossier/cmd/internal/cli"
	"github.com/dossier-audit/dossier/pkg/ntp"
	"github.com/dossier-audit/dossier/pkg/timecheck"
)

func init() {
	commands.Register(&cli.Command{Name: "timecheck",
		Summary: "check this host's clock against NTP servers (exit 0 good, 1 not good, 3 no answer)",
		Run:     runTimecheck})
}

// serverList is a repeatable flag that also splits on commas.
type serverList []string

func (s *serverList) String() string { return strings.Join(*s, ",") }

func (s *serverList) Set(v string) error {
	for part := range strings.SplitSeq(v, ",") {
		if part = strings.TrimSpace(part); part != "" {
			*s = append(*s, part)
		}
	}
	return nil
}

func runTimecheck(env *cli.Env, args []string) error {
	fs := cli.FlagSet(env, "timecheck", "--server HOST[:PORT]... [--json] [flags]")
	var servers serverList
	p := timecheck.DefaultPolicy()
	opts := ntp.Options{}
	fs.Var(&servers, "server", "NTP server HOST[:PORT] (port 123 by default); repeat or separate with commas")
	asJSON := fs.Bool("json", false, "print the time evidence as JSON")
	recordOut := fs.String("record", "", "also sign the evidence as a time-evidence record and write it to this file;\n"+
		"with no --server the record honestly says untraceable (no NTP server configured)")
	keyRef := fs.String("key", "", "with --record: the time key (private key file or KMS URI)")
	passFile := fs.String("password-file", "", "with --record: file holding the key password")
	fs.DurationVar(&opts.Timeout, "timeout", ntp.DefaultTimeout, "timeout of each query")
	fs.IntVar(&opts.Samples, "samples", 1, "queries per server; the one with the smallest RTT is kept")
	fs.DurationVar(&p.MaxError, "max-error", p.MaxError, "largest proved clock error that counts as good")
	fs.IntVar(&p.MinAgreeing, "min-agreeing", p.MinAgreeing, "sources that must agree for a good verdict")
	fs.DurationVar(&p.MaxRTT, "max-rtt", p.MaxRTT, "reject a server with a longer round trip")
	fs.DurationVar(&p.MaxRootDistance, "max-root-distance", p.MaxRootDistance, "reject a server with a larger root distance")
	fs.DurationVar(&p.MaxStaleness, "max-staleness", p.MaxStaleness, "reject a server whose clock was last set longer ago")
	fs.BoolVar(&p.AllowUntraceable, "allow-untraceable", false,
		"accept servers in local mode (no path to UTC): the verdict stays untraceable but exits 0")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if err := checkTimecheckArgs(fs.Args(), servers, p, opts, *recordOut != ""); err != nil {
		return err
	}
	if (*recordOut == "") != (*keyRef == "") {
		return cli.Usage("--record and --key go together")
	}
	opts.Now = env.Now
	r := timecheck.NoServers(p, env.Now())
	if len(servers) > 0 {
		r = ntp.Check(context.Background(), servers, p, opts)
	}
	if err := renderTimecheck(env.Stdout, r, *asJSON); err != nil {
		return cli.Inconclusive(err, "")
	}
	if *recordOut != "" {
		if err := writeTimeEvidence(env, r, *recordOut, *keyRef, *passFile); err != nil {
			return err
		}
	}
	return timecheckOutcome(r, *asJSON)
}

func checkTimecheckArgs(rest []string, servers []string, p timecheck.Policy, o ntp.Options, recording bool) error {
	switch {
	case len(rest) != 0:
		return cli.Usage("timecheck takes no arguments, got %q (use --server)", rest)
	case len(servers) == 0 && !recording:
		return cli.Usage("at least one --server is required")
	case p.MaxError <= 0 || p.MaxRTT <= 0 || p.MaxRootDistance <= 0 || p.MaxStaleness <= 0 || o.Timeout <= 0:
		return cli.Usage("--max-error, --max-rtt, --max-root-distance, --max-staleness and --timeout must be positive")
	case p.MinAgreeing < 1 || o.Samples < 1:
		return cli.Usage("--min-agreeing and --samples must be at least 1")
	}
	for _, s := range servers {
		if _, err := ntp.NormalizeAddr(s); err != nil {
			return cli.Usage("--server: %v", err)
		}
	}
	return nil
}

// timecheckOutcome maps the result to the exit code: 0 acceptable, 3 when no
// server answered at all, 1 otherwise. The human output already shows the
// diagnosis; with --json it is repeated on stderr.
func timecheckOutcome(r timecheck.Result, withDiagnosis bool) error {
	switch {
	case r.Acceptable():
		return nil
	case len(r.Sources) == 0:
		return cli.Failed(fmt.Errorf("time is %s: %s", r.Verdict, r.Diagnosis), "pass --server for each internal NTP server")
	case r.Answered() == 0:
		return cli.Inconclusive(errors.New("no NTP server answered"),
			"check the addresses and that UDP port 123 is reachable from this host")
	}
	if withDiagnosis {
		return cli.Failed(fmt.Errorf("time is %s: %s", r.Verdict, r.Diagnosis), "")
	}
	return cli.Failed(fmt.Errorf("time is %s", r.Verdict), "")
}

func renderTimecheck(w io.Writer, r timecheck.Result, asJSON bool) error {
	if asJSON {
		b, err := json.MarshalIndent(r, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SERVER\tSTRATUM\tREFID\tOFFSET\tRTT\tROOT DIST\tACCEPTED\tWHY")
	for _, s := range r.Sources {
		fmt.Fprintln(tw, sourceRow(s))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nverdict:     %s\n", r.Verdict)
	if r.Agreeing > 0 {
		fmt.Fprintf(w, "error bound: ±%v (offset %s), %d agreeing, %d required\n",
			r.MaxError, signed(r.Offset), r.Agreeing, r.Required)
	} else {
		fmt.Fprintf(w, "error bound: none proved, %d required\n", r.Required)
	}
	_, err := fmt.Fprintf(w, "diagnosis:   %s\n", r.Diagnosis)
	return err
}

func sourceRow(s timecheck.Source) string {
	accepted := "no"
	if s.Accepted {
		accepted = "yes"
	}
	if !s.Answered {
		return fmt.Sprintf("%s\t-\t-\t-\t-\t-\t%s\t%s", s.Server, accepted, s.Reason)
	}
	return fmt.Sprintf("%s\t%d\t%s\t%s\t%v\t%v\t%s\t%s", s.Server, s.Stratum, s.RefID, signed(s.Offset),
		s.RTT.Round(time.Microsecond), s.RootDistance.Round(time.Microsecond), accepted, s.Reason)
}

// signed prints a duration with an explicit sign, rounded to the microsecond.
func signed(d time.Duration) string {
	d = d.Round(time.Microsecond)
	if d >= 0 {
		return "+" + d.String()
	}
	return d.String()
}
