package main

import (
	"bytes"
	"context"
	"encoding/asn1"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/dossier-audit/dossier/cmd/internal/cli"
	"github.com/dossier-audit/dossier/pkg/keyring"
	"github.com/dossier-audit/dossier/pkg/tsa"
	"github.com/dossier-audit/dossier/pkg/tsa/tsaverify"
)

func init() {
	for _, c := range []*cli.Command{
		{Name: "tsa stamp", Summary: "get an RFC 3161 token over a checkpoint's exact bytes from a TSA", Run: runTSAStamp},
		{Name: "tsa verify", Summary: "verify an RFC 3161 token against the data and a TSA chain offline", Run: runTSAVerify},
	} {
		commands.Register(c)
	}
}

func runTSAStamp(env *cli.Env, args []string) error {
	fs := cli.FlagSet(env, "tsa stamp", "--url URL --checkpoint FILE --chain PEM -o TOKEN [--policy OID]")
	url := fs.String("url", "", "TSA endpoint, e.g. http://tsa.internal/api/v1/timestamp")
	data := fs.String("checkpoint", "", "file whose exact bytes are stamped (a signed checkpoint)")
	chain := fs.String("chain", "", "PEM file of the TSA chain the answer must verify against")
	policy := fs.String("policy", "", "TSA policy OID to request and require")
	timeout := fs.Duration("timeout", tsa.DefaultTimeout, "request timeout")
	out := fs.String("o", "", "write the DER time-stamp response (.tsr) to FILE")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if *url == "" || *data == "" || *chain == "" || *out == "" || fs.NArg() != 0 {
		return cli.Usage("tsa stamp needs --url, --checkpoint, --chain and -o")
	}
	opts, err := readTSAChain(*chain)
	if err != nil {
		return err
	}
	oid, err := tsaParseOID(*policy)
	if err != nil {
		return err
	}
	b, err := os.ReadFile(*data)
	if err != nil {
		return cli.Inconclusive(err, "")
	}
	c := &tsa.Client{URL: *url, HTTP: &http.Client{Timeout: *timeout}, Policy: oid, Verify: opts}
	st, err := c.Stamp(context.Background(), b)
	if err != nil {
		return tsaError(err)
	}
	if err := writeOut(env, *out, st.Response); err != nil {
		return err
	}
	renderTSAResult(env, st.Result, *asJSON)
	return nil
}

func runTSAVerify(env *cli.Env, args []string) error {
	fs := cli.FlagSet(env, "tsa verify", "--token TSR --data FILE --chain PEM [--json]")
	token := fs.String("token", "", "DER time-stamp response (.tsr)")
	data := fs.String("data", "", "the exact bytes that were stamped")
	chain := fs.String("chain", "", "PEM file of the TSA chain (roots are its self-signed certificates)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if *token == "" || *data == "" || *chain == "" || fs.NArg() != 0 {
		return cli.Usage("tsa verify needs --token, --data and --chain")
	}
	opts, err := readTSAChain(*chain)
	if err != nil {
		return err
	}
	tsr, err := os.ReadFile(*token)
	if err != nil {
		return cli.Inconclusive(err, "")
	}
	b, err := os.ReadFile(*data)
	if err != nil {
		return cli.Inconclusive(err, "")
	}
	res, err := tsaverify.Verify(tsr, b, opts)
	if err != nil {
		return tsaError(err)
	}
	renderTSAResult(env, res, *asJSON)
	return nil
}

// readTSAChain splits a PEM chain into roots (self-signed) and the rest.
func readTSAChain(path string) (tsaverify.Options, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return tsaverify.Options{}, cli.Inconclusive(err, "")
	}
	certs, err := keyring.ParseChain(b)
	if err != nil {
		return tsaverify.Options{}, cli.Usage("%s: %v", path, err)
	}
	var opts tsaverify.Options
	for _, c := range certs {
		if bytes.Equal(c.RawIssuer, c.RawSubject) && c.CheckSignatureFrom(c) == nil {
			opts.Roots = append(opts.Roots, c)
		} else {
			opts.Intermediates = append(opts.Intermediates, c)
		}
	}
	if len(opts.Roots) == 0 {
		return tsaverify.Options{}, cli.Usage("%s: no self-signed root certificate", path)
	}
	return opts, nil
}

func tsaParseOID(s string) (asn1.ObjectIdentifier, error) {
	if s == "" {
		return nil, nil
	}
	var oid asn1.ObjectIdentifier
	for _, p := range strings.Split(s, ".") {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return nil, cli.Usage("--policy %q is not a dotted OID", s)
		}
		oid = append(oid, n)
	}
	return oid, nil
}

func tsaError(err error) error {
	switch {
	case errors.Is(err, tsa.ErrUnavailable):
		return cli.Inconclusive(err, "retry later: a TSA that is down delays the anchor, never the log")
	case errors.Is(err, tsa.ErrRefused):
		return cli.Failed(err, "check the TSA's accepted policies and its logs")
	}
	return cli.Failed(err, "the token does not prove the time of these bytes under this TSA chain")
}

func renderTSAResult(env *cli.Env, r *tsaverify.Result, asJSON bool) {
	signer := ""
	if r.Signer != nil {
		signer = r.Signer.Subject.String()
	}
	if asJSON {
		b, _ := json.MarshalIndent(map[string]any{"genTime": r.GenTime.Format(time.RFC3339Nano),
			"accuracyNs": r.Accuracy.Nanoseconds(), "latest": r.Latest().Format(time.RFC3339Nano),
			"serial": r.Serial.String(), "policy": r.Policy.String(), "signer": signer}, "", "  ")
		fmt.Fprintf(env.Stdout, "%s\n", b)
		return
	}
	fmt.Fprintf(env.Stdout, "genTime  %s ± %s\nsigner   %s\npolicy   %s\nserial   %s\n",
		r.GenTime.Format(time.RFC3339Nano), r.Accuracy, signer, r.Policy, r.Serial)
}
