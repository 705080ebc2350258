package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/dossier-audit/dossier/cmd/internal/cli"
	"github.com/dossier-audit/dossier/pkg/console"
	"github.com/dossier-audit/dossier/pkg/ingest/auth"
	"github.com/dossier-audit/dossier/pkg/policy"
	"github.com/dossier-audit/dossier/pkg/tlog"
)

func init() {
	commands.Register(&cli.Command{Name: "console", Summary: "serve the review console over a log directory (without dossierd)", Run: runConsole})
}

type consoleFlags struct {
	listen, logDir, logKey, runsDir, pin, policyFile, tokens, clientCA string
	exporterKey, passFile, exportsDir                                  string
	keyrings                                                           multiFlag
	maxRunRecords                                                      int
}

func runConsole(env *cli.Env, args []string) error {
	fs := cli.FlagSet(env, "console", "--log DIR --log-key F --runs DIR --keyring FILE... --tokens FILE [--exporter-key K] [--listen ADDR]")
	var f consoleFlags
	fs.StringVar(&f.listen, "listen", "127.0.0.1:8090", "address to serve the console on (plain HTTP: keep it on loopback or behind TLS)")
	fs.StringVar(&f.logDir, "log", "", "log directory")
	fs.StringVar(&f.logKey, "log-key", "", "log signer key file (uploaded approvals and exports are appended)")
	fs.StringVar(&f.runsDir, "runs", "", "directory of run files, one per run")
	fs.Var(&f.keyrings, "keyring", "keyring version envelope appended to the log (repeat for the chain)")
	fs.StringVar(&f.pin, "root-fingerprint", "", "pinned keyring root fingerprint (default: trust the version 1 given)")
	fs.StringVar(&f.policyFile, "policy", "", "verification policy JSON the runs are held to (default: spec/package.md §5)")
	fs.StringVar(&f.tokens, "tokens", "", "token file of dossierd (auth.TokenFile): who may sign in")
	fs.StringVar(&f.exporterKey, "exporter-key", "", "exporter private key file or KMS URI (default: exports disabled)")
	fs.StringVar(&f.passFile, "password-file", "", "file holding the exporter key password")
	fs.StringVar(&f.exportsDir, "exports", "", "directory of packages (default LOG/.dossier/console-exports)")
	fs.IntVar(&f.maxRunRecords, "max-run-records", 0, fmt.Sprintf("most records of a run the console loads and reviews (0: %d; about %d KiB of memory a record)",
		console.DefaultMaxRunRecords, console.PeakBytesPerRecord>>10))
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if f.logDir == "" || f.logKey == "" || f.runsDir == "" || len(f.keyrings) == 0 || f.tokens == "" || fs.NArg() != 0 {
		return cli.Usage("console needs --log, --log-key, --runs, --keyring and --tokens")
	}
	if f.maxRunRecords < 0 {
		return cli.Usage("--max-run-records is %d, want 0 (the default, %d) or more", f.maxRunRecords, console.DefaultMaxRunRecords)
	}
	return serveConsole(env, &f)
}

func serveConsole(env *cli.Env, f *consoleFlags) error {
	quietTessera()
	cfg, err := consoleConfig(env, f)
	if err != nil {
		return err
	}
	authn, err := auth.Load(auth.Config{TokensFile: f.tokens}, env.Now)
	if err != nil {
		return cli.Failed(err, "check --tokens (dossierd's token file)")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	signer, err := readSigner(f.logKey)
	if err != nil {
		return err
	}
	l, err := tlog.Open(ctx, f.logDir, tlog.Options{Signer: signer})
	if err != nil {
		return logError(err)
	}
	defer l.Close(context.Background())
	cfg.Log = l
	backend, err := console.NewLogBackend(cfg)
	if err != nil {
		return cli.Usage("%v", err)
	}
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return cli.Inconclusive(err, "choose a free --listen address")
	}
	mux := http.NewServeMux()
	mux.Handle("/console/", console.New(backend, console.Options{Auth: authn, Now: env.Now}))
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute}
	go func() { <-ctx.Done(); _ = hs.Shutdown(context.Background()) }()
	fmt.Fprintf(env.Stdout, "console http://%s/console/\n", ln.Addr())
	if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return cli.Inconclusive(err, "")
	}
	return nil
}

func consoleConfig(env *cli.Env, f *consoleFlags) (console.LogConfig, error) {
	envs, err := readFiles(f.keyrings)
	if err != nil {
		return console.LogConfig{}, err
	}
	cfg := console.LogConfig{RunsDir: f.runsDir, Keyrings: envs, Pin: f.pin, Now: env.Now, ExportsDir: f.exportsDir, MaxRunRecords: f.maxRunRecords}
	if cfg.ExportsDir == "" {
		cfg.ExportsDir = filepath.Join(f.logDir, ".dossier", "console-exports")
	}
	if f.policyFile != "" {
		b, err := os.ReadFile(f.policyFile)
		if err != nil {
			return cfg, cli.Inconclusive(err, "")
		}
		if cfg.Policy, err = policy.Parse(b); err != nil {
			return cfg, cli.Failed(err, "see spec/policy.md")
		}
	}
	if f.exporterKey != "" {
		var s signature.Signer
		if s, err = loadSignerFlag(env, f.exporterKey, f.passFile); err != nil {
			return cfg, err
		}
		cfg.Exporter = s
	}
	return cfg, nil
}
