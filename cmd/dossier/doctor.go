package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/dossier-audit/dossier/cmd/internal/cli"
	"github.com/dossier-audit/dossier/pkg/doctor"
	"github.com/dossier-audit/dossier/pkg/ingest"
)

func init() {
	commands.Register(&cli.Command{Name: "doctor", Summary: "check a dossierd deployment (config, time, keys, log, registry, listeners) and say what to fix", Run: runDoctor})
}

func runDoctor(env *cli.Env, args []string) error {
	fs := cli.FlagSet(env, "doctor", "[--config dossierd.json] [--json]     on the daemon host\n"+
		"   or: dossier doctor --url URL [--token-file F] [--outbox DIR]   on a pipeline host (DOSSIER_* as for submit)")
	config := fs.String("config", "", "dossierd configuration file (DOSSIERD_* variables apply on top, as for dossierd)")
	ntpTimeout := fs.Duration("ntp-timeout", 2*time.Second, "timeout of each NTP query")
	asJSON := fs.Bool("json", false, "print the checks as JSON")
	cf := addClientFlags(env, fs)
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return cli.Usage("doctor takes no arguments")
	}
	var rep *doctor.Report
	if flagSet(fs, "url") {
		r, err := doctorClient(env, cf)
		if err != nil {
			return err
		}
		rep = r
	} else if r, err := doctorDaemon(env, *config, *ntpTimeout); err != nil {
		return err
	} else {
		rep = r
	}
	if err := renderDoctor(env, rep, *asJSON); err != nil {
		return cli.Inconclusive(err, "")
	}
	if !rep.Healthy {
		return cli.Failed(errors.New("the deployment has problems (marked fail above)"), "fix them in order and run 'dossier doctor' again")
	}
	return nil
}

// doctorClient checks the daemon as a pipeline sees it.
func doctorClient(env *cli.Env, cf *clientFlags) (*doctor.Report, error) {
	tc, err := cf.tlsConfig()
	if err != nil {
		return nil, err
	}
	token := cf.token
	if cf.tokenFile != "" {
		b, err := os.ReadFile(cf.tokenFile)
		if err != nil {
			return nil, cli.Inconclusive(err, "")
		}
		token = strings.TrimSpace(string(b))
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return doctor.RunClient(ctx, doctor.Target{URL: cf.url, Token: token, TLS: tc, Outbox: cf.outbox}, doctor.Options{Now: env.Now}), nil
}

// doctorDaemon checks a daemon's deployment from its configuration.
func doctorDaemon(env *cli.Env, config string, ntpTimeout time.Duration) (*doctor.Report, error) {
	cfg := ingest.DefaultConfig()
	if config != "" {
		if err := cfg.LoadConfigFile(config); err != nil {
			return nil, cli.Failed(err, "fix the configuration file; 'dossierd -h' lists every option")
		}
	}
	if err := cfg.ApplyEnv(func(k string) (string, bool) { v := env.Getenv(k); return v, v != "" }); err != nil {
		return nil, cli.Failed(err, "fix the DOSSIERD_* variables")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return doctor.Run(ctx, cfg, doctor.Options{Now: env.Now, Getenv: env.Getenv, NTPTimeout: ntpTimeout}), nil
}

func renderDoctor(env *cli.Env, rep *doctor.Report, asJSON bool) error {
	if asJSON {
		return writeJSONLine(env.Stdout, rep)
	}
	for _, c := range rep.Checks {
		fmt.Fprintf(env.Stdout, "%-4s  %-34s %s\n", c.Status, c.Name, c.Detail)
		if c.Fix != "" && c.Status != doctor.OK {
			fmt.Fprintf(env.Stdout, "      %-34s fix: %s\n", "", c.Fix)
		}
	}
	return nil
}
